//go:build unix

package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/erpipe/erpipe/inbox"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
	"golang.org/x/text/encoding/charmap"
)

// readyFile drops name into the pipeline's inbox and returns it as the
// watcher hands it out: with what it saw of the file.
func readyFile(t *testing.T, s *Service, pipeline, name string, content []byte) inbox.File {
	t.Helper()
	p := dropFile(t, s.ws, pipeline, name, content)
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return inbox.File{Key: pipeline, Path: p, Name: name, Info: fi}
}

// replace puts what make creates at path in one rename, as an attacker
// would (ln -s SECRET .t && mv -T .t x.csv).
func replace(t *testing.T, path string, make func(tmp string) error) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".swap")
	if err := make(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// takeWithin runs take and fails the test if it does not return within d.
func takeWithin(t *testing.T, s *Service, f inbox.File, d time.Duration) (*Job, error) {
	t.Helper()
	type result struct {
		job *Job
		err error
	}
	done := make(chan result, 1)
	go func() {
		job, err := s.take(context.Background(), f)
		done <- result{job, err}
	}()
	select {
	case r := <-done:
		return r.job, r.err
	case <-time.After(d):
		t.Fatalf("take of %s did not return within %v", f.Name, d)
		return nil, nil
	}
}

// TestClaimRefusesReplacedFile: a ready file swapped for a symbolic link
// to a secret, or for a FIFO, is filed away unread, and nothing of the
// secret reaches the outbox or the report.
func TestClaimRefusesReplacedFile(t *testing.T) {
	const secret = "Account,Name\nSECRET-1,Top secret\n"
	for _, c := range []struct {
		name, kind string
		make       func(t *testing.T, tmp string) error
	}{
		{"symlink", "symbolic link", func(t *testing.T, tmp string) error {
			p := filepath.Join(t.TempDir(), "secret.csv")
			if err := os.WriteFile(p, []byte(secret), 0o600); err != nil {
				return err
			}
			return os.Symlink(p, tmp)
		}},
		{"fifo", "named pipe", func(t *testing.T, tmp string) error { return syscall.Mkfifo(tmp, 0o644) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, ws := newService(t, "")
			f := readyFile(t, s, "customers-v3", "x.csv", sampleBytes(t))
			replace(t, f.Path, func(tmp string) error { return c.make(t, tmp) })
			job, err := takeWithin(t, s, f, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if job.Status != Failed || len(job.Outputs) != 0 || job.Read != 0 {
				t.Fatalf("job %s, %d outputs, %d rows read", job.Status, len(job.Outputs), job.Read)
			}
			if len(job.Errors) == 0 || !strings.Contains(job.Errors[0], c.kind) {
				t.Errorf("errors %q do not say the file was replaced by a %s", job.Errors, c.kind)
			}
			if out, _ := os.ReadDir(ws.Outbox("customers-v3")); len(out) != 0 {
				t.Errorf("the outbox has %d files", len(out))
			}
			fi, err := os.Lstat(job.FinalPath)
			if err != nil || fi.Mode().IsRegular() {
				t.Fatalf("filed away as %v (%v), want the %s itself", fi, err, c.kind)
			}
			report, err := os.ReadFile(job.FinalPath + ".error.txt")
			if err != nil || strings.Contains(string(report), "SECRET") {
				t.Errorf("report: %v\n%s", err, report)
			}
		})
	}
}

// TestResumeRefusesFIFO: a FIFO in claimed/ (a crash after such a claim)
// fails its job at the next start instead of blocking it forever.
func TestResumeRefusesFIFO(t *testing.T) {
	s, ws := newService(t, "")
	dir := filepath.Join(ws.Claimed(), "customers-v3", "20260101-000000-abcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "x.csv"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Recover(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Recover blocked on a FIFO")
	}
	j, err := s.journal.Get(context.Background(), "20260101-000000-abcd")
	if err != nil || j.Status != Failed || len(j.Errors) == 0 || !strings.Contains(j.Errors[0], "named pipe") {
		t.Fatalf("%v %+v", err, j)
	}
}

// TestClaimLeavesChangedFile: a file written to again between being found
// ready and being claimed goes back to the inbox, unprocessed, to be taken
// once it is ready again.
func TestClaimLeavesChangedFile(t *testing.T) {
	s, ws := newService(t, "")
	f := readyFile(t, s, "customers-v3", "x.csv", sampleBytes(t)[:40])
	if err := os.WriteFile(f.Path, sampleBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := takeWithin(t, s, f, 10*time.Second)
	if !errors.Is(err, errGone) || job != nil {
		t.Fatalf("take: %v %+v", err, job)
	}
	if got, err := os.ReadFile(f.Path); err != nil || len(got) != len(sampleBytes(t)) {
		t.Errorf("the file is not back in the inbox whole: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(ws.Claimed(), "customers-v3")); len(left) != 0 {
		t.Errorf("claimed/ keeps %d entries", len(left))
	}
}

// TestLinkedFoldersRefused: an outbox or archive folder replaced by a
// symbolic link to another folder gets nothing written into that folder;
// with follow_symlinks: true in erpipe.yaml the link is used.
func TestLinkedFoldersRefused(t *testing.T) {
	for _, c := range []struct {
		name   string
		folder func(ws *workspace.Workspace) string
	}{
		{"outbox", func(ws *workspace.Workspace) string { return ws.Outbox("customers-v3") }},
		{"archive", func(ws *workspace.Workspace) string { return filepath.Dir(ws.Archive("customers-v3", time.Now())) }},
	} {
		for _, follow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s follow=%v", c.name, follow), func(t *testing.T) {
				s, ws := newService(t, fmt.Sprintf("follow_symlinks: %v\n", follow))
				other := t.TempDir()
				dir := c.folder(ws)
				if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
					t.Fatal(err)
				}
				os.RemoveAll(dir)
				if err := os.Symlink(other, dir); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				job, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
				written, _ := os.ReadDir(other)
				if follow {
					if err != nil || job.Status != Processed || len(written) == 0 {
						t.Fatalf("with follow_symlinks: %v, job %+v, %d files in the linked folder", err, job, len(written))
					}
					return
				}
				if len(written) != 0 {
					t.Fatalf("%d files were written through the link", len(written))
				}
				if err == nil && job.Status != Processing {
					t.Fatalf("job %s with the %s a link, want it held", job.Status, c.name)
				}
				if msg := fmt.Sprint(err, job.Pending); !strings.Contains(msg, "symbolic link") {
					t.Errorf("nothing says the folder is a symbolic link: %s", msg)
				}
			})
		}
	}
}

// TestResultsNoWiderThanInput: what a job makes of a 0600 input (its
// outputs, report, rejected rows) is 0600 too; a 0644 input's are 0644.
// The journal is 0600 and .erpipe 0700 whatever the umask.
func TestResultsNoWiderThanInput(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o640, 0o644} {
		t.Run(fmt.Sprintf("%#o", mode), func(t *testing.T) {
			s, ws := newService(t, "")
			data := strings.Replace(string(sampleBytes(t)), "25000.00", "25000.OO", 1)
			in := dropFile(t, ws, "customers-v3", "c.csv", []byte(data))
			if err := os.Chmod(in, mode); err != nil {
				t.Fatal(err)
			}
			job, err := s.Take(context.Background(), "customers-v3", in)
			if err != nil || job.Status != ProcessedWithErrors || len(job.Outputs) != 1 {
				t.Fatalf("%v %+v", err, job)
			}
			base := strings.TrimSuffix(job.Report, ".error.txt")
			for _, p := range []string{job.Outputs[0].Location, base + ".error.txt", base + ".error.json", base + ".rejected.csv"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != mode {
					t.Errorf("%s is %#o, want %#o like its input", filepath.Base(p), got, mode)
				}
			}
		})
	}
	t.Run("journal and state", func(t *testing.T) {
		old := syscall.Umask(0o002)
		defer syscall.Umask(old)
		ws, err := workspace.Open(t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.MakeState(); err != nil {
			t.Fatal(err)
		}
		j, err := OpenJournal(ws.JournalPath())
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		if err := j.Put(context.Background(), &Job{ID: "x", Pipeline: "p", Status: Enqueued}); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]os.FileMode{ws.State(): 0o700, ws.JournalPath(): 0o600, ws.JournalPath() + "-wal": 0o600} {
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s: %v %v, want %#o", p, fi.Mode().Perm(), err, want)
			}
		}
	})
}

// TestInputRewrittenWhileProcessed: a writer that still holds the input
// open and rewrites it while the job reads it does not get a job
// reported Processed on the old version: the results are thrown away and
// the whole new version is processed once it stops changing.
func TestInputRewrittenWhileProcessed(t *testing.T) {
	s, ws := newService(t, "settle: 200ms\n")
	full := sampleBytes(t)
	lines := strings.SplitAfter(string(full), "\n")
	first := []byte(strings.Join(lines[:4], "")) // the header and 3 rows
	runs := 0
	s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
		runs++
		res, err := tm.RunWith(ctx, in, out, o)
		if runs == 1 {
			// The writer, holding the file open, writes the rest.
			f, ferr := os.OpenFile(in, os.O_WRONLY, 0)
			if ferr != nil {
				t.Error(ferr)
				return res, err
			}
			f.WriteAt(full, 0)
			f.Close()
		}
		return res, err
	}
	job, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", first))
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 || job.Status != Processed || job.Read != 10 || job.InputSize != int64(len(full)) {
		t.Fatalf("runs %d, job %s read %d of %d bytes; want 2 runs and all 10 rows", runs, job.Status, job.Read, job.InputSize)
	}
}

// TestLongNames: an input with a 255-byte name gets its job done and
// filed like any other, with its report and rejected rows beside it, under
// a shortened name that keeps the extension and the job id; the job says
// so.
func TestLongNames(t *testing.T) {
	for _, c := range []struct {
		name   string
		mangle func(string) string
		status Status
	}{
		{"rejected rows", func(s string) string { return strings.Replace(s, "25000.00", "25000.OO", 1) }, ProcessedWithErrors},
		{"failed", func(s string) string { return strings.ReplaceAll(s, "Account", "Konto") }, Failed},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, ws := newService(t, "")
			name := strings.Repeat("æ", 125) + ".csv" // 254 bytes
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			job, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", name, []byte(c.mangle(string(sampleBytes(t))))))
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(job.Report, ".error.txt")
			if job.Status != c.status || !exists(job.FinalPath) || !exists(base+".error.txt") || !exists(base+".error.json") {
				t.Fatalf("job %s, filed at %s (%v), report %s (%v)", job.Status, job.FinalPath, exists(job.FinalPath), job.Report, exists(job.Report))
			}
			if filed := filepath.Base(job.FinalPath); !strings.HasSuffix(filed, ".csv") || !strings.Contains(filed, job.ID) && c.status != Failed {
				t.Errorf("filed as %s", filed)
			}
			if c.status == ProcessedWithErrors && (!exists(base+".rejected.csv") || len(job.Outputs) != 1) {
				t.Errorf("rejected rows %v, outputs %v", exists(base+".rejected.csv"), job.Outputs)
			}
			if !strings.Contains(strings.Join(job.Errors, "\n"), "too long") {
				t.Errorf("the job does not say the name was shortened: %q", job.Errors)
			}
		})
	}
}

// TestHandedBackIsNotAnError: a job a stop interrupts is handed back
// (logged at INFO), not reported as failed at ERROR.
func TestHandedBackIsNotAnError(t *testing.T) {
	var logs strings.Builder
	s := &Service{log: slog.New(slog.NewTextHandler(&logs, nil))}
	s.logRunError("job failed to run", fmt.Errorf("job x interrupted; it resumes at the next start: %w", context.Canceled), "file", "a.csv")
	s.logRunError("job failed to run", errHandedBack, "file", "b.csv")
	s.logRunError("job failed to run", errGone, "file", "c.csv")
	if strings.Contains(logs.String(), "level=ERROR") || strings.Count(logs.String(), "handed back") != 2 || strings.Contains(logs.String(), "c.csv") {
		t.Errorf("log:\n%s", logs.String())
	}
	logs.Reset()
	s.logRunError("job failed to run", errors.New("disk on fire"), "file", "d.csv")
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a real failure is not an error:\n%s", logs.String())
	}
}

// TestInputLimits: an input past the reader limits in erpipe.yaml fails
// its job with a report naming the limit and the setting that raises it;
// a pipeline's own limits replace the workspace's.
func TestInputLimits(t *testing.T) {
	s, ws := newService(t, "limits: {record_bytes: 1KiB}\npipelines:\n  - {name: big, template: customers-v3, limits: {record_bytes: 1MiB}}\n")
	long := string(sampleBytes(t)) + "US-099," + strings.Repeat("x", 2000) + ",,,,,,,,,,\n"
	job, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", []byte(long)))
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != Failed || !strings.Contains(strings.Join(job.Errors, " "), "limits.record_bytes") {
		t.Fatalf("job %s: %q", job.Status, job.Errors)
	}
	job, err = s.Take(context.Background(), "big", dropFile(t, ws, "big", "c.csv", []byte(long)))
	if err != nil || job.Read == 0 || strings.Contains(strings.Join(job.Errors, " "), "limits.record_bytes") {
		t.Fatalf("with the pipeline's limit: %v %s %q", err, job.Status, job.Errors)
	}
}

// TestPoisonAfterCrashes: a job left unfinished MaxAttempts times (erpipe
// killed under it each time) is set aside in errors/ at the next start
// instead of run again; one below the count is run; a stop that hands a
// job back does not count.
func TestPoisonAfterCrashes(t *testing.T) {
	ctx := context.Background()
	for _, attempts := range []int{MaxAttempts - 1, MaxAttempts} {
		t.Run(fmt.Sprint(attempts), func(t *testing.T) {
			s, ws := newService(t, "")
			dir := filepath.Join(ws.Claimed(), "customers-v3", "20260101-000000-abcd")
			os.MkdirAll(dir, 0o700)
			os.WriteFile(filepath.Join(dir, "c.csv"), sampleBytes(t), 0o644)
			job := &Job{ID: "20260101-000000-abcd", Pipeline: "customers-v3", Input: "c.csv", Status: Processing,
				ClaimedPath: filepath.Join(dir, "c.csv"), Attempts: attempts}
			if err := s.journal.Put(ctx, job); err != nil {
				t.Fatal(err)
			}
			runs := countRuns(s)
			if err := s.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			j, _ := s.journal.Get(ctx, job.ID)
			if attempts < MaxAttempts {
				if j.Status != Processed || *runs != 1 || j.Attempts != attempts+1 {
					t.Fatalf("below the count: %s after %d runs, attempts %d", j.Status, *runs, j.Attempts)
				}
				return
			}
			if j.Status != Failed || *runs != 0 || !strings.Contains(strings.Join(j.Errors, " "), "set aside") || !strings.HasPrefix(j.FinalPath, ws.Errors("customers-v3")) {
				t.Fatalf("at the count: %s after %d runs, %q, filed at %s", j.Status, *runs, j.Errors, j.FinalPath)
			}
		})
	}
	t.Run("a stop does not count", func(t *testing.T) {
		s, ws := newService(t, "")
		cctx, cancel := context.WithCancel(ctx)
		s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
			cancel()
			<-ctx.Done()
			return nil, ctx.Err()
		}
		job, _ := s.Take(cctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
		if j, err := s.journal.Get(ctx, job.ID); err != nil || j.Attempts != 0 || j.Status != Processing {
			t.Fatalf("after a stop: %v %+v", err, j)
		}
	})
}

// TestTempDirEmptiedAtStart: what a crash left in the daemon's temporary
// folder (an unpacked 1 GiB sheet) is gone once the daemon holds the
// workspace, and the process's temporary files go there.
func TestTempDirEmptiedAtStart(t *testing.T) {
	t.Setenv("TMPDIR", os.Getenv("TMPDIR")) // restored after the test
	s, ws := newService(t, "")
	s.TempDir = ws.Temp()
	left := filepath.Join(s.TempDir, "excelize-123456")
	if err := os.MkdirAll(s.TempDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(left, []byte("an unpacked sheet"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for deadline := time.Now().Add(5 * time.Second); exists(left) && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if exists(left) || os.TempDir() != s.TempDir {
		t.Errorf("left behind: %v; temporary folder %s", exists(left), os.TempDir())
	}
}

// TestLegacyEncoding: a Windows-1252 CSV is refused whole (no half
// import: the ASCII rows are not taken without the others) with one
// message that says what to do; with legacy_encoding in erpipe.yaml it is
// read, every row, with its letters right.
func TestLegacyEncoding(t *testing.T) {
	utf := strings.Replace(string(sampleBytes(t)), "US-001,", "US-001,Ærø Sjøfart ", 1)
	cp, err := charmap.Windows1252.NewEncoder().String(utf)
	if err != nil {
		t.Fatal(err)
	}
	s, ws := newService(t, "")
	job, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", []byte(cp)))
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != Failed || job.Read != 0 || len(job.Outputs) != 0 || !strings.Contains(strings.Join(job.Errors, " "), "legacy_encoding") {
		t.Fatalf("a Windows-1252 file: %s, %d read, %d outputs, %q", job.Status, job.Read, len(job.Outputs), job.Errors)
	}
	s, ws = newService(t, "legacy_encoding: windows-1252\n")
	job, err = s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", []byte(cp)))
	if err != nil || job.Status != Processed || job.Read != 10 {
		t.Fatalf("with legacy_encoding: %v %s, %d read, %q", err, job.Status, job.Read, job.Errors)
	}
}

// TestSemicolonFiles: a semicolon-separated file (Excel's CSV in most of
// Europe) is read by a template that leaves the delimiter to the header;
// a template that fixes a comma says how to read it.
func TestSemicolonFiles(t *testing.T) {
	semi := strings.NewReplacer(",", ";").Replace(string(sampleBytes(t)))
	s, ws := newService(t, "")
	job, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", []byte(semi)))
	if err != nil || job.Status != Processed || job.Read != 10 {
		t.Fatalf("a semicolon file: %v %s, %d read, %q", err, job.Status, job.Read, job.Errors)
	}
	tp := filepath.Join(ws.Root, "templates", "fixed.yaml")
	os.MkdirAll(filepath.Dir(tp), 0o755)
	if err := os.WriteFile(tp, []byte("name: fixed\nversion: 1.0.0\nstatus: completed\ninput:\n  csv: {delimiter: \",\"}\n  fields:\n    - {name: account, column: Account, required: true}\noutput:\n  csv:\n    columns: {Account: account}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, ws = newService(t, "pipelines:\n  - {name: fixed, template: "+tp+"}\n")
	job, err = s.Take(context.Background(), "fixed", dropFile(t, ws, "fixed", "c.csv", []byte(semi)))
	if err != nil || job.Status != Failed || !strings.Contains(strings.Join(job.Errors, " "), `looks separated by semicolons`) {
		t.Fatalf("a semicolon file for a comma template: %v %s %q", err, job.Status, job.Errors)
	}
}

// TestStraysReported: a file directly in inbox/ and a folder that is no
// pipeline's (a misspelt one) are reported once each, with where files
// go, and left alone.
func TestStraysReported(t *testing.T) {
	s, ws := newService(t, "")
	var logs strings.Builder
	s.log = slog.New(slog.NewTextHandler(&logs, nil))
	stray := filepath.Join(ws.Root, "inbox", "stray.csv")
	os.WriteFile(stray, []byte("a\n1\n"), 0o644)
	misspelt := filepath.Join(ws.Root, "inbox", "customer-v3")
	os.MkdirAll(misspelt, 0o755)
	os.WriteFile(filepath.Join(misspelt, "x.csv"), sampleBytes(t), 0o644)
	seen := map[string]bool{}
	s.reportStrays(seen)
	s.reportStrays(seen)
	out := logs.String()
	if strings.Count(out, "stray.csv") != 1 || strings.Count(out, "customer-v3") != 1 || !strings.Contains(out, `did you mean \"customers-v3\"`) {
		t.Errorf("log:\n%s", out)
	}
	if !exists(stray) || !exists(filepath.Join(misspelt, "x.csv")) {
		t.Error("a stray was touched")
	}
}
