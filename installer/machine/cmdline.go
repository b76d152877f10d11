package machine

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// InspectConfig prints the create command line that makes the VCH again (without the password), as VIC's
// `inspect config` did.
func (m *Machine) InspectConfig(ctx context.Context, o ListOptions) error {
	m.Log.Infof("### Inspecting VCH configuration ####")
	args, err := m.VCHs.CreateArgs(ctx, o.CommonOptions)
	if err != nil {
		return err
	}
	m.Log.Infof("Target VCH created with the following options:")
	fmt.Fprintln(m.Out)
	fmt.Fprintln(m.Out, formatCommand(args))
	fmt.Fprintln(m.Out)
	return nil
}

var plainArg = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellQuote quotes an argument for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if plainArg.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// formatCommand is args as a shell command, one flag per line.
func formatCommand(args []string) string {
	var b strings.Builder
	for i := 0; i < len(args); i++ {
		a := args[i]
		if i >= 2 && strings.HasPrefix(a, "--") {
			b.WriteString(" \\\n    ")
		} else if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(shellQuote(a))
	}
	return b.String()
}
