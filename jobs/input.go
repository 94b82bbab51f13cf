package jobs

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/erpipe/erpipe/inbox"
)

// An inbox is written by people and programs erpipe does not trust: a
// file found ready can be replaced before it is claimed, by a symbolic
// link to a file the writer may not read, or by a FIFO that blocks its
// reader forever. A claim is therefore a rename (which moves a link, not
// its target) into .erpipe/claimed, a folder no one else writes, and the
// claimed entry is checked before anything reads it: it must be the
// regular file the watcher found ready (inbox.File.Same), and it is
// opened without following links or waiting on a FIFO (openInput).

// inputState is what tells versions of a claimed input apart: a writer
// that kept the file open can still write to it after the claim.
type inputState struct {
	size         int64
	mtime, ctime time.Time // ctime: zero where the system has none
}

// statInput returns the state of the claimed input at path.
func statInput(path string) (inputState, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return inputState{}, err
	}
	return inputState{fi.Size(), fi.ModTime(), changeTime(fi)}, nil
}

// waitSettled waits until the input at path has stopped changing for the
// settle window, as the inbox decides a dropped file is ready, or fails
// after the max settle window.
func (s *Service) waitSettled(ctx context.Context, path string) error {
	settle := cmp.Or(s.ws.Config.SettleWindow(), inbox.DefaultSettle)
	limit := cmp.Or(s.ws.Config.MaxSettleWindow(), inbox.DefaultMaxSettle)
	last, err := statInput(path)
	if err != nil {
		return err
	}
	since, start := time.Now(), time.Now()
	tick := time.NewTicker(min(settle/4, 250*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		cur, err := statInput(path)
		if err != nil {
			return err
		}
		if cur != last {
			last, since = cur, time.Now()
		}
		switch {
		case time.Since(since) >= settle:
			return nil
		case time.Since(start) >= limit:
			return fmt.Errorf("%s kept changing for %v after it was taken: a program is still writing to it; "+
				"let it finish, then drop the file again (or use marker or rename readiness for this inbox)", filepath.Base(path), limit)
		}
	}
}

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
