//go:build !unix

package jobs

import (
	"os"
)

// openInput opens a claimed input for reading, refusing anything that is
// not a regular file (notRegular). Outside Unix a link is checked before
// the open, not by it.
func openInput(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, &notRegular{path, fi.Mode()}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return checkRegular(f)
}

// inodeOf is the inode number of the file fi describes: unknown here.
func inodeOf(fi os.FileInfo) uint64 { return 0 }
