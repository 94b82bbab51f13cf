package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A job that runs for a while says how far it is: about once a second the
// rows and bytes of input read so far are written into its record in the
// journal (erpipe jobs and jobs show print them, with a rate), and about
// every quarter of a minute the daemon logs a progress line. Nothing is
// written for a job that has not moved since the last time, and nothing per
// row: the run counts into two atomic counters, which a goroutine of the
// job's own looks at.

// Progress is how far a running job has read its input.
type Progress struct {
	Rows  int       `json:"rows"`            // records read so far (counted in steps of 10,000)
	Bytes int64     `json:"bytes,omitempty"` // bytes of the input read so far; 0 where the reader can't tell (a workbook)
	At    time.Time `json:"at"`              // when it was recorded
}

// Rate returns the rows read per second since the job started, or 0
// when that can't be told yet.
func (p *Progress) Rate(started time.Time) float64 {
	secs := p.At.Sub(started).Seconds()
	if p.Rows == 0 || started.IsZero() || secs <= 0 {
		return 0
	}
	return float64(p.Rows) / secs
}

// Percent returns how much of an input of size bytes has been read, 0 to
// 100, or -1 when the reader can't tell.
func (p *Progress) Percent(size int64) int {
	if p.Bytes <= 0 || size <= 0 {
		return -1
	}
	return int(min(100, p.Bytes*100/size))
}

// String says the progress for people: "410000 rows, 8200 rows/s, 45% of
// 27.3 MB".
func (p *Progress) String(started time.Time, size int64) string {
	s := fmt.Sprintf("%d rows", p.Rows)
	if r := p.Rate(started); r > 0 {
		s += fmt.Sprintf(", %.0f rows/s", r)
	}
	if pct := p.Percent(size); pct >= 0 {
		s += fmt.Sprintf(", %d%% of %s", pct, Bytes(size))
	}
	return s
}

// Bytes says a size for people: 512 B, 27.3 MB.
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// RecordProgress writes p into the record of job id while it is
// Processing; a job that has moved on is left as it is. Only the progress
// changes, so that a writer of the rest of the record is never undone.
func (j *Journal) RecordProgress(ctx context.Context, id string, p Progress) error {
	if err := j.fault.Load(); err != nil {
		return fmt.Errorf("journal: record the progress of job %s: %w", id, *err)
	}
	js, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if j.pg {
		q := `UPDATE jobs SET body = jsonb_set(body::jsonb, '{progress}', ?::jsonb)::text WHERE id = ? AND status = ?`
		args := []any{string(js), id, string(Processing)}
		if f := fenceOf(ctx, id); f != nil {
			q, args = q+` AND attempt = ?`, append(args, f.attempt)
		}
		_, err = j.db.ExecContext(ctx, q, args...)
	} else {
		_, err = j.db.ExecContext(ctx, `UPDATE jobs SET body = json_set(body, '$.progress', json(?)) WHERE id = ? AND status = ?`,
			string(js), id, string(Processing))
	}
	if err != nil {
		return fmt.Errorf("journal: record the progress of job %s: %w", id, err)
	}
	return nil
}

// progressTracker follows one run of a job: the run counts rows and bytes
// into it, and its goroutine records them (trackProgress).
type progressTracker struct {
	rows  atomic.Int64
	bytes atomic.Int64
	done  chan struct{}
	wg    sync.WaitGroup
}

// onRows is the run's transform.RunOptions.OnProgress.
func (p *progressTracker) onRows(read int) { p.rows.Store(int64(read)) }

// stop ends the recording and waits for it.
func (p *progressTracker) stop() {
	close(p.done)
	p.wg.Wait()
}

// Default intervals of progress records and lines (Service.ProgressEvery,
// Service.ProgressLogEvery).
const (
	defaultProgressEvery    = time.Second
	defaultProgressLogEvery = 15 * time.Second
)

// trackProgress starts recording the progress of job's run until the
// tracker is stopped. The goroutine reads nothing of job but what it
// copies now, so that the run's owner may change job once it is stopped.
func (s *Service) trackProgress(ctx context.Context, job *Job) *progressTracker {
	p := &progressTracker{done: make(chan struct{})}
	id, pipeline, input, size, started := job.ID, job.Pipeline, job.Input, job.InputSize, job.Started
	every, logEvery := cmp.Or(s.ProgressEvery, defaultProgressEvery), cmp.Or(s.ProgressLogEvery, defaultProgressLogEvery)
	p.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		var last Progress
		lastLog, failed := started, false
		for {
			select {
			case <-p.done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			cur := Progress{Rows: int(p.rows.Load()), Bytes: p.bytes.Load(), At: s.Now()}
			if cur.Rows == last.Rows && cur.Bytes == last.Bytes {
				continue
			}
			if err := s.journal.RecordProgress(ctx, id, cur); err != nil {
				if !failed { // said once: the job's own records say the rest
					s.log.Warn("could not record the job's progress", "job", id, "err", err)
				}
				failed = true
				continue
			}
			last, failed = cur, false
			if cur.At.Sub(lastLog) >= logEvery {
				lastLog = cur.At
				args := []any{"job", id, "pipeline", pipeline, "file", input, "rows", cur.Rows, "rows_per_s", int(cur.Rate(started))}
				if pct := cur.Percent(size); pct >= 0 {
					args = append(args, "read", fmt.Sprintf("%d%% of %s", pct, Bytes(size)))
				}
				s.log.Info("progress", args...)
			}
		}
	})
	return p
}
