package dockerapi

import "strings"

// boolValue reads a boolean query value as dockerd does, for every handler: "", "0", "no", "false" and
// "none", in any case and with surrounding spaces, are false; anything else is true. The Python SDK sends
// "False" and "True".
func boolValue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}
