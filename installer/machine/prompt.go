package machine

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// promptPassword asks for the target's password without echo when in is a terminal; it returns "" when
// it is not one (the caller then fails with a message that names --password).
func promptPassword(in *os.File, out io.Writer, user, host string) (string, error) {
	if in == nil || !term.IsTerminal(int(in.Fd())) {
		return "", nil
	}
	fmt.Fprintf(out, "Password for %s@%s: ", user, host)
	pw, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	return string(pw), nil
}
