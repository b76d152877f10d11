//go:build !linux

package init

import (
	"fmt"
	"os"
)

// Main exists on Linux only: the init of a Linux VM.
func Main() {
	fmt.Fprintln(os.Stderr, "vice-init: Linux only")
	os.Exit(1)
}
