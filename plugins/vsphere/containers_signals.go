package vsphere

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// linuxSignals are the guest's signal numbers (the tether runs Linux on amd64 and arm64 alike for these).
var linuxSignals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9, "USR1": 10,
	"SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18,
	"STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26,
	"PROF": 27, "WINCH": 28, "IO": 29, "PWR": 30, "SYS": 31,
}

// guestSignal is a signal as RFC 4254 names it (no "SIG") and as Docker's events number it.
type guestSignal struct {
	name   string
	number int
}

// parseSignal accepts Docker's forms: "SIGKILL", "KILL", "kill", "9".
func parseSignal(s string) (guestSignal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		for name, num := range linuxSignals {
			if num == n {
				return guestSignal{name, n}, nil
			}
		}
		return guestSignal{}, fmt.Errorf("invalid signal: %s: %w", s, errdefs.ErrInvalid)
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, ok := linuxSignals[name]; ok {
		return guestSignal{name, n}, nil
	}
	return guestSignal{}, fmt.Errorf("invalid signal: %s: %w", s, errdefs.ErrInvalid)
}
