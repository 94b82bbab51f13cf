//go:build !unix

package workspace

// Lock is a no-op where flock is not available.
func (w *Workspace) Lock() (unlock func(), err error) { return func() {}, nil }

// Holder is unknown where flock is not available.
func (w *Workspace) Holder() (pid int, running bool) { return 0, false }
