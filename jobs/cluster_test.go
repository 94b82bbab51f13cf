package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/internal/pgtest"
	"github.com/erpipe/erpipe/workspace"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// clusterConfig is the erpipe.yaml of the nodes of a test cluster on
// dsn: quick scans, as a shared folder is polled.
func clusterConfig(dsn string) string {
	return fmt.Sprintf("settle: 100ms\nrescan: 100ms\ncluster:\n  database: %q\n", dsn)
}

// startNode runs a node named node on the workspace at dir until the
// test ends, and returns its service.
func startNode(t *testing.T, dir, node string) *Service {
	t.Helper()
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	ws.SetNode(node)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := OpenCluster(ctx, ClusterOptions{Database: ws.Config.Cluster.Database, Node: node, ConfigHash: ws.ConfigHash(),
		RescueAfter: ws.Config.Rescue(), Workers: 2, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(ws, c.Journal(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.RetryMin, s.RetryMax, s.Grace = 10*time.Millisecond, 50*time.Millisecond, 5*time.Second
	s.UseCluster(c)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node %s: %v", node, err)
		}
		c.Close()
	})
	return s
}

// customers returns a customers CSV whose one row is numbered n.
func customers(n int) []byte {
	return fmt.Appendf(nil, "Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms,Language,Sales tax group,Payment method\n"+
		"US-%03d,Contoso %d,10,USD,USA,123 Coffee Street,San Diego,92101,ap@contoso.example,+1 619 555 0100,25000.00,30,en-us,CA,CHECK\n", n, n)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, d, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterTwoNodes: two nodes on one workspace folder and one database
// take 20 files and 3 copies of one of them; every input has exactly one
// job, which ended, the copies are Duplicates, each output is written
// once, and nothing is left in the inbox, claimed, or queued.
func TestClusterTwoNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "erpipe.yaml"), []byte(clusterConfig(dsn)), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, dir, "n1")
	startNode(t, dir, "n2")
	ws := a.ws
	want := map[string]Status{}
	for i := range 20 {
		name := fmt.Sprintf("c%02d.csv", i)
		dropFile(t, ws, "customers-v3", name, customers(i))
		want[name] = Processed
	}
	for i := range 3 {
		name := fmt.Sprintf("copy%d.csv", i)
		dropFile(t, ws, "customers-v3", name, customers(7))
		want[name] = Duplicate
	}
	j := a.journal
	var list []*Job
	waitFor(t, 60*time.Second, "every file's job ended", func() (bool, string) {
		var err error
		list, err = j.List(context.Background(), Filter{})
		if err != nil {
			return false, err.Error()
		}
		ended := 0
		for _, job := range list {
			if job.Status.Final() {
				ended++
			}
		}
		return ended >= len(want), fmt.Sprintf("%d of %d ended", ended, len(want))
	})
	byInput := map[string][]*Job{}
	nodes := map[string]int{}
	for _, job := range list {
		byInput[job.Input] = append(byInput[job.Input], job)
		nodes[job.Node]++
	}
	dups := 0
	for name, st := range want {
		jobs := byInput[name]
		if len(jobs) != 1 {
			t.Errorf("%s has %d jobs, want 1", name, len(jobs))
			continue
		}
		got := jobs[0].Status
		if st == Duplicate && name != "c07.csv" {
			// One of the four copies of row 7 is processed, whichever
			// was first; the others are duplicates.
			if got == Duplicate {
				dups++
			}
			continue
		}
		if got != Processed && got != Duplicate {
			t.Errorf("%s ended %s: %v", name, got, jobs[0].Errors)
		}
		if got == Duplicate {
			dups++
		}
	}
	if dups != 3 {
		t.Errorf("%d duplicates among the four copies of one content, want 3", dups)
	}
	if len(list) != len(want) {
		t.Errorf("%d jobs for %d files", len(list), len(want))
	}
	t.Logf("jobs by node: %v", nodes)
	if left, _ := os.ReadDir(ws.Inbox("customers-v3")); len(left) > 0 {
		t.Errorf("left in the inbox: %v", left)
	}
	var claimedFiles []string
	filepath.WalkDir(ws.Claimed(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			claimedFiles = append(claimedFiles, p)
		}
		return nil
	})
	if len(claimedFiles) > 0 {
		t.Errorf("left claimed: %v", claimedFiles)
	}
	outs, _ := os.ReadDir(ws.Outbox("customers-v3"))
	if len(outs) != 20 {
		t.Errorf("%d outputs, want 20 (one for each content)", len(outs))
	}
	db := j.db
	var open, claimsOpen int
	waitFor(t, 10*time.Second, "River's jobs completed", func() (bool, string) {
		db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE state != 'completed'`).Scan(&open)
		db.QueryRow(`SELECT COUNT(*) FROM inbox_claims WHERE state != 'done'`).Scan(&claimsOpen)
		return open == 0 && claimsOpen == 0, fmt.Sprintf("%d River jobs not completed, %d claims open", open, claimsOpen)
	})
}

// TestClusterFencing: once a newer attempt of a job has started, the
// writes of the older one (a node paused past rescue_after, which wakes
// up) change nothing: not the record, not its progress, and its final
// record neither ends the claim nor completes anything; an attempt that
// comes late cannot start.
func TestClusterFencing(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	j, err := OpenPostgresJournal(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	job := &Job{ID: "20261207-120000-aaaaaa", Pipeline: "p", Input: "in.csv", Status: Enqueued, Created: time.Now()}
	if err := j.Put(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := j.startAttempt(ctx, job.ID, 1, "old"); err != nil {
		t.Fatal(err)
	}
	finals := 0
	old := withFence(ctx, &fence{job: job.ID, attempt: 1, node: "old", final: func(context.Context, *sql.Tx) error { finals++; return nil }})
	zombie := *job
	zombie.Status = Processing
	if err := j.Put(old, &zombie); err != nil {
		t.Fatalf("attempt 1 before it was taken over: %v", err)
	}
	// The node pauses; River gives the job to another node.
	if err := j.startAttempt(ctx, job.ID, 2, "new"); err != nil {
		t.Fatal(err)
	}
	cur := withFence(ctx, &fence{job: job.ID, attempt: 2, node: "new"})
	fresh := *job
	fresh.Status, fresh.Read = Processing, 5
	if err := j.Put(cur, &fresh); err != nil {
		t.Fatal(err)
	}
	// The old node wakes and goes on writing.
	zombie.Status, zombie.FinalStatus, zombie.Errors = Failed, Failed, []string{"written by the zombie"}
	if err := j.Put(old, &zombie); !errors.Is(err, ErrFenced) {
		t.Fatalf("the zombie's final record: %v, want ErrFenced", err)
	}
	if err := j.RecordProgress(old, job.ID, Progress{Rows: 99}); err != nil {
		t.Fatal(err)
	}
	if err := j.startAttempt(ctx, job.ID, 1, "old"); !errors.Is(err, ErrFenced) {
		t.Fatalf("a late start of attempt 1: %v, want ErrFenced", err)
	}
	if finals != 0 {
		t.Errorf("the zombie's final record ran its end (claim, River completion) %d times", finals)
	}
	got, err := j.Get(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Processing || got.Read != 5 || len(got.Errors) > 0 || got.Node != "new" || got.Progress != nil {
		t.Errorf("after the zombie's writes the record is %s, read %d, errors %v, node %q, progress %+v; want the new attempt's",
			got.Status, got.Read, got.Errors, got.Node, got.Progress)
	}
	// The current attempt's progress is recorded.
	if err := j.RecordProgress(cur, job.ID, Progress{Rows: 7}); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Get(ctx, job.ID); got.Progress == nil || got.Progress.Rows != 7 {
		t.Errorf("the current attempt's progress: %+v", got.Progress)
	}
}

// TestClusterSweep: a node's start empties its own work folder only;
// another node's work in progress and a destination's partial file are
// left alone (a node alone sweeps both).
func TestClusterSweep(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "erpipe.yaml"), []byte(clusterConfig(dsn)), 0o644); err != nil {
		t.Fatal(err)
	}
	other, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	other.SetNode("n2")
	live := filepath.Join(other.Work(), "20261207-120000-bbbbbb", "out.csv")
	partial := filepath.Join(other.Outbox("customers-v3"), ".out.csv.0123abcd.partial")
	mine := filepath.Join(dir, ".erpipe", "nodes", "n1", "work", "stale", "x")
	for _, p := range []string{live, partial, mine} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := startNode(t, dir, "n1")
	waitFor(t, 20*time.Second, "node n1 watching", func() (bool, string) { return s.watcher.Load() != nil, "not yet" })
	if exists(mine) {
		t.Errorf("n1's own stale work %s was not swept", mine)
	}
	for _, p := range []string{live, partial} {
		if !exists(p) {
			t.Errorf("n1's start removed %s, another node's live work", strings.TrimPrefix(p, dir))
		}
	}
}
