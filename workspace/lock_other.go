//go:build !unix

package workspace

// Lock is a no-op where flock is not available.
func (w *Workspace) Lock() (unlock func(), err error) { return func() {}, nil }
