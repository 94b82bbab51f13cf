package metrics

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/jobs"
)

// The series read from the daemon's state at each scrape.
var (
	descJobs = prometheus.NewDesc("erpipe_jobs",
		"Jobs in the journal, by pipeline (a schedule's jobs under its name) and status.", []string{"pipeline", "status"}, nil)
	descRowsRead = prometheus.NewDesc("erpipe_rows_read_total",
		"Rows read by the jobs that ended, by pipeline.", []string{"pipeline"}, nil)
	descRowsWritten = prometheus.NewDesc("erpipe_rows_written_total",
		"Rows written by the jobs that ended, by pipeline.", []string{"pipeline"}, nil)
	descRowsRejected = prometheus.NewDesc("erpipe_rows_rejected_total",
		"Rows rejected by the jobs that ended, by pipeline.", []string{"pipeline"}, nil)
	descDuration = prometheus.NewDesc("erpipe_job_duration_seconds",
		"Time from a job's start to its end, of the jobs that ended, by pipeline.", []string{"pipeline"}, nil)
	descQueue = prometheus.NewDesc("erpipe_queue_depth",
		"Jobs claimed and not ended (Enqueued or Processing), by pipeline.", []string{"pipeline"}, nil)
	descSettling = prometheus.NewDesc("erpipe_inbox_files_waiting",
		"Files in a pipeline's inbox that are not ready yet (settling, waiting for their marker, open for writing).", []string{"pipeline"}, nil)
	descDestWaiting = prometheus.NewDesc("erpipe_destination_waiting_jobs",
		"Jobs waiting for an unavailable destination now, by pipeline.", []string{"pipeline"}, nil)
	descDestRetries = prometheus.NewDesc("erpipe_destination_retries_total",
		"Deliveries tried again because a destination was unavailable, by pipeline.", []string{"pipeline"}, nil)
	descLateness = prometheus.NewDesc("erpipe_schedule_lateness_seconds",
		"How long the oldest period of a schedule that is due and not produced has been due; 0 when none is.", []string{"schedule"}, nil)
	descPeriods = prometheus.NewDesc("erpipe_schedule_periods",
		"Periods of a schedule by the status of their latest version.", []string{"schedule", "status"}, nil)
	descWebhook = prometheus.NewDesc("erpipe_webhook_deliveries",
		"Deliveries of events in the outbox, by webhook and status (pending is the backlog).", []string{"webhook", "status"}, nil)
	descWebhookAge = prometheus.NewDesc("erpipe_webhook_oldest_pending_seconds",
		"Age of the oldest event not yet delivered to a webhook; 0 when none waits.", []string{"webhook"}, nil)
	descScrapeError = prometheus.NewDesc("erpipe_scrape_errors",
		"Parts of the daemon's state that could not be read at this scrape (1), by part.", []string{"part"}, nil)
)

// collector reads the daemon's state when scraped. The stats of jobs
// that ended are kept (settled): a scrape reads only the journal's
// records after them, so that its cost follows the recent and running
// jobs, not the journal's length.
type collector struct {
	src Sources

	mu        sync.Mutex
	settledAt int64 // the journal's position up to which settled holds the stats
	settled   map[string]*jobs.Stats
}

// jobStats returns the stats of every pipeline's jobs: those kept, those
// that ended since (then kept too), and the rest.
func (c *collector) jobStats(ctx context.Context) (map[string]*jobs.Stats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.settled == nil {
		c.settled = map[string]*jobs.Stats{}
	}
	upTo, err := c.src.Journal.Settled(ctx)
	if err != nil {
		return nil, err
	}
	if upTo > c.settledAt {
		ended, err := c.src.Journal.Stats(ctx, DurationBuckets, c.settledAt, upTo)
		if err != nil {
			return nil, err
		}
		merge(c.settled, ended)
		c.settledAt = upTo
	}
	rest, err := c.src.Journal.Stats(ctx, DurationBuckets, c.settledAt, -1)
	if err != nil {
		return nil, err
	}
	out := map[string]*jobs.Stats{}
	merge(out, c.settled)
	merge(out, rest)
	return out, nil
}

// merge adds the stats of from into into, by pipeline.
func merge(into, from map[string]*jobs.Stats) {
	for p, st := range from {
		if into[p] == nil {
			into[p] = &jobs.Stats{Pipeline: p, Jobs: map[jobs.Status]int{}, Durations: make([]uint64, len(st.Durations))}
		}
		into[p].Add(st)
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descRowsRead, descRowsWritten, descRowsRejected, descDuration, descQueue,
		descSettling, descDestWaiting, descDestRetries, descLateness, descPeriods, descWebhook, descWebhookAge, descScrapeError} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	failed := func(part string, err error) {
		c.src.Log.Warn("metrics: could not read the daemon's state", "part", part, "err", err)
		ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, 1, part)
	}
	if err := c.jobs(ch); err != nil {
		failed("jobs", err)
	}
	if err := c.schedules(ch); err != nil {
		failed("schedules", err)
	}
	if err := c.webhooks(ch); err != nil {
		failed("webhooks", err)
	}
	if c.src.Service != nil {
		for p, n := range c.src.Service.InboxWaiting() {
			ch <- prometheus.MustNewConstMetric(descSettling, prometheus.GaugeValue, float64(n), p)
		}
	}
}

func (c *collector) jobs(ch chan<- prometheus.Metric) error {
	ctx, cancel := scrapeContext()
	defer cancel()
	stats, err := c.jobStats(ctx)
	if err != nil {
		return err
	}
	for p, st := range stats {
		for _, s := range jobs.Statuses {
			ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(st.Jobs[s]), p, string(s))
		}
		ch <- prometheus.MustNewConstMetric(descRowsRead, prometheus.CounterValue, float64(st.Read), p)
		ch <- prometheus.MustNewConstMetric(descRowsWritten, prometheus.CounterValue, float64(st.Written), p)
		ch <- prometheus.MustNewConstMetric(descRowsRejected, prometheus.CounterValue, float64(st.Rejected), p)
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Jobs[jobs.Enqueued]+st.Jobs[jobs.Processing]), p)
		ch <- prometheus.MustNewConstMetric(descDestWaiting, prometheus.GaugeValue, float64(st.Waiting), p)
		ch <- prometheus.MustNewConstMetric(descDestRetries, prometheus.CounterValue, float64(st.DeliveryRetries), p)
		buckets := make(map[float64]uint64, len(DurationBuckets))
		for i, le := range DurationBuckets {
			buckets[le] = st.Durations[i]
		}
		ch <- prometheus.MustNewConstHistogram(descDuration, st.Count, st.DurationsTotal, buckets, p)
	}
	return nil
}

func (c *collector) schedules(ch chan<- prometheus.Metric) error {
	ctx, cancel := scrapeContext()
	defer cancel()
	runs, err := c.src.Journal.Runs(ctx)
	if err != nil {
		return err
	}
	list, err := runs.List(ctx, "")
	if err != nil {
		return err
	}
	now := c.src.Now()
	latest := map[[2]string]*jobs.Run{} // the latest version of each period
	lateness := map[string]float64{}
	for _, r := range list {
		latest[[2]string{r.Schedule, r.Period}] = r // List orders versions
		lateness[r.Schedule] += 0
	}
	counts := map[string]map[jobs.RunStatus]int{}
	for _, r := range latest {
		if counts[r.Schedule] == nil {
			counts[r.Schedule] = map[jobs.RunStatus]int{}
		}
		counts[r.Schedule][r.Status]++
		if r.Status != jobs.RunProduced && !r.Due.IsZero() {
			lateness[r.Schedule] = max(lateness[r.Schedule], now.Sub(r.Due).Seconds())
		}
	}
	for s, late := range lateness {
		ch <- prometheus.MustNewConstMetric(descLateness, prometheus.GaugeValue, max(late, 0), s)
		for _, st := range []jobs.RunStatus{jobs.RunDue, jobs.RunRunning, jobs.RunProduced, jobs.RunFailed} {
			ch <- prometheus.MustNewConstMetric(descPeriods, prometheus.GaugeValue, float64(counts[s][st]), s, string(st))
		}
	}
	return nil
}

func (c *collector) webhooks(ch chan<- prometheus.Metric) error {
	ctx, cancel := scrapeContext()
	defer cancel()
	backlogs, err := c.src.Journal.Events().Backlogs(ctx)
	if err != nil {
		return err
	}
	now := c.src.Now()
	for _, b := range backlogs {
		for _, st := range []events.DeliveryStatus{events.Pending, events.Delivered, events.GivenUp, events.Dropped} {
			ch <- prometheus.MustNewConstMetric(descWebhook, prometheus.GaugeValue, float64(b.ByStatus[st]), b.Webhook, string(st))
		}
		age := 0.0
		if !b.OldestPending.IsZero() {
			age = max(now.Sub(b.OldestPending), 0).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(descWebhookAge, prometheus.GaugeValue, age, b.Webhook)
	}
	return nil
}
