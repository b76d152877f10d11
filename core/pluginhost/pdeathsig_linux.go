package pluginhost

import (
	"os/exec"
	"syscall"
)

// setPdeathsig has the kernel kill the plugin when the endpoint dies, even by SIGKILL.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
