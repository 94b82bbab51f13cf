package inbox_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpipe/erpipe/inbox"
)

// logBuffer collects a watcher's log lines for tests that count reports.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns how many logged lines contain s.
func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// startFolder runs a watcher with one folder added with fopts until the
// test ends and returns its channel.
func startFolder(t *testing.T, opts inbox.Options, dir string, fopts inbox.FolderOptions) (*inbox.Watcher, <-chan inbox.File) {
	t.Helper()
	return startWith(t, opts, "p", dir, fopts, 16)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// claim takes f as a caller does, by a rename into a folder of its own
// (as jobs does), removing its marker after the claim.
func claim(t *testing.T, f inbox.File) string {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Dir(f.Dir), "processing-")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, filepath.Base(f.Path))
	if err := os.Rename(f.Path, p); err != nil {
		t.Fatalf("claim %s: %v", f.Name, err)
	}
	if f.Marker != "" {
		if err := os.Remove(f.Marker); err != nil {
			t.Fatalf("remove marker of %s: %v", f.Name, err)
		}
	}
	return p
}

// inboxDir returns a fresh inbox folder with room beside it for the
// processing folder claim uses.
func inboxDir(t *testing.T) string {
	return filepath.Join(t.TempDir(), "inbox")
}

// TestModesEventsAndPoll drops one file the way each mode expects, with
// fsnotify and in poll mode, and checks it is handed out exactly once.
func TestModesEventsAndPoll(t *testing.T) {
	t.Parallel()
	modes := []struct {
		name  string
		fopts inbox.FolderOptions
		drop  func(t *testing.T, dir string)
	}{
		{"settle", inbox.FolderOptions{}, func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "in.csv"), "1;a\n")
		}},
		{"marker", inbox.FolderOptions{Readiness: inbox.ReadyMarker}, func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "in.csv"), "1;a\n")
			write(t, filepath.Join(dir, "in.csv.done"), "")
		}},
		{"rename", inbox.FolderOptions{Readiness: inbox.ReadyRename}, func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "in.csv.tmp"), "1;a\n")
			if err := os.Rename(filepath.Join(dir, "in.csv.tmp"), filepath.Join(dir, "in.csv")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, m := range modes {
		for _, poll := range []bool{false, true} {
			t.Run(m.name+map[bool]string{false: "/events", true: "/poll"}[poll], func(t *testing.T) {
				t.Parallel()
				dir := inboxDir(t)
				_, ready := startFolder(t, fast(poll), dir, m.fopts)
				m.drop(t, dir)
				f := receive(t, ready)
				if f.Name != "in.csv" || f.Size != 4 || f.Key != "p" {
					t.Fatalf("handed out %+v, want in.csv of 4 bytes under p", f)
				}
				if want := m.fopts.Readiness == inbox.ReadyMarker; (f.Marker != "") != want {
					t.Fatalf("Marker = %q in mode %s", f.Marker, m.name)
				}
				claim(t, f)
				expectNothing(t, ready)
			})
		}
	}
}

// TestPollUsesNoEvents: in poll mode a file is found by the rescan (or
// Scan), never by a change event.
func TestPollUsesNoEvents(t *testing.T) {
	t.Parallel()
	dir := inboxDir(t)
	w, ready := startFolder(t, inbox.Options{Settle: 100 * time.Millisecond, Rescan: time.Hour, Poll: true}, dir,
		inbox.FolderOptions{Readiness: inbox.ReadyRename})
	expectNothing(t, ready) // the first scan has run on an empty folder
	write(t, filepath.Join(dir, "in.csv"), "1")
	expectNothing(t, ready) // no event wakes a polling watcher
	w.Scan()
	if f := receive(t, ready); f.Name != "in.csv" {
		t.Fatalf("handed out %q, want in.csv", f.Name)
	}
}

func TestMarkerMode(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"", ".OK"} {
		t.Run("suffix "+suffix, func(t *testing.T) {
			t.Parallel()
			dir := inboxDir(t)
			_, ready := startFolder(t, fast(false), dir, inbox.FolderOptions{Readiness: inbox.ReadyMarker, MarkerSuffix: suffix})
			marker := ".done"
			if suffix != "" {
				marker = ".ok" // letter case does not matter
			}
			write(t, filepath.Join(dir, "a.csv"), "1;a\n")
			write(t, filepath.Join(dir, "b.csv"), "2;b\n")
			expectNothing(t, ready) // settled long ago, but no marker

			write(t, filepath.Join(dir, "a.csv"+marker), "")
			f := receive(t, ready)
			if f.Name != "a.csv" || f.Marker != filepath.Join(f.Dir, "a.csv"+marker) {
				t.Fatalf("handed out %s with marker %q", f.Name, f.Marker)
			}
			claim(t, f)
			expectNothing(t, ready) // b.csv still has no marker; markers are never handed out

			write(t, filepath.Join(dir, "b.csv"+marker), "")
			if f := receive(t, ready); f.Name != "b.csv" {
				t.Fatalf("handed out %s, want b.csv", f.Name)
			} else {
				claim(t, f)
			}
			expectNothing(t, ready)
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Fatalf("%d entries left in the inbox, want none (files and markers consumed)", len(entries))
			}
		})
	}
}

// TestMarkerOrphan: a marker without its file is logged once and left;
// a file of that name dropped later is not taken on the strength of the
// old marker, only once the marker is written again.
func TestMarkerOrphan(t *testing.T) {
	t.Parallel()
	dir := inboxDir(t)
	var logs logBuffer
	opts := fast(false)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, ready := startFolder(t, opts, dir, inbox.FolderOptions{Readiness: inbox.ReadyMarker})
	marker := filepath.Join(dir, "daily.csv.done")
	write(t, marker, "")
	deadline := time.Now().Add(wait)
	for logs.count("marker has no file beside it") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("orphan marker not reported within %v; log:\n%s", wait, logs.buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	expectNothing(t, ready) // many scans later
	if n := logs.count("marker has no file beside it"); n != 1 {
		t.Fatalf("orphan marker reported %d times, want once", n)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("orphan marker not left in place: %v", err)
	}

	// The writer drops the next file; the left-over marker must not let
	// it be taken half-way.
	write(t, filepath.Join(dir, "daily.csv"), "1;a\n")
	expectNothing(t, ready)
	write(t, marker, "ok\n") // the writer's new marker
	f := receive(t, ready)
	if f.Name != "daily.csv" || f.Marker != marker {
		t.Fatalf("handed out %+v", f)
	}
	claim(t, f)
	expectNothing(t, ready)
}

func TestRenameMode(t *testing.T) {
	t.Parallel()
	dir := inboxDir(t)
	// A settle window far longer than the test waits: rename mode must
	// not wait for it.
	opts := inbox.Options{Settle: time.Minute, Rescan: 100 * time.Millisecond, Retry: time.Hour}
	_, ready := startFolder(t, opts, dir, inbox.FolderOptions{Readiness: inbox.ReadyRename, Temp: []string{"*.uploading"}})
	for _, tmp := range []string{"a.csv.tmp", "b.csv.uploading", "c.csv.part"} {
		write(t, filepath.Join(dir, tmp), "1;a\n")
	}
	expectNothing(t, ready)
	for _, tmp := range []string{"a.csv.tmp", "b.csv.uploading", "c.csv.part"} {
		final := strings.TrimSuffix(tmp, filepath.Ext(tmp))
		if err := os.Rename(filepath.Join(dir, tmp), filepath.Join(dir, final)); err != nil {
			t.Fatal(err)
		}
		if f := receive(t, ready); f.Name != final {
			t.Fatalf("handed out %s, want %s", f.Name, final)
		} else {
			claim(t, f)
		}
	}
	expectNothing(t, ready)
}

func TestSubfolders(t *testing.T) {
	t.Parallel()
	t.Run("include", func(t *testing.T) {
		t.Parallel()
		dir := inboxDir(t)
		write(t, filepath.Join(dir, "2024", "05", "old.csv"), "1") // present at start
		_, ready := startFolder(t, fast(false), dir, inbox.FolderOptions{Subfolders: inbox.SubfoldersInclude})
		f := receive(t, ready)
		if f.Name != "2024/05/old.csv" || f.Path != filepath.Join(f.Dir, "2024", "05", "old.csv") {
			t.Fatalf("handed out Name %q Path %q", f.Name, f.Path)
		}
		p := claim(t, f)
		if filepath.Base(p) != "old.csv" {
			t.Fatalf("claimed as %q", p)
		}
		// A folder made while running, and never-taken names in it.
		write(t, filepath.Join(dir, "new", "deeper", "x.csv"), "2")
		write(t, filepath.Join(dir, "new", "x.csv.tmp"), "3")
		write(t, filepath.Join(dir, ".hidden", "y.csv"), "4")
		write(t, filepath.Join(dir, "upload.tmp", "z.csv"), "5")
		if f := receive(t, ready); f.Name != "new/deeper/x.csv" {
			t.Fatalf("handed out %q, want new/deeper/x.csv", f.Name)
		} else {
			claim(t, f)
		}
		// A writer that fills a temporary folder and renames it.
		if err := os.Rename(filepath.Join(dir, "upload.tmp"), filepath.Join(dir, "upload")); err != nil {
			t.Fatal(err)
		}
		if f := receive(t, ready); f.Name != "upload/z.csv" {
			t.Fatalf("handed out %q, want upload/z.csv", f.Name)
		}
		expectNothing(t, ready)
	})
	t.Run("ignore", func(t *testing.T) {
		t.Parallel()
		dir := inboxDir(t)
		write(t, filepath.Join(dir, "sub", "deep.csv"), "1")
		_, ready := startFolder(t, fast(false), dir, inbox.FolderOptions{Subfolders: inbox.SubfoldersIgnore})
		write(t, filepath.Join(dir, "sub", "later.csv"), "2")
		write(t, filepath.Join(dir, "top.csv"), "3")
		if f := receive(t, ready); f.Name != "top.csv" {
			t.Fatalf("handed out %q, want top.csv", f.Name)
		}
		expectNothing(t, ready)
	})
	t.Run("include with markers", func(t *testing.T) {
		t.Parallel()
		dir := inboxDir(t)
		_, ready := startFolder(t, fast(true), dir, inbox.FolderOptions{
			Subfolders: inbox.SubfoldersInclude, Readiness: inbox.ReadyMarker})
		write(t, filepath.Join(dir, "a", "in.csv"), "1")
		write(t, filepath.Join(dir, "b", "in.csv.done"), "") // not the marker of a/in.csv
		expectNothing(t, ready)
		write(t, filepath.Join(dir, "a", "in.csv.done"), "")
		f := receive(t, ready)
		if f.Name != "a/in.csv" || f.Marker != filepath.Join(dir, "a", "in.csv.done") {
			t.Fatalf("handed out %q with marker %q", f.Name, f.Marker)
		}
		claim(t, f)
		expectNothing(t, ready)
	})
}

// stuckRecorder collects stuck reports.
func stuckRecorder() (func(inbox.Stuck), <-chan inbox.Stuck) {
	ch := make(chan inbox.Stuck, 16)
	return func(s inbox.Stuck) { ch <- s }, ch
}

// TestStuckFileReported: a file that keeps changing past MaxSettle is
// reported once and not taken half-way; it is taken once it settles.
func TestStuckFileReported(t *testing.T) {
	t.Parallel()
	dir := inboxDir(t)
	onStuck, stuck := stuckRecorder()
	var logs logBuffer
	opts := inbox.Options{Settle: time.Second, MaxSettle: 2 * time.Second, Rescan: 100 * time.Millisecond,
		Retry: time.Hour, OnStuck: onStuck, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	_, ready := startFolder(t, opts, dir, inbox.FolderOptions{})
	path := filepath.Join(dir, "growing.csv")
	write(t, path, "")
	var size int
	var report inbox.Stuck
	deadline := time.Now().Add(wait + opts.MaxSettle)
writing:
	for {
		out, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		n, err := out.WriteString("1;Contoso;100.00\n")
		if err := errors.Join(err, out.Close()); err != nil {
			t.Fatal(err)
		}
		size += n
		select {
		case f := <-ready:
			t.Fatalf("handed out at size %d while still being written", f.Size)
		case report = <-stuck:
			break writing
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("a file changing past MaxSettle was not reported")
		}
	}
	if report.File.Name != "growing.csv" || !strings.Contains(report.Reason, "still changing") {
		t.Fatalf("stuck report %+v", report)
	}
	// Once it stops changing it settles and is taken, whole.
	f := receive(t, ready)
	if f.Size != int64(size) {
		t.Fatalf("handed out at size %d, final size %d", f.Size, size)
	}
	select {
	case s := <-stuck:
		t.Fatalf("reported twice: %+v", s)
	default:
	}
	if n := logs.count("file not ready"); n != 1 {
		t.Fatalf("logged %d times, want once", n)
	}
}

// TestSlowLargeCopy copies 200 MB in chunks with pauses shorter than the
// settle window, reopening the file for every chunk (so that no open
// descriptor betrays the writer, as with a writer on another machine),
// and checks the file is handed out only whole.
func TestSlowLargeCopy(t *testing.T) {
	const (
		total  = 200 << 20
		chunk  = 8 << 20
		settle = time.Second
		pause  = 300 * time.Millisecond
	)
	dir := inboxDir(t)
	_, ready := startFolder(t, inbox.Options{Settle: settle, Rescan: 100 * time.Millisecond, Retry: time.Hour}, dir, inbox.FolderOptions{})
	path := filepath.Join(dir, "ledger.csv")
	buf := bytes.Repeat([]byte("4711;2024-05-01;Contoso;1234.56\n"), chunk/32)
	for written := 0; written < total; written += len(buf) {
		copy(buf, []byte(time.Now().Format(time.RFC3339Nano))) // data made on the fly
		out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, err = out.Write(buf)
		if err := errors.Join(err, out.Close()); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-ready:
			t.Fatalf("handed out at %d bytes of %d", f.Size, total)
		case <-time.After(pause):
		}
	}
	f := receive(t, ready)
	if f.Size != total {
		t.Fatalf("handed out at %d bytes, final size %d", f.Size, total)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != total {
		t.Fatalf("stat after hand-out: %v, %v", st, err)
	}
	expectNothing(t, ready)
}

func TestFolderOptionsValidate(t *testing.T) {
	tests := []struct {
		opts inbox.FolderOptions
		want string // "" for valid
	}{
		{inbox.FolderOptions{}, ""},
		{inbox.FolderOptions{Readiness: inbox.ReadyMarker, MarkerSuffix: "_ok"}, ""},
		{inbox.FolderOptions{Readiness: inbox.ReadyRename, Temp: []string{"*.uploading"}, Subfolders: inbox.SubfoldersInclude}, ""},
		{inbox.FolderOptions{Readiness: "watch"}, `readiness "watch" is not known: use settle, marker or rename`},
		{inbox.FolderOptions{Subfolders: "deep"}, `subfolders "deep" is not known: use ignore or include`},
		{inbox.FolderOptions{Readiness: inbox.ReadyMarker, MarkerSuffix: "done/x"}, "path separator"},
		{inbox.FolderOptions{MarkerSuffix: "  "}, "blank"},
		{inbox.FolderOptions{Readiness: inbox.ReadyMarker, MarkerSuffix: ".TMP"}, "ends like a temporary name"},
		{inbox.FolderOptions{Settle: time.Minute, MaxSettle: time.Second}, "max settle 1s must be longer than settle 1m0s"},
		{inbox.FolderOptions{Temp: []string{"[a-"}}, "ignore pattern"},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.opts, err, tt.want)
		}
	}
	w, err := inbox.NewWatcher(inbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = w.AddFolder("p", t.TempDir(), inbox.FolderOptions{Readiness: "watch"})
	if err == nil || !strings.Contains(err.Error(), "readiness") {
		t.Fatalf("AddFolder with a bad readiness: %v", err)
	}
	// A folder Settle beyond the watcher's MaxSettle.
	if err := w.AddFolder("p", t.TempDir(), inbox.FolderOptions{Settle: 2 * time.Hour}); err == nil {
		t.Fatal("AddFolder with Settle past MaxSettle: no error")
	}
	if _, err := inbox.NewWatcher(inbox.Options{Settle: time.Minute, MaxSettle: time.Second}); err == nil {
		t.Fatal("NewWatcher with MaxSettle < Settle: no error")
	}
}
