//go:build !linux

package pluginhost

import "os/exec"

func setPdeathsig(*exec.Cmd) {}
