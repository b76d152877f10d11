//go:build !linux

package emulator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// guestSpec is how a guest is started; see guest_linux.go.
type guestSpec struct {
	tether, root, upper, work string
	device                    string
	lower, env                []string
	files                     []*os.File
	stdio                     *os.File
	cgroup                    *guestCgroup
	netns                     *os.File
}

// applianceSpec is how an appliance's init is started; see guest_linux.go.
type applianceSpec struct {
	init, root string
	env        []string
	files      []*os.File
	stdio      *os.File
	nics       *os.File
	nicsPath   string
}

var errUnsupported = fmt.Errorf("booting guests needs Linux namespaces and overlayfs, not %s: %w",
	runtime.GOOS, errors.ErrUnsupported)

func startGuest(guestSpec) (*exec.Cmd, error)         { return nil, errUnsupported }
func startAppliance(applianceSpec) (*exec.Cmd, error) { return nil, errUnsupported }
func killGuest(*exec.Cmd) error                       { return errUnsupported }
func socketPair() (*os.File, *os.File, error)         { return nil, nil, errUnsupported }
func unmountRoot(string)                              {}

// diskExport is a disk exported as a block device; see export_linux.go.
type diskExport struct {
	desc, loop string
	readOnly   bool
}

func exportDisk(context.Context, string, string, bool) (*diskExport, error) {
	return nil, errUnsupported
}
func (*diskExport) close() error { return nil }
func cleanStaleExports(string)   {}
