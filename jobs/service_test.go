package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
)

const sample = "../templates/customers-v3/samples/customers.csv"

// newService makes a workspace in a temporary folder (with erpipe.yaml
// content cfg, if any) and a service on it.
func newService(t *testing.T, cfg string) (*Service, *workspace.Workspace) {
	t.Helper()
	dir := t.TempDir()
	if cfg != "" {
		if err := os.WriteFile(filepath.Join(dir, "erpipe.yaml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	s, err := NewService(ws, j, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.RetryMin, s.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	return s, ws
}

// dropFile writes content into the pipeline's inbox and returns its path.
func dropFile(t *testing.T, ws *workspace.Workspace, pipeline, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(ws.Inbox(pipeline), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sampleBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// countRuns makes s count the template runs it starts, in the returned
// counter.
func countRuns(s *Service) *int {
	runs := new(int)
	s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
		*runs++
		return tm.RunWith(ctx, in, out, o)
	}
	return runs
}

func TestTakeProcessesAndArchives(t *testing.T) {
	s, ws := newService(t, "")
	ctx := context.Background()
	job, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != Processed || job.Read != 10 || job.Written != 10 || len(job.Outputs) != 1 {
		t.Fatalf("job %+v", job)
	}
	if !exists(job.FinalPath) || !strings.HasPrefix(job.FinalPath, filepath.Join(ws.Root, "archive", "customers-v3")) {
		t.Errorf("input not archived: %s", job.FinalPath)
	}
	if !exists(filepath.Join(ws.Outbox("customers-v3"), "c.zip")) {
		t.Error("no package in the outbox")
	}
	got, err := s.journal.Get(ctx, job.ID)
	if err != nil || got.Status != Processed || got.InputSHA256 != job.InputSHA256 || got.TemplateHash == "" {
		t.Errorf("journal has %+v, %v", got, err)
	}
	// The same content again is a duplicate, archived without processing.
	dup, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "again.csv", sampleBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	if dup.Status != Duplicate || dup.DuplicateOf != job.ID || len(dup.Outputs) != 0 || !exists(dup.FinalPath) {
		t.Errorf("duplicate job %+v", dup)
	}
	// After an allowance (erpipe retry), it is processed once more.
	if err := s.journal.Allow(ctx, "customers-v3", job.InputSHA256, job.ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "again.csv", sampleBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != Processed {
		t.Errorf("allowed retry: %s %q", again.Status, again.Errors)
	}
	// A retry is a note, not an error.
	if again.RetryOf != job.ID || len(again.Errors) != 0 || len(again.Notes) != 1 || !strings.Contains(again.Notes[0], "a retry of job "+job.ID) {
		t.Errorf("the retried job says retry of %q, errors %q, notes %q; want a note naming job %s", again.RetryOf, again.Errors, again.Notes, job.ID)
	}
	third, _ := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "third.csv", sampleBytes(t)))
	if third.Status != Duplicate {
		t.Errorf("an allowance is used once; the third copy is %s", third.Status)
	}
}

func TestAllowDuplicates(t *testing.T) {
	s, ws := newService(t, "pipelines:\n  - name: dup\n    template: customers-v3\n    allow_duplicates: true\n")
	for _, name := range []string{"a.csv", "b.csv"} {
		job, err := s.Take(context.Background(), "dup", dropFile(t, ws, "dup", name, sampleBytes(t)))
		if err != nil || job.Status != Processed {
			t.Fatalf("%s: %v %+v", name, err, job)
		}
	}
}

func TestRejectedRowsFile(t *testing.T) {
	s, ws := newService(t, "")
	data := strings.Replace(string(sampleBytes(t)), "25000.00", "25000.OO", 1)
	job, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", []byte(data)))
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != ProcessedWithErrors || job.Rejected != 1 {
		t.Fatalf("job %s rejected %d", job.Status, job.Rejected)
	}
	// The rows left out are where operators look: in errors/, with the
	// report, which names the archived input.
	rej := filepath.Join(ws.Errors("customers-v3"), "c.csv.rejected.csv")
	b, err := os.ReadFile(rej)
	if err != nil {
		t.Fatalf("no rejected-rows file in errors/: %v", err)
	}
	if !strings.Contains(string(b), "US-001") || !strings.Contains(string(b), "is not a decimal number") ||
		strings.Contains(string(b), "US-002") {
		t.Errorf("rejected-rows file:\n%s", b)
	}
	report, err := os.ReadFile(filepath.Join(ws.Errors("customers-v3"), "c.csv.error.txt"))
	if err != nil || !strings.Contains(string(report), job.FinalPath) || job.RejectedFile != filepath.Base(rej) || job.Report == "" {
		t.Errorf("report (%v) or record missing: %+v\n%s", err, job, report)
	}
}

func TestPoisonFiles(t *testing.T) {
	s, ws := newService(t, "job_timeout: 200ms\n")
	ctx := context.Background()
	release := make(chan struct{})
	defer close(release)
	s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
		switch filepath.Base(in) {
		case "hang.csv": // a reader stuck for good, deaf to ctx
			<-release
			return nil, errors.New("released")
		case "panic.csv":
			panic("boom")
		}
		return tm.RunWith(ctx, in, out, o)
	}
	for _, tc := range []struct{ name, want string }{
		{"hang.csv", "job timeout"},
		{"panic.csv", "internal error"},
	} {
		job, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", tc.name, []byte(tc.name)))
		if err != nil {
			t.Fatal(err)
		}
		if job.Status != Failed || !strings.Contains(strings.Join(job.Errors, " "), tc.want) {
			t.Errorf("%s: %s %q", tc.name, job.Status, job.Errors)
		}
		if !exists(filepath.Join(ws.Errors("customers-v3"), tc.name)) {
			t.Errorf("%s is not in errors/", tc.name)
		}
	}
	// Other jobs are unaffected.
	job, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "good.csv", sampleBytes(t)))
	if err != nil || job.Status != Processed {
		t.Errorf("good file after poison files: %v %+v", err, job)
	}
}

// flaky fails its first n puts as unavailable, then delegates.
type flaky struct {
	outbox.Destination
	n     int32
	calls atomic.Int32
}

type unavailable struct{}

func (unavailable) Error() string   { return "store unavailable (503)" }
func (unavailable) Temporary() bool { return true }

func (f *flaky) Put(ctx context.Context, name string, r io.Reader, size int64) (string, error) {
	if f.calls.Add(1) <= f.n {
		return "", unavailable{}
	}
	return f.Destination.Put(ctx, name, r, size)
}

func TestUnavailableDestinationKeepsJobPending(t *testing.T) {
	s, ws := newService(t, "")
	f := &flaky{Destination: s.current().dests["customers-v3"][0], n: 3}
	s.current().dests["customers-v3"] = []outbox.Destination{f}
	job, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	// Take returns at once, with the job waiting in the background.
	if job.Status != Processing {
		t.Errorf("Take returned a %s job; want it Processing while the destination is down", job.Status)
	}
	s.waiting.Wait()
	job, _ = s.journal.Get(context.Background(), job.ID)
	if job.Status != Processed || len(job.Outputs) != 1 || job.Pending != nil || f.calls.Load() != 4 {
		t.Errorf("job %s outputs %d pending %q after %d puts", job.Status, len(job.Outputs), job.Pending, f.calls.Load())
	}

	// While it waits, the job is Processing with its input claimed; a stop
	// hands it back, and a new start delivers it.
	f2 := &flaky{Destination: f.Destination, n: 1 << 30}
	s.current().dests["customers-v3"] = []outbox.Destination{f2}
	stop := make(chan struct{})
	s.stop = stop
	data := strings.Replace(string(sampleBytes(t)), "US-001", "US-901", 1)
	waiting, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "d.csv", []byte(data)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		j, _ := s.journal.Get(context.Background(), waiting.ID)
		if len(j.Pending) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if j, _ := s.journal.Get(context.Background(), waiting.ID); j.Status != Processing || len(j.Pending) == 0 || !exists(waiting.ClaimedPath) {
		t.Fatalf("waiting job: %s, pending %q, claimed input there: %v", j.Status, j.Pending, exists(waiting.ClaimedPath))
	}
	close(stop)
	s.waiting.Wait()
	if j, _ := s.journal.Get(context.Background(), waiting.ID); j.Status != Processing {
		t.Fatalf("after a stop the job is %s, want Processing (handed back)", j.Status)
	}
	s.current().dests["customers-v3"] = []outbox.Destination{f.Destination}
	s.stop = nil
	if err := s.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	j, _ := s.journal.Get(context.Background(), waiting.ID)
	if j.Status != Processed || len(j.Outputs) != 1 || exists(waiting.ClaimedPath) {
		t.Errorf("after restart: %s, %d outputs, claimed still there: %v", j.Status, len(j.Outputs), exists(waiting.ClaimedPath))
	}
}

func TestRecover(t *testing.T) {
	ctx := context.Background()
	t.Run("claimed file without a record", func(t *testing.T) {
		s, ws := newService(t, "")
		dir := filepath.Join(ws.Claimed(), "customers-v3", "20260101-000000-abcd")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "c.csv"), sampleBytes(t), 0o644)
		empty := filepath.Join(ws.Claimed(), "customers-v3", "20260101-000000-ffff") // crash between mkdir and rename
		os.MkdirAll(empty, 0o755)
		if err := s.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		j, err := s.journal.Get(ctx, "20260101-000000-abcd")
		if err != nil || j.Status != Processed || j.Input != "c.csv" {
			t.Fatalf("%v %+v", err, j)
		}
		if exists(dir) || exists(empty) {
			t.Error("claim folders left behind")
		}
	})
	t.Run("crash between the end and the move", func(t *testing.T) {
		s, ws := newService(t, "")
		job, _ := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
		// Put the input back where it was claimed, as if the move had not happened.
		os.MkdirAll(filepath.Dir(job.ClaimedPath), 0o755)
		if err := os.Rename(job.FinalPath, job.ClaimedPath); err != nil {
			t.Fatal(err)
		}
		job.Status = Processing
		s.journal.Put(ctx, job)
		runs := countRuns(s)
		if err := s.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		j, _ := s.journal.Get(ctx, job.ID)
		if j.Status != Processed || *runs != 0 || !exists(job.FinalPath) || exists(job.ClaimedPath) || len(j.Outputs) != 1 {
			t.Errorf("status %s, runs %d, archived %v, claimed %v, outputs %d", j.Status, *runs, exists(job.FinalPath), exists(job.ClaimedPath), len(j.Outputs))
		}
	})
	t.Run("crash after the move", func(t *testing.T) {
		s, ws := newService(t, "")
		job, _ := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
		job.Status = Processing
		s.journal.Put(ctx, job)
		if err := s.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		if j, _ := s.journal.Get(ctx, job.ID); j.Status != Processed {
			t.Errorf("status %s", j.Status)
		}
	})
	t.Run("crash mid-run", func(t *testing.T) {
		s, ws := newService(t, "")
		cctx, cancel := context.WithCancel(ctx)
		s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
			cancel() // the process dies here
			<-ctx.Done()
			return nil, ctx.Err()
		}
		job, err := s.Take(cctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
		if err == nil || job.Status == Processed {
			t.Fatalf("interrupted job: %v %+v", err, job)
		}
		s.run = (*transform.Template).RunWith
		if err := s.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		j, _ := s.journal.Get(ctx, job.ID)
		if j.Status != Processed || len(j.Outputs) != 1 {
			t.Errorf("resumed job %s with %d outputs", j.Status, len(j.Outputs))
		}
	})
}

func TestJournalList(t *testing.T) {
	j, err := OpenJournal(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	for i, st := range []Status{Processed, Failed, Processing, Processed} {
		job := &Job{ID: NewID(base.Add(time.Duration(i) * time.Hour)), Pipeline: []string{"a", "b"}[i%2], Input: "f", Status: st,
			Created: base.Add(time.Duration(i) * time.Hour), InputSHA256: "sum"}
		if err := j.Put(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	count := func(f Filter) int {
		l, err := j.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	for _, tc := range []struct {
		f    Filter
		want int
	}{
		{Filter{}, 4}, {Filter{Status: Processed}, 2}, {Filter{Pipeline: "b"}, 2},
		{Filter{Since: base.Add(90 * time.Minute)}, 2}, {Filter{Limit: 3}, 3},
	} {
		if got := count(tc.f); got != tc.want {
			t.Errorf("List(%+v) = %d jobs, want %d", tc.f, got, tc.want)
		}
	}
	l, _ := j.List(ctx, Filter{Limit: 2})
	if !l[0].Created.Before(l[1].Created) || !l[1].Created.Equal(base.Add(3*time.Hour)) {
		t.Errorf("Limit keeps the newest, oldest first: %v, %v", l[0].Created, l[1].Created)
	}
	if u, _ := j.Unfinished(ctx); len(u) != 1 {
		t.Errorf("Unfinished = %d", len(u))
	}
	if _, err := j.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown: %v", err)
	}
	// In pipeline b the Failed job (1h) comes before the Processed one (3h).
	if prev, _ := j.FindContent(ctx, "b", "sum", ""); prev == nil || prev.Status != Processed || !prev.Created.Equal(base.Add(3*time.Hour)) {
		t.Errorf("FindContent ignores Failed jobs: %+v", prev)
	}
	// A Duplicate before a Processed job is passed over too.
	for i, st := range []Status{Duplicate, Processed} {
		job := &Job{ID: NewID(base.Add(time.Duration(10+i) * time.Hour)), Pipeline: "c", Input: "f", Status: st,
			Created: base.Add(time.Duration(10+i) * time.Hour), InputSHA256: "sum"}
		if err := j.Put(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	if prev, _ := j.FindContent(ctx, "c", "sum", ""); prev == nil || prev.Status != Processed {
		t.Errorf("FindContent ignores Duplicate jobs: %+v", prev)
	}
}

// TestJournalOrdersWithinASecond checks that jobs created within one
// second list in creation order: times are stored with all nine decimals,
// so that 08:00:00.12 sorts before 08:00:00.1234 as text.
func TestJournalOrdersWithinASecond(t *testing.T) {
	j, err := OpenJournal(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	for i, d := range []time.Duration{120 * time.Millisecond, 123400 * time.Microsecond, 0} {
		job := &Job{ID: fmt.Sprintf("job%d", i), Pipeline: "a", Input: "f", Status: Processed, Created: base.Add(d)}
		if err := j.Put(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	l, err := j.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, job := range l {
		got = append(got, job.ID)
	}
	if strings.Join(got, " ") != "job2 job0 job1" {
		t.Errorf("order %v, want job2 job0 job1 (by creation time)", got)
	}
}
