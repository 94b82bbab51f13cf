package inbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fakeClock scans a real folder at times the test chooses, so that the
// settle rules are checked without sleeping.
type fakeClock struct {
	t   *testing.T
	w   *Watcher
	now time.Time
	gen uint64
}

func newFakeClock(t *testing.T, opts Options) (*fakeClock, string) {
	t.Helper()
	w, err := NewWatcher(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := w.Add("p", dir); err != nil {
		t.Fatal(err)
	}
	w.files = make(map[string]*fileState)
	c := &fakeClock{t: t, w: w, now: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	w.now = func() time.Time { return c.now }
	return c, dir
}

// scan advances the clock by d, scans, and returns the names handed out.
func (c *fakeClock) scan(d time.Duration) []string {
	c.now = c.now.Add(d)
	c.gen++
	found, _ := c.w.scanAll(c.now, c.gen)
	var names []string
	for _, f := range found {
		names = append(names, f.Name)
	}
	return names
}

func writeFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestSettleRules(t *testing.T) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		after time.Duration
		write string // content to write before the scan; "" writes nothing
		mtime time.Time
		want  bool // handed out at this scan
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"old file still waits for a window of Settle", []step{
			{after: 0, write: "a", mtime: old, want: false},
			{after: 1 * time.Second, want: false},
			{after: 1 * time.Second, want: true},
			{after: 2 * time.Second, want: false},
		}},
		{"growing file waits until it stops", []step{
			{after: 0, write: "a", mtime: old.Add(1), want: false},
			{after: 2 * time.Second, write: "ab", mtime: old.Add(2), want: false},
			{after: 2 * time.Second, write: "abc", mtime: old.Add(3), want: false},
			{after: 1 * time.Second, want: false},
			{after: 1 * time.Second, want: true},
		}},
		{"same size, new mtime restarts the window", []step{
			{after: 0, write: "a", mtime: old, want: false},
			{after: 2 * time.Second, write: "b", mtime: old.Add(time.Second), want: false},
			{after: 2 * time.Second, want: true},
		}},
		{"unclaimed file is offered again after Retry", []step{
			{after: 0, write: "a", mtime: old, want: false},
			{after: 2 * time.Second, want: true},
			{after: 59 * time.Second, want: false},
			{after: 1 * time.Second, want: true},
			{after: 1 * time.Second, want: false},
		}},
		{"changed after hand-out settles anew", []step{
			{after: 0, write: "a", mtime: old, want: false},
			{after: 2 * time.Second, want: true},
			{after: time.Second, write: "ab", mtime: old.Add(time.Second), want: false},
			{after: 2 * time.Second, want: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, dir := newFakeClock(t, Options{Settle: 2 * time.Second, Retry: time.Minute, Poll: true})
			path := filepath.Join(dir, "in.csv")
			for i, s := range tt.steps {
				if s.write != "" {
					writeFile(t, path, s.write, s.mtime)
				}
				got := c.scan(s.after)
				if handed := slices.Contains(got, "in.csv"); handed != s.want {
					t.Fatalf("step %d: handed out = %v, want %v", i, handed, s.want)
				}
			}
		})
	}
}

func TestScanSkipsAndForgets(t *testing.T) {
	c, dir := newFakeClock(t, Options{Settle: time.Second, Ignore: []string{"*.BAK", "skip-*"}})
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{
		"b.csv", "a.csv", ".hidden.csv", "~$Book1.xlsx", "x.tmp", "x.part", "x.crdownload",
		"x.partial", "x.swp", "x~", "y.bak", "skip-me.csv", "UPLOAD.CSV.FILEPART",
	} {
		writeFile(t, filepath.Join(dir, name), "data", old)
	}
	// a.csv is older, so it comes first.
	writeFile(t, filepath.Join(dir, "a.csv"), "data", old.Add(-time.Hour))
	if err := os.Mkdir(filepath.Join(dir, "sub.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub.csv", "deep.csv"), "data", old)
	if err := os.Symlink(filepath.Join(dir, "a.csv"), filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}

	c.scan(0)
	got := c.scan(time.Second)
	if want := []string{"a.csv", "b.csv"}; !slices.Equal(got, want) {
		t.Fatalf("handed out %q, want %q", got, want)
	}
	if err := os.Remove(filepath.Join(dir, "a.csv")); err != nil {
		t.Fatal(err)
	}
	c.scan(time.Second)
	if _, ok := c.w.files[filepath.Join(dir, "a.csv")]; ok {
		t.Error("state of a removed file is kept")
	}
	if len(c.w.files) != 1 {
		t.Errorf("watcher tracks %d files, want 1", len(c.w.files))
	}
}

func TestScanMissingFolderKeepsState(t *testing.T) {
	c, dir := newFakeClock(t, Options{Settle: time.Second})
	writeFile(t, filepath.Join(dir, "in.csv"), "data", time.Unix(0, 0))
	c.scan(0)
	moved := dir + ".away"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if got := c.scan(time.Second); len(got) != 0 {
		t.Fatalf("handed out %q from a missing folder", got)
	}
	if len(c.w.files) != 1 {
		t.Fatalf("state forgotten while the folder was unreadable")
	}
	if err := os.Rename(moved, dir); err != nil {
		t.Fatal(err)
	}
	if got := c.scan(time.Second); !slices.Equal(got, []string{"in.csv"}) {
		t.Fatalf("handed out %q after the folder came back, want in.csv", got)
	}
}

func TestDeadline(t *testing.T) {
	c, dir := newFakeClock(t, Options{Settle: 3 * time.Second, Retry: 10 * time.Second})
	writeFile(t, filepath.Join(dir, "in.csv"), "data", time.Unix(0, 0))
	start := c.now
	c.gen++
	_, due := c.w.scanAll(start, c.gen)
	if want := start.Add(3 * time.Second); !due.Equal(want) {
		t.Fatalf("due %v, want %v (first sight + Settle)", due, want)
	}
	c.gen++
	found, due := c.w.scanAll(start.Add(3*time.Second), c.gen)
	if len(found) != 1 {
		t.Fatalf("found %d files at the deadline, want 1", len(found))
	}
	if want := start.Add(13 * time.Second); !due.Equal(want) {
		t.Fatalf("due %v, want %v (hand-out + Retry)", due, want)
	}
}
