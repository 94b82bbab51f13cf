//go:build unix

package schedule

import "syscall"

// processAlive reports whether a process with the id runs on this machine.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
