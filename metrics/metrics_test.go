package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

const sample = "../templates/customers-v3/samples/customers.csv"

// daemon is a real jobs.Service on a temporary workspace, and its metrics.
func daemon(t testing.TB, cfg string) (*jobs.Service, *jobs.Journal, *workspace.Workspace, *Metrics) {
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
	j, err := jobs.OpenJournal(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := jobs.NewService(ws, j, log)
	if err != nil {
		t.Fatal(err)
	}
	return svc, j, ws, New(Sources{Journal: j, Service: svc, Log: log})
}

func drop(t testing.TB, ws *workspace.Workspace, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(ws.Inbox("customers-v3"), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// value is the value of the series name{labels} in m's registry; -1 when
// there is none.
func value(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, s := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range s.GetLabel() {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				if !found {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}

func lint(t *testing.T, m *Metrics) {
	t.Helper()
	problems, err := testutil.GatherAndLint(m.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestMetricsMoveWithJobs: the series follow a real service's jobs, and
// the exposition passes client_golang's linter before and after.
func TestMetricsMoveWithJobs(t *testing.T) {
	t.Setenv(events.DefaultSecretEnv, "a-secret-of-sixteen-or-more")
	svc, j, ws, m := daemon(t, "webhooks:\n  - name: erp\n    url: http://127.0.0.1:1/hook\n")
	lint(t, m)
	if v := value(t, m, "erpipe_jobs", "pipeline", "customers-v3", "status", "Processed"); v != -1 {
		t.Errorf("before any job: erpipe_jobs = %v; want no series", v)
	}
	ctx := context.Background()
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Take(ctx, "customers-v3", drop(t, ws, "a.csv", data)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Take(ctx, "customers-v3", drop(t, ws, "bad.csv", []byte("Nothing,Here\n1,2\n"))); err != nil {
		t.Fatal(err)
	}
	lint(t, m)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"erpipe_jobs", []string{"pipeline", "customers-v3", "status", "Processed"}, 1},
		{"erpipe_jobs", []string{"pipeline", "customers-v3", "status", "Failed"}, 1},
		{"erpipe_jobs", []string{"pipeline", "customers-v3", "status", "Processing"}, 0},
		{"erpipe_rows_read_total", []string{"pipeline", "customers-v3"}, 10},
		{"erpipe_rows_written_total", []string{"pipeline", "customers-v3"}, 10},
		{"erpipe_rows_rejected_total", []string{"pipeline", "customers-v3"}, 0},
		{"erpipe_job_duration_seconds", []string{"pipeline", "customers-v3"}, 2},
		{"erpipe_queue_depth", []string{"pipeline", "customers-v3"}, 0},
		{"erpipe_destination_waiting_jobs", []string{"pipeline", "customers-v3"}, 0},
		{"erpipe_destination_retries_total", []string{"pipeline", "customers-v3"}, 0},
		{"erpipe_webhook_deliveries", []string{"webhook", "erp", "status", "pending"}, 2},
	}
	for _, tt := range tests {
		if got := value(t, m, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v; want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if age := value(t, m, "erpipe_webhook_oldest_pending_seconds", "webhook", "erp"); age < 0 || age > 60 {
		t.Errorf("oldest pending event: %v s", age)
	}

	// A job claimed and not ended is queued; one waiting for a destination
	// is counted as waiting.
	waiting := &jobs.Job{ID: "20260101-000000-aaaaaa", Pipeline: "customers-v3", Input: "w.csv", Status: jobs.Processing,
		Created: time.Now(), Pending: []string{"w.zip -> s3://x: unavailable"}, DeliveryRetries: 3}
	if err := j.Put(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	if got := value(t, m, "erpipe_queue_depth", "pipeline", "customers-v3"); got != 1 {
		t.Errorf("queue depth %v; want 1", got)
	}
	if got := value(t, m, "erpipe_destination_waiting_jobs", "pipeline", "customers-v3"); got != 1 {
		t.Errorf("waiting jobs %v; want 1", got)
	}
	if got := value(t, m, "erpipe_destination_retries_total", "pipeline", "customers-v3"); got != 3 {
		t.Errorf("destination retries %v; want 3", got)
	}
	lint(t, m)
}

// TestScheduleLateness: a period due an hour ago and not produced is an
// hour late; produced, it is not late.
func TestScheduleLateness(t *testing.T) {
	_, j, _, m := daemon(t, "")
	ctx := context.Background()
	runs, err := j.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-time.Hour)
	if _, err := runs.Plan(ctx, "monthly", []jobs.Run{{Period: "2026-10", Start: "2026-10-01", Due: due}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if late := value(t, m, "erpipe_schedule_lateness_seconds", "schedule", "monthly"); late < 3590 || late > 3700 {
		t.Errorf("lateness %v s; want about an hour", late)
	}
	run, err := runs.Claim(ctx, "monthly", "2026-10", "2026-10-01", false, "test", "job1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run.Status = jobs.RunProduced
	if err := runs.Finish(ctx, run); err != nil {
		t.Fatal(err)
	}
	if late := value(t, m, "erpipe_schedule_lateness_seconds", "schedule", "monthly"); late != 0 {
		t.Errorf("lateness %v s once produced; want 0", late)
	}
	if n := value(t, m, "erpipe_schedule_periods", "schedule", "monthly", "status", "Produced"); n != 1 {
		t.Errorf("produced periods %v; want 1", n)
	}
	lint(t, m)
}

// TestHTTPMiddleware: requests through the middleware, served by a real
// server on 127.0.0.1, are counted by client and status, and /metrics
// serves the text format.
func TestHTTPMiddleware(t *testing.T) {
	_, _, _, m := daemon(t, "")
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusTooManyRequests) })
	mux.HandleFunc("/authed", func(w http.ResponseWriter, r *http.Request) {
		SetClient(r.Context(), "token-"+r.URL.Query().Get("as"))
		w.WriteHeader(http.StatusAccepted)
	})
	mux.Handle("/metrics", m.Handler())
	clientOf := func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	srv := httptest.NewServer(m.Middleware(clientOf, mux))
	defer srv.Close()
	get := func(path, client string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Test-Client", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for range 3 {
		get("/ok", "erp")
	}
	get("/busy", "low")
	get("/ok", "")
	get("/authed?as=high", "ignored")
	tests := []struct {
		client, code string
		want         float64
	}{{"erp", "200", 3}, {"low", "429", 1}, {"anonymous", "200", 1}, {"token-high", "202", 1}}
	for _, tt := range tests {
		if got := value(t, m, "erpipe_http_requests_total", "client", tt.client, "code", tt.code); got != tt.want {
			t.Errorf("requests of %s with %s: %v; want %v", tt.client, tt.code, got, tt.want)
		}
	}
	body := get("/metrics", "prometheus")
	for _, want := range []string{"# TYPE erpipe_http_requests_total counter", `erpipe_http_requests_total{client="erp",code="200"} 3`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics does not contain %q", want)
		}
	}
	lint(t, m)
}

// TestSettledStats: the stats kept of ended jobs and those read after
// them add up to what the whole journal says, as jobs come and end
// between scrapes.
func TestSettledStats(t *testing.T) {
	_, j, _, m := daemon(t, "")
	ctx := context.Background()
	put := func(i int, st jobs.Status) {
		now := time.Now()
		job := &jobs.Job{ID: fmt.Sprintf("20260101-000000-%06x", i), Pipeline: "p", Input: "x.csv", Status: st,
			Created: now, Started: now, Read: 10, Written: 10}
		if st.Final() {
			job.Finished = now.Add(time.Second)
		}
		if err := j.Put(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		do          func()
		ended, open float64
	}{
		{func() { put(1, jobs.Processed); put(2, jobs.Processed) }, 2, 0},
		{func() { put(3, jobs.Processing); put(4, jobs.Processed) }, 3, 1},
		{func() { put(5, jobs.Enqueued) }, 3, 2},
		{func() { put(3, jobs.Failed) }, 4, 1},
		{func() { put(5, jobs.Processed); put(6, jobs.Processed) }, 6, 0},
	}
	for i, s := range steps {
		s.do()
		if got := value(t, m, "erpipe_job_duration_seconds", "pipeline", "p"); got != s.ended {
			t.Errorf("step %d: %v jobs ended; want %v", i+1, got, s.ended)
		}
		if got := value(t, m, "erpipe_rows_read_total", "pipeline", "p"); got != 10*s.ended {
			t.Errorf("step %d: %v rows read; want %v", i+1, got, 10*s.ended)
		}
		if got := value(t, m, "erpipe_queue_depth", "pipeline", "p"); got != s.open {
			t.Errorf("step %d: queue depth %v; want %v", i+1, got, s.open)
		}
	}
}
