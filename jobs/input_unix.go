//go:build unix

package jobs

import (
	"os"
	"syscall"
)

// openInput opens a claimed input for reading without following a
// symbolic link and without waiting on a FIFO or a device: a link is
// refused by the open, anything else that is not a regular file by the
// check of the opened file (notRegular).
func openInput(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			return nil, &notRegular{path, fi.Mode()}
		}
		return nil, err
	}
	return checkRegular(f)
}

// inodeOf is the inode number of the file fi describes (0 when unknown).
func inodeOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
