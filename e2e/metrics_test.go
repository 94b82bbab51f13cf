package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestMetricsEndpoint: erpipe run --listen serves /metrics in the
// Prometheus text format, which passes client_golang's linter, and its
// series follow the jobs: a processed file counts in erpipe_jobs and its
// rows, a file left to settle in erpipe_inbox_files_waiting.
func TestMetricsEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ws := workspaceWith(t, "settle: 300ms\nrescan: 500ms\npipelines:\n  - name: slow\n    template: customers-v3\n    inbox: {settle: 30m}\n")
	d := &daemon{logs: new(syncBuffer), done: make(chan struct{})}
	d.cmd = exec.Command(bin, "run", "--workspace", ws, "--listen", addr)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logs)
		}
	})
	scrape := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("/metrics: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		return string(b)
	}
	waitFor(t, 20*time.Second, "/metrics to answer", func() bool { return scrape() != "" })

	if resp, err := http.Get("http://" + addr + "/api/v1/pipelines"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "c.csv", customers(t, 1))
	if err := os.WriteFile(filepath.Join(ws, "inbox", "slow", "s.csv"), customers(t, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`erpipe_jobs{pipeline="customers-v3",status="Processed"} 1`,
		`erpipe_rows_written_total{pipeline="customers-v3"} 3`,
		`erpipe_job_duration_seconds_count{pipeline="customers-v3"} 1`,
		`erpipe_queue_depth{pipeline="customers-v3"} 0`,
		`erpipe_inbox_files_waiting{pipeline="slow"} 1`,
		`erpipe_http_requests_total{client="anonymous",code="200"} 1`,
	}
	var body string
	waitFor(t, 30*time.Second, "the series to follow the job", func() bool {
		body = scrape()
		for _, w := range want {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	})
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	for _, family := range []string{"erpipe_jobs gauge", "erpipe_rows_read_total counter", "erpipe_rows_written_total counter",
		"erpipe_rows_rejected_total counter", "erpipe_job_duration_seconds histogram", "erpipe_queue_depth gauge",
		"erpipe_inbox_files_waiting gauge", "erpipe_destination_waiting_jobs gauge", "erpipe_destination_retries_total counter"} {
		if !strings.Contains(body, "# TYPE "+family+"\n") {
			t.Errorf("/metrics has no %s", family)
		}
	}
	d.stop(t)
}
