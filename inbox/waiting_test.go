package inbox_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/erpipe/erpipe/inbox"
)

// TestWaiting: a file that has not settled, and one waiting for its
// marker, are counted as waiting by key; once the marker comes and the
// file is handed out, it is not.
func TestWaiting(t *testing.T) {
	dir := t.TempDir()
	opts := fast(true)
	opts.Settle = time.Hour
	opts.MaxSettle = 2 * time.Hour
	w, ready := startWith(t, opts, "customers", dir, inbox.FolderOptions{Readiness: inbox.ReadyMarker}, 1)
	for _, name := range []string{"a.csv", "b.csv"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("id\n1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitCount := func(want int) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for w.Waiting()["customers"] != want {
			if time.Now().After(deadline) {
				t.Fatalf("Waiting() = %v; want customers: %d", w.Waiting(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCount(2)
	if err := os.WriteFile(filepath.Join(dir, "a.csv.done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if f := receive(t, ready); f.Name != "a.csv" {
		t.Fatalf("handed out %s", f.Name)
	}
	waitCount(1)
}
