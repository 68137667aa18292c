//go:build unix

package cluster

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a new process group, out of reach of the
// terminal's Ctrl-C.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
