//go:build !linux

package testserver

import "os/exec"

// dieWithParent does nothing outside Linux: there is no portable way.
func dieWithParent(*exec.Cmd) {}
