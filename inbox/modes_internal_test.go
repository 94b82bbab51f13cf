package inbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// newFakeFolder is newFakeClock with folder options, a recorder of stuck
// reports and a fake table of writers.
func newFakeFolder(t *testing.T, opts Options, fopts FolderOptions) (*fakeClock, string, *[]Stuck, map[string]int) {
	t.Helper()
	var stuck []Stuck
	opts.OnStuck = func(s Stuck) { stuck = append(stuck, s) }
	w, err := NewWatcher(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := w.AddFolder("p", dir, fopts); err != nil {
		t.Fatal(err)
	}
	writers := map[string]int{}
	w.writers = func(paths []string) []int {
		out := make([]int, len(paths))
		for i, p := range paths {
			out[i] = writers[filepath.Base(p)]
		}
		return out
	}
	c := &fakeClock{t: t, w: w, now: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	w.now = func() time.Time { return c.now }
	return c, dir, &stuck, writers
}

func TestMarkerRules(t *testing.T) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		after  time.Duration
		file   string // content to write to in.csv before the scan
		mtime  time.Time
		marker string // content to write to in.csv.done; "-" removes it
		mmtime time.Time
		want   bool // in.csv handed out at this scan
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"taken as soon as the marker is there", []step{
			{file: "a", mtime: old, want: false},
			{after: time.Hour, want: false},
			{after: time.Second, marker: "x", mmtime: old.Add(time.Second), want: true},
			{after: time.Second, want: false},
		}},
		{"marker as old as the file counts", []step{
			{file: "a", mtime: old, marker: "x", mmtime: old, want: true},
		}},
		{"marker older than the file does not count", []step{
			{file: "a", mtime: old.Add(time.Minute), marker: "x", mmtime: old, want: false},
			{after: time.Minute, want: false},
			{after: time.Second, marker: "y", mmtime: old.Add(2 * time.Minute), want: true},
		}},
		{"left-over marker does not count for a later file", []step{
			{marker: "x", mmtime: old, want: false},
			{after: 2 * time.Second, want: false}, // alone for Settle: stale
			{after: time.Second, file: "a", mtime: old, want: false},
			{after: time.Hour, want: false},
			{after: time.Second, marker: "y", mmtime: old.Add(time.Second), want: true},
		}},
		{"marker alone briefly still counts", []step{
			{marker: "x", mmtime: old.Add(time.Second), want: false},
			{after: time.Second, file: "a", mtime: old, want: true},
		}},
		{"file changed after hand-out waits for a new marker", []step{
			{file: "a", mtime: old, marker: "x", mmtime: old, want: true},
			{after: time.Second, file: "ab", mtime: old.Add(time.Second), want: false},
			{after: time.Second, marker: "y", mmtime: old.Add(2 * time.Second), want: true},
		}},
		{"marker removed without a claim: waits for a new one", []step{
			{file: "a", mtime: old, marker: "x", mmtime: old, want: true},
			{after: time.Second, marker: "-", want: false},
			{after: 2 * time.Minute, want: false},
			{after: time.Second, marker: "y", mmtime: old, want: true},
		}},
		{"unclaimed file offered again after Retry", []step{
			{file: "a", mtime: old, marker: "x", mmtime: old, want: true},
			{after: 59 * time.Second, want: false},
			{after: time.Second, want: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, dir, _, _ := newFakeFolder(t, Options{Settle: 2 * time.Second, Retry: time.Minute, Poll: true},
				FolderOptions{Readiness: ReadyMarker})
			path, marker := filepath.Join(dir, "in.csv"), filepath.Join(dir, "in.csv.done")
			for i, s := range tt.steps {
				if s.file != "" {
					writeFile(t, path, s.file, s.mtime)
				}
				switch s.marker {
				case "":
				case "-":
					if err := os.Remove(marker); err != nil {
						t.Fatal(err)
					}
				default:
					writeFile(t, marker, s.marker, s.mmtime)
				}
				c.now = c.now.Add(s.after)
				c.gen++
				found, due := c.w.scanAll(c.now, c.gen)
				if slices.ContainsFunc(found, func(f File) bool { return f.Name == "in.csv.done" }) {
					t.Fatalf("step %d: the marker was handed out", i)
				}
				handed := slices.ContainsFunc(found, func(f File) bool { return f.Name == "in.csv" && f.Marker == marker })
				if handed != s.want {
					t.Fatalf("step %d: handed out = %v, want %v (%v)", i, handed, s.want, found)
				}
				if !due.IsZero() && !due.After(c.now) {
					t.Fatalf("step %d: next wake-up %v is not after now %v", i, due, c.now)
				}
			}
		})
	}
}

func TestStuckReports(t *testing.T) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("changing", func(t *testing.T) {
		c, dir, stuck, _ := newFakeFolder(t, Options{Settle: 2 * time.Second, MaxSettle: 10 * time.Second}, FolderOptions{})
		path := filepath.Join(dir, "in.csv")
		for i := range 12 { // a change every second for 11s
			writeFile(t, path, strings.Repeat("a", i+1), old.Add(time.Duration(i)*time.Second))
			if got := c.scan(time.Second); len(got) != 0 {
				t.Fatalf("handed out %q while changing", got)
			}
		}
		if len(*stuck) != 1 || !strings.Contains((*stuck)[0].Reason, "still changing after 10s") {
			t.Fatalf("stuck reports %+v, want one, still changing", *stuck)
		}
		if s := (*stuck)[0]; s.File.Name != "in.csv" || !s.Since.Equal(c.now.Add(-11*time.Second)) {
			t.Fatalf("stuck report %+v", s)
		}
		c.scan(time.Second)
		if got := c.scan(time.Second); !slices.Equal(got, []string{"in.csv"}) {
			t.Fatalf("handed out %q once settled, want in.csv", got)
		}
		if len(*stuck) != 1 {
			t.Fatalf("%d stuck reports, want 1", len(*stuck))
		}
	})
	t.Run("open for writing", func(t *testing.T) {
		c, dir, stuck, writers := newFakeFolder(t, Options{Settle: 2 * time.Second, MaxSettle: 10 * time.Second}, FolderOptions{})
		writeFile(t, filepath.Join(dir, "in.csv"), "a", old)
		writers["in.csv"] = 4242
		c.gen++
		if _, due := c.w.scanAll(c.now, c.gen); !due.Equal(c.now.Add(2 * time.Second)) {
			t.Fatalf("due %v, want now + Settle", due)
		}
		for range 10 {
			c.now = c.now.Add(2 * time.Second)
			c.gen++
			found, due := c.w.scanAll(c.now, c.gen)
			if len(found) != 0 {
				t.Fatalf("handed out %v while open for writing", found)
			}
			if !due.After(c.now) {
				t.Fatalf("next wake-up %v is not after now %v", due, c.now)
			}
		}
		if len(*stuck) != 1 || !strings.Contains((*stuck)[0].Reason, "open for writing by process 4242") {
			t.Fatalf("stuck reports %+v, want one, open for writing", *stuck)
		}
		delete(writers, "in.csv")
		if got := c.scan(2 * time.Second); !slices.Equal(got, []string{"in.csv"}) {
			t.Fatalf("handed out %q once closed, want in.csv", got)
		}
	})
	t.Run("no marker", func(t *testing.T) {
		c, dir, stuck, _ := newFakeFolder(t, Options{MaxSettle: time.Minute}, FolderOptions{Readiness: ReadyMarker, MarkerSuffix: ".ok"})
		writeFile(t, filepath.Join(dir, "in.csv"), "a", old)
		c.gen++
		if _, due := c.w.scanAll(c.now, c.gen); !due.Equal(c.now.Add(time.Minute)) {
			t.Fatalf("due %v, want now + MaxSettle", due)
		}
		c.scan(time.Minute)
		c.scan(time.Hour)
		if len(*stuck) != 1 || !strings.Contains((*stuck)[0].Reason, "no marker in.csv.ok") {
			t.Fatalf("stuck reports %+v, want one, no marker", *stuck)
		}
		if m := (*stuck)[0].File.Marker; m != filepath.Join(dir, "in.csv.ok") {
			t.Fatalf("stuck report names marker %q", m)
		}
	})
}

func TestRenameTakenAtFirstSight(t *testing.T) {
	c, dir, _, writers := newFakeFolder(t, Options{Settle: time.Minute}, FolderOptions{Readiness: ReadyRename})
	writeFile(t, filepath.Join(dir, "in.csv"), "a", time.Now())
	writeFile(t, filepath.Join(dir, "in.csv.tmp"), "a", time.Now())
	writers["in.csv"] = 1 // not looked at in rename mode
	if got := c.scan(0); !slices.Equal(got, []string{"in.csv"}) {
		t.Fatalf("handed out %q, want in.csv", got)
	}
	if got := c.scan(time.Second); len(got) != 0 {
		t.Fatalf("handed out %q again", got)
	}
}

func TestSubfolderNames(t *testing.T) {
	c, dir, _, _ := newFakeFolder(t, Options{Settle: time.Second}, FolderOptions{Subfolders: SubfoldersInclude})
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rel := range []string{"top.csv", "a/b/deep.csv", "a/x.tmp", ".git/config.csv", "skip.tmp/in.csv"} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, "x", old)
	}
	if err := os.Symlink(filepath.Join(dir, "a"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	c.scan(0)
	got := c.scan(time.Second)
	slices.Sort(got)
	if want := []string{"a/b/deep.csv", "top.csv"}; !slices.Equal(got, want) {
		t.Fatalf("handed out %q, want %q", got, want)
	}
}
