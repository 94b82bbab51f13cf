package jobs

import (
	"context"
	"fmt"
	"strings"
)

// Stats are what the journal says of one pipeline's jobs (a schedule's
// jobs are under the schedule's name), for metrics: read from the journal
// at each scrape rather than counted as jobs go.
type Stats struct {
	Pipeline string
	Jobs     map[Status]int // by status
	// Read, Written and Rejected are the rows of the jobs that ended.
	Read, Written, Rejected int64
	// DeliveryRetries are the deliveries tried again because a
	// destination was unavailable, over all jobs.
	DeliveryRetries int64
	// Waiting counts the jobs that wait for a destination now.
	Waiting int
	// Durations is the histogram of the ended jobs' time from start to
	// end, in seconds: how many took at most each of the buckets given to
	// Stats (cumulative), their count and their sum.
	Durations      []uint64
	Count          uint64
	DurationsTotal float64
}

// Stats returns the stats of every pipeline that has jobs, with job
// durations counted into buckets (upper bounds in seconds, ascending),
// over the records in the journal's order after the position after and
// up to upTo (-1: to the end). Settled says up to where every record has
// ended, and will not change: a caller can keep the stats up to there and
// read only what comes after at its next call.
func (j *Journal) Stats(ctx context.Context, buckets []float64, after, upTo int64) (map[string]*Stats, error) {
	var b strings.Builder
	for _, le := range buckets {
		fmt.Fprintf(&b, ", SUM(CASE WHEN d <= %g THEN 1 ELSE 0 END)", le)
	}
	// Materialized, so that each record is parsed once, not once for
	// each column that reads it.
	q := `WITH x AS MATERIALIZED (SELECT pipeline, status, ended,
			CASE WHEN ended THEN json_extract(body, '$.rows_read') END AS read,
			CASE WHEN ended THEN json_extract(body, '$.rows_written') END AS written,
			CASE WHEN ended THEN json_extract(body, '$.rows_rejected') END AS rejected,
			json_extract(body, '$.delivery_retries') AS retries,
			status = 'Processing' AND COALESCE(json_array_length(body, '$.pending'), 0) > 0 AS waiting,
			CASE WHEN ended THEN MAX(0, (julianday(json_extract(body, '$.finished')) - julianday(json_extract(body, '$.started'))) * 86400.0) END AS d
			FROM (SELECT pipeline, status, body, status IN ('Processed', 'ProcessedWithErrors', 'Failed', 'Duplicate') AS ended FROM jobs
				WHERE rowid > ? AND (? < 0 OR rowid <= ?)))
		SELECT pipeline, status, COUNT(*), COALESCE(SUM(read), 0), COALESCE(SUM(written), 0), COALESCE(SUM(rejected), 0),
			COALESCE(SUM(retries), 0), COALESCE(SUM(waiting), 0), COUNT(d), COALESCE(SUM(d), 0)` + b.String() + `
		FROM x GROUP BY pipeline, status`
	rows, err := j.db.QueryContext(ctx, q, after, upTo, upTo)
	if err != nil {
		return nil, j.dbError(err)
	}
	defer rows.Close()
	out := map[string]*Stats{}
	for rows.Next() {
		var pipeline, status string
		var n, waiting int
		var read, written, rejected, retries int64
		var count uint64
		var sum float64
		le := make([]uint64, len(buckets))
		dest := []any{&pipeline, &status, &n, &read, &written, &rejected, &retries, &waiting, &count, &sum}
		for i := range le {
			dest = append(dest, &le[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, j.dbError(err)
		}
		st := out[pipeline]
		if st == nil {
			st = &Stats{Pipeline: pipeline, Jobs: map[Status]int{}, Durations: make([]uint64, len(buckets))}
			out[pipeline] = st
		}
		st.Jobs[Status(status)] += n
		st.Read, st.Written, st.Rejected = st.Read+read, st.Written+written, st.Rejected+rejected
		st.DeliveryRetries += retries
		st.Waiting += waiting
		st.Count, st.DurationsTotal = st.Count+count, st.DurationsTotal+sum
		for i := range le {
			st.Durations[i] += le[i]
		}
	}
	if err := rows.Err(); err != nil {
		return nil, j.dbError(err)
	}
	return out, nil
}

// Settled returns the position in the journal's order up to which every
// job has ended: a job that ended is not changed again, and new jobs come
// after the last.
func (j *Journal) Settled(ctx context.Context) (int64, error) {
	var n int64
	err := j.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT MIN(rowid) FROM jobs WHERE status IN (?, ?)) - 1,
		(SELECT MAX(rowid) FROM jobs), 0)`, string(Enqueued), string(Processing)).Scan(&n)
	if err != nil {
		return 0, j.dbError(err)
	}
	return n, nil
}

// Add adds the stats o to s (of the same pipeline and buckets).
func (s *Stats) Add(o *Stats) {
	for st, n := range o.Jobs {
		s.Jobs[st] += n
	}
	s.Read, s.Written, s.Rejected = s.Read+o.Read, s.Written+o.Written, s.Rejected+o.Rejected
	s.DeliveryRetries += o.DeliveryRetries
	s.Waiting += o.Waiting
	s.Count, s.DurationsTotal = s.Count+o.Count, s.DurationsTotal+o.DurationsTotal
	for i := range o.Durations {
		s.Durations[i] += o.Durations[i]
	}
}

// InboxWaiting returns, by pipeline, how many files sit in its inbox not
// ready yet (settling, waiting for a marker, open for writing); nil while
// the daemon is not watching.
func (s *Service) InboxWaiting() map[string]int {
	if w := s.watcher.Load(); w != nil {
		return w.Waiting()
	}
	return nil
}
