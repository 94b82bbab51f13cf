//go:build unix

package inbox_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/erpipe/erpipe/inbox"
)

// TestOddEntriesLoggedOnce: a FIFO, a link and a folder in an inbox are
// never taken, and each is logged once, not at every scan.
func TestOddEntriesLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.csv"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	opts := fast(false)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, ready := startWith(t, opts, "customers", dir, inbox.FolderOptions{}, 1)
	expectNothing(t, ready) // a second of scans every 100ms
	for _, what := range []string{"named pipe", "symbolic link", "a folder"} {
		if n := logs.count(what); n != 1 {
			t.Errorf("%q logged %d times, want once", what, n)
		}
	}
}
