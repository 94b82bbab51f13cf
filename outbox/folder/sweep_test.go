package folder_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/erpipe/erpipe/outbox/folder"
)

// TestSweepOlder: in a folder other processes put to (the nodes of a
// cluster), only the temporary files last written before the time go; a
// younger one, another's live put, and the results stay.
func TestSweepOlder(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, ".a.csv.1.partial")
	live := filepath.Join(dir, ".b.csv.2.partial")
	result := filepath.Join(dir, "c.csv")
	for _, p := range []string{old, live, result} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-time.Hour)
	for _, p := range []string{old, result} {
		if err := os.Chtimes(p, long, long); err != nil {
			t.Fatal(err)
		}
	}
	f := &folder.Folder{Dir: dir}
	if err := f.SweepOlder(context.Background(), time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old partial file is still there (%v)", err)
	}
	for _, p := range []string{live, result} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was swept: %v", filepath.Base(p), err)
		}
	}
}
