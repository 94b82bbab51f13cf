//go:build !linux

package workspace

// NetworkFS reports whether path is on a network file system; only Linux
// can tell, elsewhere it says no.
func NetworkFS(path string) (bool, string) { return false, "" }
