//go:build !linux

package azuritetest

import "os/exec"

// dieWithParent does nothing outside Linux: there is no portable way.
func dieWithParent(*exec.Cmd) {}
