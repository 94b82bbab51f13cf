package inbox_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/inbox"
)

// wait is the generous limit for anything the watcher should do soon.
const wait = 10 * time.Second

// quiet is how long a test listens to be sure nothing more is handed out.
const quiet = time.Second

// start runs a watcher on dir until the test ends and returns its channel.
func start(t *testing.T, opts inbox.Options, dir string) (*inbox.Watcher, <-chan inbox.File) {
	t.Helper()
	return startWith(t, opts, "customers", dir, inbox.FolderOptions{}, 1)
}

// startWith runs a watcher with folder dir added under key with fopts
// until the test ends, and returns it and its channel (of capacity
// buffer). At the end it checks that Run returns once cancelled.
func startWith(t *testing.T, opts inbox.Options, key, dir string, fopts inbox.FolderOptions, buffer int) (*inbox.Watcher, <-chan inbox.File) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, err := inbox.NewWatcher(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddFolder(key, dir, fopts); err != nil {
		t.Fatal(err)
	}
	ready := make(chan inbox.File, buffer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, ready) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(wait):
			t.Error("Run did not return after cancel")
		}
	})
	return w, ready
}

func receive(t *testing.T, ready <-chan inbox.File) inbox.File {
	t.Helper()
	select {
	case f := <-ready:
		return f
	case <-time.After(wait):
		t.Fatalf("no file handed out within %v", wait)
		return inbox.File{}
	}
}

func expectNothing(t *testing.T, ready <-chan inbox.File) {
	t.Helper()
	select {
	case f := <-ready:
		t.Fatalf("unexpected hand-out of %s", f.Name)
	case <-time.After(quiet):
	}
}

func fast(poll bool) inbox.Options {
	return inbox.Options{Settle: 300 * time.Millisecond, Rescan: 100 * time.Millisecond, Retry: time.Hour, Poll: poll}
}

func TestDroppedFileHandedOutOnce(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(map[bool]string{false: "events", true: "poll"}[poll], func(t *testing.T) {
			dir := t.TempDir()
			_, ready := start(t, fast(poll), dir)
			path := filepath.Join(dir, "customers.csv")
			if err := os.WriteFile(path, []byte("id;name\n1;Contoso\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			f := receive(t, ready)
			abs, _ := filepath.Abs(dir)
			want := inbox.File{Dir: abs, Key: "customers", Path: filepath.Join(abs, "customers.csv"), Name: "customers.csv", Size: 18}
			if fi, err := os.Lstat(path); err != nil || f.Info == nil || !f.Same(fi) {
				t.Errorf("File.Info %v is not the file (%v)", f.Info, err)
			}
			f.ModTime, f.Info = time.Time{}, nil
			if f != want {
				t.Fatalf("got %+v, want %+v", f, want)
			}
			expectNothing(t, ready)
		})
	}
}

func TestSlowWriterTakenWhenDone(t *testing.T) {
	dir := t.TempDir()
	_, ready := start(t, inbox.Options{Settle: 500 * time.Millisecond, Rescan: 50 * time.Millisecond}, dir)
	path := filepath.Join(dir, "big.csv")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("1;Contoso;100.00\n"), 100)
	const chunks = 8 // one every 200ms: about 1.5s of writing
	for i := range chunks {
		if _, err := out.Write(chunk); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-ready:
			t.Fatalf("handed out after chunk %d of %d (size %d)", i+1, chunks, f.Size)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	final := int64(chunks * len(chunk))
	f := receive(t, ready)
	if f.Size != final {
		t.Fatalf("handed out at size %d, final size %d", f.Size, final)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != final {
		t.Fatalf("stat after hand-out: %v, %v", st, err)
	}
	expectNothing(t, ready)
}

func TestTempNamesIgnored(t *testing.T) {
	dir := t.TempDir()
	opts := fast(false)
	opts.Ignore = []string{"*.lock"}
	_, ready := start(t, opts, dir)
	for _, name := range []string{
		".customers.csv.a1b2.partial", "~$Customers.xlsx", "customers.tmp", "customers.csv.part",
		"customers.csv.crdownload", "customers.csv.partial", "customers.swp", "customers.csv~",
		"CUSTOMERS.TMP", "pipeline.lock",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "deep.csv"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, ready)
	// A partial upload renamed to its final name is taken.
	if err := os.Rename(filepath.Join(dir, "customers.csv.partial"), filepath.Join(dir, "customers.csv")); err != nil {
		t.Fatal(err)
	}
	if f := receive(t, ready); f.Name != "customers.csv" {
		t.Fatalf("handed out %q, want customers.csv", f.Name)
	}
	expectNothing(t, ready)
}

func TestIgnored(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"customers.csv", false},
		{"Kunden Übersicht.xlsx", false},
		{"tmp.csv", false},
		{"part1.csv", false},
		{"", true},
		{".DS_Store", true},
		{".customers.csv.3f2a.partial", true},
		{"~$Book1.xlsx", true},
		{"report.xlsx~", true},
		{"a.tmp", true},
		{"a.TMP", true},
		{"a.part", true},
		{"a.partial", true},
		{"a.crdownload", true},
		{"a.filepart", true},
		{"a.swp", true},
		{"Thumbs.db", true},
		{"desktop.ini", true},
	}
	for _, tt := range tests {
		if got := inbox.Ignored(tt.name); got != tt.want {
			t.Errorf("Ignored(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBadIgnorePattern(t *testing.T) {
	for _, p := range []string{"[a-", "sub/*.csv"} {
		_, err := inbox.NewWatcher(inbox.Options{Ignore: []string{p}})
		var pe *inbox.PatternError
		if !errors.As(err, &pe) || pe.Pattern != p {
			t.Errorf("NewWatcher with pattern %q: err = %v, want *PatternError", p, err)
		}
	}
}

func TestFilesPresentAtStart(t *testing.T) {
	dir := t.TempDir()
	names := map[string]bool{"a.csv": true, "b.xlsx": true, "c.xml": true}
	old := time.Now().Add(-24 * time.Hour)
	for name := range names {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	// Poll mode with a long rescan: the watcher must wake for the
	// settle deadline by itself.
	_, ready := start(t, inbox.Options{Settle: 200 * time.Millisecond, Rescan: time.Hour, Poll: true}, dir)
	for range names {
		f := receive(t, ready)
		if !names[f.Name] {
			t.Fatalf("unexpected or repeated hand-out of %q", f.Name)
		}
		names[f.Name] = false
	}
	expectNothing(t, ready)
}

func TestPollRescanFindsFile(t *testing.T) {
	dir := t.TempDir()
	_, ready := start(t, fast(true), dir)
	expectNothing(t, ready)
	if err := os.WriteFile(filepath.Join(dir, "late.csv"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f := receive(t, ready); f.Name != "late.csv" {
		t.Fatalf("handed out %q, want late.csv", f.Name)
	}
}

func TestScanWakesWatcher(t *testing.T) {
	dir := t.TempDir()
	w, ready := start(t, inbox.Options{Settle: 100 * time.Millisecond, Rescan: time.Hour, Poll: true}, dir)
	expectNothing(t, ready) // the first scan saw an empty folder
	if err := os.WriteFile(filepath.Join(dir, "now.csv"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Scan()
	if f := receive(t, ready); f.Name != "now.csv" {
		t.Fatalf("handed out %q, want now.csv", f.Name)
	}
}

func TestUnclaimedFileOfferedAgain(t *testing.T) {
	dir := t.TempDir()
	opts := fast(false)
	opts.Retry = 300 * time.Millisecond
	_, ready := start(t, opts, dir)
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := receive(t, ready)
	second := receive(t, ready)
	if first.Path != second.Path {
		t.Fatalf("offered %q then %q", first.Path, second.Path)
	}
	if err := os.Rename(second.Path, filepath.Join(t.TempDir(), "in.csv")); err != nil { // taken
		t.Fatal(err)
	}
	expectNothing(t, ready)
}

func TestAddWhileRunningAndFolderComesBack(t *testing.T) {
	dir := t.TempDir()
	w, ready := start(t, fast(false), dir)
	other := filepath.Join(t.TempDir(), "vendors")
	if err := w.Add("vendors", other); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("again", other); err == nil {
		t.Fatal("adding a folder twice: no error")
	}
	if err := os.WriteFile(filepath.Join(other, "v.csv"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f := receive(t, ready); f.Key != "vendors" || f.Name != "v.csv" {
		t.Fatalf("got %s/%s, want vendors/v.csv", f.Key, f.Name)
	}

	// The folder disappears: the watcher logs and goes on, and takes
	// files again once it is back.
	if err := os.RemoveAll(other); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, ready)
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "w.csv"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f := receive(t, ready); f.Name != "w.csv" {
		t.Fatalf("got %s, want w.csv", f.Name)
	}
	// The first folder still works.
	if err := os.WriteFile(filepath.Join(dir, "c.csv"), []byte("3"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f := receive(t, ready); f.Key != "customers" {
		t.Fatalf("got %s/%s, want customers/c.csv", f.Key, f.Name)
	}
}

func TestRemoveFolderWhileRunning(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(map[bool]string{false: "events", true: "poll"}[poll], func(t *testing.T) {
			dir := t.TempDir()
			w, ready := start(t, fast(poll), dir)
			if w.RemoveFolder("nobody") {
				t.Error("RemoveFolder of an unknown key reported a folder")
			}
			if !w.RemoveFolder("customers") {
				t.Fatal("RemoveFolder(customers) found no folder")
			}
			path := filepath.Join(dir, "late.csv")
			if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
				t.Fatal(err)
			}
			expectNothing(t, ready)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the file in the removed folder was touched: %v", err)
			}
			// Added again (as a changed configuration does), the folder's
			// files are taken once more, the one left there first.
			if err := w.AddFolder("customers", dir, inbox.FolderOptions{Patterns: []string{"*.csv"}}); err != nil {
				t.Fatal(err)
			}
			if f := receive(t, ready); f.Name != "late.csv" {
				t.Fatalf("got %s, want late.csv", f.Name)
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	dir := t.TempDir()
	w, ready := start(t, fast(true), dir)
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	receive(t, ready) // Run is running
	err := w.Run(context.Background(), make(chan inbox.File))
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("second Run = %v, want an error", err)
	}
}

func TestShutdownWhileBlocked(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	for i := range 5 {
		if err := os.WriteFile(filepath.Join(dir, strings.Repeat("f", i+1)+".csv"), []byte("1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := inbox.NewWatcher(inbox.Options{Settle: 50 * time.Millisecond, Rescan: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add("p", dir); err != nil {
		t.Fatal(err)
	}
	ready := make(chan inbox.File) // nobody receives after the first
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, ready) }()
	receive(t, ready) // now the watcher is blocked sending the second
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("Run blocked after cancel")
	}
	// fsnotify's goroutines end shortly after Close.
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLinkedFolderNotFollowed: a watched folder replaced by a symbolic
// link to another folder is not listed (the other folder's files stay
// where they are, and the log says why), unless FollowLink allows it.
func TestLinkedFolderNotFollowed(t *testing.T) {
	for _, follow := range []bool{false, true} {
		t.Run(map[bool]string{false: "refused", true: "followed"}[follow], func(t *testing.T) {
			other := t.TempDir()
			if err := os.WriteFile(filepath.Join(other, "payroll.csv"), []byte("a;b\n1;2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "customers")
			if err := os.Symlink(other, dir); err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			opts := fast(false)
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			_, ready := startWith(t, opts, "customers", dir, inbox.FolderOptions{FollowLink: follow}, 1)
			if follow {
				if f := receive(t, ready); f.Name != "payroll.csv" {
					t.Fatalf("handed out %s", f.Name)
				}
				return
			}
			expectNothing(t, ready)
			if n := logs.count("symbolic link"); n != 1 {
				t.Errorf("the log says %d times that the folder is a symbolic link, want once", n)
			}
		})
	}
}

// TestPatterns: a folder with patterns takes only the files they match
// (case-insensitive); the others stay where they are, logged once.
func TestPatterns(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"ledger.CSV", "photo.jpg", "notes.docx"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs logBuffer
	opts := fast(false)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, ready := startWith(t, opts, "customers", dir, inbox.FolderOptions{Patterns: []string{"*.csv", "*.xlsx"}}, 2)
	if f := receive(t, ready); f.Name != "ledger.CSV" {
		t.Fatalf("handed out %s", f.Name)
	}
	expectNothing(t, ready)
	for _, n := range []string{"photo.jpg", "notes.docx"} {
		if c := logs.count(n); c != 1 {
			t.Errorf("%s logged %d times, want once", n, c)
		}
	}
	if err := (inbox.FolderOptions{Patterns: []string{"a/*.csv"}}).Validate(); err == nil {
		t.Error("a pattern with a separator was taken")
	}
}
