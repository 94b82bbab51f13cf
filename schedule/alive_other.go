//go:build !unix

package schedule

import "os"

// processAlive reports whether a process with the id runs on this machine.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
