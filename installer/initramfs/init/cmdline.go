package init

import "strings"

// kernelArg is the value of name=value on the kernel command line, and whether it is there.
func kernelArg(cmdline, name string) (string, bool) {
	for _, f := range strings.Fields(cmdline) {
		if k, v, ok := strings.Cut(f, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}
