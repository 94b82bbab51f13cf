package inbox_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/inbox"
)

// TestOpenForWritingNotTaken: a file that has not changed for far longer
// than Settle is not taken while a process holds it open for writing, and
// is taken once it is closed. A reader does not hold a file back.
func TestOpenForWritingNotTaken(t *testing.T) {
	t.Parallel()
	dir := inboxDir(t)
	onStuck, stuck := stuckRecorder()
	opts := fast(false) // Settle 300ms
	opts.MaxSettle = 2 * time.Second
	opts.OnStuck = onStuck
	_, ready := startFolder(t, opts, dir, inbox.FolderOptions{})

	held := filepath.Join(dir, "held.csv")
	out, err := os.OpenFile(held, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := out.WriteString("1;Contoso\n"); err != nil {
		t.Fatal(err)
	}
	read := filepath.Join(dir, "read.csv")
	write(t, read, "2;Fabrikam\n")
	in, err := os.Open(read)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()

	if f := receive(t, ready); f.Name != "read.csv" {
		t.Fatalf("handed out %q, want read.csv (open for reading only)", f.Name)
	}
	// Held open past MaxSettle: reported, still not taken.
	select {
	case f := <-ready:
		t.Fatalf("handed out %s while open for writing", f.Name)
	case s := <-stuck:
		if s.File.Name != "held.csv" || !strings.Contains(s.Reason, "open for writing by process") {
			t.Fatalf("stuck report %+v", s)
		}
	case <-time.After(wait + opts.MaxSettle):
		t.Fatal("a file held open for writing past MaxSettle was not reported")
	}
	expectNothing(t, ready)

	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if f := receive(t, ready); f.Name != "held.csv" || f.Size != 10 {
		t.Fatalf("handed out %+v, want held.csv of 10 bytes", f)
	}
}
