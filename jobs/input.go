package jobs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// An inbox is written by people and programs erpipe does not trust: a
// file found ready can be replaced before it is claimed, by a symbolic
// link to a file the writer may not read, or by a FIFO that blocks its
// reader forever. A claim is therefore a rename (which moves a link, not
// its target) into .erpipe/claimed, a folder no one else writes, and the
// claimed entry is checked before anything reads it: it must be the
// regular file the watcher found ready (inbox.File.Same), and it is
// opened without following links or waiting on a FIFO (openInput).

// notRegular is the error of an input that is not a regular file.
type notRegular struct {
	path string
	mode fs.FileMode
}

func (e *notRegular) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file; erpipe does not read it. Drop the file itself into the inbox",
		filepath.Base(e.path), kindOfFile(e.mode))
}

// kindOfFile names what a file mode is, for messages.
func kindOfFile(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}

// checkRegular returns f if it is a regular file, else closes it and
// returns a *notRegular.
func checkRegular(f *os.File) (*os.File, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &notRegular{f.Name(), fi.Mode()}
	}
	return f, nil
}
