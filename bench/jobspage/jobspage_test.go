// Package jobspage measures the console's jobs list at scale: the API's
// GET /api/v1/jobs (server-side paging, filters and search) on a journal
// of 100,000 jobs, served by the real api.Server over HTTP on loopback.
//
//	go test ./bench/jobspage -bench . -benchtime 200x
//	JOBS=1000000 go test ./bench/jobspage -bench . -benchtime 50x
//
// bench/jobspage.sh runs it and prints the table of docs/performance.md.
package jobspage

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/erpipe/erpipe/api"
	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

var (
	once    sync.Once
	server  *httptest.Server
	fillErr error
	filled  time.Duration
	count   int
)

// jobsWanted is how many jobs the journal holds ($JOBS, default 100,000).
func jobsWanted() int {
	if n, err := strconv.Atoi(os.Getenv("JOBS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var pipelines = []string{"customers-v3", "vendors-v2", "pain001", "saft-no", "camt053-import"}

// fill writes n jobs into the journal at path as erpipe records them, in
// one transaction (the daemon's own Put makes each durable on its own,
// which 100,000 times is only slow): one in 20 failed, one in 10 with
// rejected rows, a few running with progress.
func fill(path string, n int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	stmt, err := tx.Prepare(`INSERT INTO jobs(id, pipeline, input, input_sha256, status, final_status, created, body) VALUES(?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		created := start.Add(time.Duration(i) * 37 * time.Second)
		j := &jobs.Job{ID: fmt.Sprintf("%s-%06d", created.Format("20060102-150405"), i), Pipeline: pipelines[i%len(pipelines)],
			Input: fmt.Sprintf("file-%06d.csv", i), InputSHA256: fmt.Sprintf("%064x", i), InputSize: 40_000, Status: jobs.Processed,
			Created: created, Started: created.Add(time.Second), Finished: created.Add(3 * time.Second), Read: 200, Written: 200,
			Template: "customers-v3", TemplateVersion: "3.1.0",
			Outputs: []jobs.Output{{Name: fmt.Sprintf("file-%06d.zip", i), Size: 9000, SHA256: fmt.Sprintf("%064x", i+1), Destination: "folder outbox"}}}
		switch {
		case i%20 == 7:
			j.Status, j.Written = jobs.Failed, 0
			j.Errors = []string{fmt.Sprintf("file-%06d.csv: row %d, column Account: the value is not an account number; Fix: use the customer's account", i, i%200+2)}
		case i%10 == 3:
			j.Status, j.Written, j.Rejected = jobs.ProcessedWithErrors, 198, 2
		case i == n-3 || i == n-5:
			j.Status, j.Finished = jobs.Processing, time.Time{}
			j.Progress = &jobs.Progress{Rows: 410_000, Bytes: 12_000_000, At: created.Add(50 * time.Second)}
		}
		if i == n/2 {
			j.Errors = []string{"needle: the only job with this word"}
			j.Status = jobs.Failed
		}
		body, err := json.Marshal(j)
		if err != nil {
			return err
		}
		if _, err := stmt.Exec(j.ID, j.Pipeline, j.Input, j.InputSHA256, string(j.Status), string(j.Status),
			created.UTC().Format("2006-01-02T15:04:05.000000000Z"), string(body)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// setup makes a workspace with a journal of jobsWanted() jobs and serves
// the API on it; once for every benchmark of the run.
func setup(b *testing.B) *httptest.Server {
	once.Do(func() {
		dir, err := os.MkdirTemp("", "erpipe-jobspage-")
		if err != nil {
			fillErr = err
			return
		}
		workDir = dir
		fillErr = func() error {
			if err := os.WriteFile(filepath.Join(dir, "erpipe.yaml"), []byte("http:\n  listen: 127.0.0.1:0\n  limits: {rate: 100000, burst: 100000}\n"), 0o644); err != nil {
				return err
			}
			ws, err := workspace.Open(dir, "")
			if err != nil {
				return err
			}
			if err := ws.MakeState(); err != nil {
				return err
			}
			j, err := jobs.OpenJournal(ws.JournalPath()) // the schema and its indexes
			if err != nil {
				return err
			}
			j.Close()
			count = jobsWanted()
			t0 := time.Now()
			if err := fill(ws.JournalPath(), count); err != nil {
				return err
			}
			filled = time.Since(t0)
			if j, err = jobs.OpenJournal(ws.JournalPath()); err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			svc, err := jobs.NewService(ws, j, log)
			if err != nil {
				return err
			}
			s := api.New(api.Options{Addr: "127.0.0.1:0", Logger: log})
			api.Register(s, api.Deps{Service: svc, Logger: log})
			server = httptest.NewServer(s.Handler())
			return nil
		}()
	})
	if fillErr != nil {
		b.Fatal(fillErr)
	}
	return server
}

// get fetches a page and returns its cursor.
func get(b *testing.B, srv *httptest.Server, q url.Values) (string, int) {
	resp, err := http.Get(srv.URL + "/api/v1/jobs?" + q.Encode())
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Jobs   []json.RawMessage
		Cursor string
		Total  int
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&page) != nil {
		b.Fatalf("GET %s: %d", q.Encode(), resp.StatusCode)
	}
	return page.Cursor, page.Total
}

// BenchmarkJobsPage is one request of the console's jobs list: a page of
// 50 jobs, newest first, with the total that match.
func BenchmarkJobsPage(b *testing.B) {
	srv := setup(b)
	b.Logf("journal of %d jobs, filled in %s", count, filled.Round(time.Millisecond))
	// A cursor 1,000 pages deep (50,000 jobs in).
	deep := ""
	{
		q := url.Values{"page_size": {"500"}}
		for range 100 {
			c, _ := get(b, srv, q)
			q.Set("cursor", c)
			deep = c
		}
	}
	for _, c := range []struct {
		name  string
		q     url.Values
		total int // 0: not checked
	}{
		{"first", url.Values{"page_size": {"50"}}, count},
		{"deep", url.Values{"page_size": {"50"}, "cursor": {deep}}, count},
		{"status=Failed", url.Values{"page_size": {"50"}, "status": {"Failed"}}, 0},
		{"pipeline", url.Values{"page_size": {"50"}, "pipeline": {"pain001"}}, count / len(pipelines)},
		{"search-input", url.Values{"page_size": {"50"}, "q": {"file-04242"}}, 0},
		{"search-error", url.Values{"page_size": {"50"}, "q": {"needle"}}, 1},
		{"old-limit-500", url.Values{"limit": {"500"}}, -1},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.total >= 0 {
				if _, total := get(b, srv, c.q); c.total > 0 && total != c.total {
					b.Fatalf("%s: total %d, want %d", c.name, total, c.total)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				get(b, srv, c.q)
			}
		})
	}
}

var workDir string

// TestMain removes the workspace it made.
func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.Close()
	}
	if workDir != "" {
		os.RemoveAll(workDir)
	}
	os.Exit(code)
}
