package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/erpipe/erpipe/jobs"
)

// A running job's progress is in its view: rows, rate and the share of
// its input read; a finished job has none.
func TestProgressView(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	j := &jobs.Job{ID: "x", Status: jobs.Processing, Started: start, InputSize: 27_300_000,
		Progress: &jobs.Progress{Rows: 410_000, Bytes: 12_285_000, At: start.Add(50 * time.Second)}}
	v := viewJob(j)
	if v.Progress == nil || v.Progress.Rows != 410_000 || v.Progress.RowsPerSec != 8200 || v.Progress.Percent != 45 {
		t.Errorf("progress: %+v", v.Progress)
	}
	j.Status = jobs.Processed
	if viewJob(j).Progress != nil {
		t.Error("a finished job shows progress")
	}
}

// GET /api/v1/jobs pages newest first, with a client's scopes applied by
// the journal: a client limited to a pipeline pages through its jobs only.
func TestJobsPages(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"all", "high", ""}, [3]string{"scoped", "high", "pain001"}))
	var ids []string
	for _, name := range []string{"a.csv", "b.csv", "c.csv"} {
		code, _, b := e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name="+name, "all-token", bytes.NewReader(sample(t)), "Idempotency-Key", name)
		var v jobView
		if code != 202 || json.Unmarshal(b, &v) != nil {
			t.Fatalf("upload: %d %s", code, b)
		}
		e.waitJob(v.ID, "all-token")
		ids = append([]string{v.ID}, ids...)
	}
	var got []string
	next := "/api/v1/jobs?page_size=2"
	for next != "" {
		code, _, b := e.do("GET", next, "all-token", nil)
		var p struct {
			Jobs  []jobView
			Total int
			Next  string
		}
		if code != 200 || json.Unmarshal(b, &p) != nil || p.Total != 3 {
			t.Fatalf("GET %s: %d %s", next, code, b)
		}
		for _, j := range p.Jobs {
			got = append(got, j.ID)
		}
		next = p.Next
	}
	if len(got) != 3 || got[0] != ids[0] || got[2] != ids[2] {
		t.Errorf("pages: %v, want %v", got, ids)
	}
	code, _, b := e.do("GET", "/api/v1/jobs?page_size=2", "scoped-token", nil)
	if code != 200 || !bytes.Contains(b, []byte(`"total":0`)) {
		t.Errorf("a scoped client's pages: %d %s", code, b)
	}
	if code, _, _ := e.do("GET", "/api/v1/jobs?page_size=501", "all-token", nil); code != 400 {
		t.Errorf("page_size 501: %d", code)
	}
}
