//go:build unix

package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Lock takes the workspace's lock, so that only one erpipe daemon runs per
// workspace. The lock is an flock on .erpipe/lock: it dies with the process,
// so a crash never leaves it behind. Call the returned function to release
// it.
func (w *Workspace) Lock() (unlock func(), err error) {
	if err := w.MakeState(); err != nil {
		return nil, err
	}
	path := filepath.Join(w.State(), "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		data, _ := os.ReadFile(path)
		f.Close()
		holder := strings.TrimSpace(string(data))
		if holder == "" {
			holder = "another process"
		} else {
			holder = "process " + holder
		}
		return nil, fmt.Errorf("another erpipe (%s) is already running in workspace %s; stop it first, or use another workspace", holder, w.Root)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Holder returns the process id written in the workspace's lock and
// whether a process of that id runs on this machine: whether an erpipe
// daemon serves the workspace now, without taking the lock.
func (w *Workspace) Holder() (pid int, running bool) {
	data, err := os.ReadFile(filepath.Join(w.State(), "lock"))
	if err != nil {
		return 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	err = syscall.Kill(pid, 0)
	return pid, err == nil || err == syscall.EPERM
}
