package jobs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpipe/erpipe/transform"
)

// lockedBuffer is a log sink that goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// customersCSV returns a customers-v3 file of n rows.
func customersCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Account,Name,Customer group,Currency,Credit limit,Payment terms\n")
	for i := range n {
		fmt.Fprintf(&b, "P%06d,Progress %d,10,EUR,%d.00,30\n", i, i, i)
	}
	return b.Bytes()
}

// TestJobRecordsProgress: while a job runs, its record in the journal says
// how many rows and bytes it has read (erpipe jobs shows it), the daemon
// logs progress lines, and once the job has ended the record holds the
// totals and no progress. The run is slowed where it reports its rows, and
// waits there until the journal shows them: no timing is asserted.
func TestJobRecordsProgress(t *testing.T) {
	s, ws := newService(t, "")
	var logs lockedBuffer
	s.log = slog.New(slog.NewTextHandler(&logs, nil))
	s.ProgressEvery, s.ProgressLogEvery = 10*time.Millisecond, time.Nanosecond
	var seen *Job // the record as it was while the job ran
	s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
		id := filepath.Base(filepath.Dir(in)) // .erpipe/claimed/<pipeline>/<job id>/<name>
		report := o.OnProgress
		o.OnProgress = func(read int) {
			report(read)
			if seen != nil {
				return
			}
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if j, err := s.journal.Get(ctx, id); err == nil && j.Progress != nil && j.Progress.Rows >= read {
					seen = j
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		return tm.RunWith(ctx, in, out, o)
	}
	data := customersCSV(25000)
	job, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "big.csv", data))
	if err != nil {
		t.Fatal(err)
	}
	if seen == nil {
		t.Fatal("the journal never showed the job's progress while it ran")
	}
	p := seen.Progress
	if seen.Status != Processing || p.Rows < 10000 || p.Bytes <= 0 || p.Bytes > int64(len(data)) || p.At.Before(seen.Started) {
		t.Errorf("while it ran the record said %s, progress %+v (started %v); want Processing, at least 10000 rows and some of the %d bytes",
			seen.Status, p, seen.Started, len(data))
	}
	if job.Status != Processed || job.Read != 25000 {
		t.Fatalf("job %s, %d read", job.Status, job.Read)
	}
	final, err := s.journal.Get(context.Background(), job.ID)
	if err != nil || final.Progress != nil || final.Read != 25000 {
		t.Errorf("once ended the record says progress %+v, %d read (%v); want the totals and no progress", final.Progress, final.Read, err)
	}
	if !strings.Contains(logs.String(), "msg=progress job="+job.ID) || !strings.Contains(logs.String(), "rows=") {
		t.Errorf("no progress line in the log:\n%s", logs.String())
	}
}

// TestProgressText: what erpipe jobs says of a running job's progress.
func TestProgressText(t *testing.T) {
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		p    Progress
		size int64
		want string
	}{
		{Progress{Rows: 410000, Bytes: 12_300_000, At: start.Add(50 * time.Second)}, 27_300_000, "410000 rows, 8200 rows/s, 45% of 27.3 MB"},
		{Progress{Rows: 20000, At: start.Add(4 * time.Second)}, 5_000_000, "20000 rows, 5000 rows/s"}, // a workbook: no bytes
		{Progress{Rows: 0, Bytes: 900, At: start.Add(time.Second)}, 1000, "0 rows, 90% of 1.0 kB"},
		{Progress{Rows: 10, Bytes: 900, At: start}, 0, "10 rows"},
	} {
		if got := tt.p.String(start, tt.size); got != tt.want {
			t.Errorf("%+v of %d bytes: %q, want %q", tt.p, tt.size, got, tt.want)
		}
	}
}

// TestRetryNote: a retried input is processed again with a note naming the
// job it retries, not an error; an allowance made for a failed job's input
// is used by its retry, so that it does not let a later copy through the
// duplicate check; and a retried job resumed after a crash is not taken
// for a duplicate of the job it retries.
func TestRetryNote(t *testing.T) {
	s, ws := newService(t, "")
	ctx := context.Background()
	bad := bytes.Replace(sampleBytes(t), []byte("Account,"), []byte("Acount,"), 1)
	failedJob, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", bad))
	if err != nil || failedJob.Status != Failed {
		t.Fatalf("a file without its Account column: %v %+v", err, failedJob)
	}
	if err := s.journal.Allow(ctx, "customers-v3", failedJob.InputSHA256, failedJob.ID); err != nil {
		t.Fatal(err)
	}
	retried, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", bad))
	if err != nil {
		t.Fatal(err)
	}
	if retried.RetryOf != failedJob.ID || len(retried.Notes) != 1 || !strings.Contains(retried.Notes[0], "a retry of job "+failedJob.ID) {
		t.Errorf("the retry says retry of %q, notes %q", retried.RetryOf, retried.Notes)
	}
	if _, ok, err := s.journal.TakeAllowance(ctx, "customers-v3", failedJob.InputSHA256); ok || err != nil {
		t.Errorf("the allowance is still there after the retry (%v)", err)
	}

	// A retry of a processed job, which crashes and is resumed.
	good, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "g.csv", sampleBytes(t)))
	if err != nil || good.Status != Processed {
		t.Fatalf("%v %+v", err, good)
	}
	if err := s.journal.Allow(ctx, "customers-v3", good.InputSHA256, good.ID); err != nil {
		t.Fatal(err)
	}
	// The first run is stopped (a daemon's stop hands the job back).
	stopCtx, stop := context.WithCancel(ctx)
	s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
		stop()
		return nil, ctx.Err()
	}
	if _, err := s.Take(stopCtx, "customers-v3", dropFile(t, ws, "customers-v3", "g.csv", sampleBytes(t))); err == nil {
		t.Fatal("the interrupted run ended its job")
	}
	s.run = (*transform.Template).RunWith
	unfinished, err := s.journal.Unfinished(ctx)
	if err != nil || len(unfinished) != 1 {
		t.Fatalf("unfinished jobs: %v %d", err, len(unfinished))
	}
	if err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	resumed, err := s.journal.Get(ctx, unfinished[0].ID)
	if err != nil || resumed.Status != Processed || resumed.RetryOf != good.ID || len(resumed.Notes) != 1 {
		t.Errorf("the resumed retry: %v %s, retry of %q, notes %q", err, resumed.Status, resumed.RetryOf, resumed.Notes)
	}
	if err := os.Remove(resumed.FinalPath); err != nil {
		t.Errorf("the resumed retry's input is not archived: %v", err)
	}
}
