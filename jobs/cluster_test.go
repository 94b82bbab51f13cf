package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/inbox"
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
		RescueAfter: ws.Config.Rescue(), JobTimeout: ws.Config.JobTimeout(), Workers: 2, PollInterval: 50 * time.Millisecond})
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

// TestClusterLatency measures, on one node, the claim transaction (claim
// row, job record, River insert) and the time from its commit to the
// job's start on a worker (River's pick-up, the input's move, its hash),
// and logs them (docs/cluster.md); nothing is asserted of the figures.
func TestClusterLatency(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "erpipe.yaml"), []byte(clusterConfig(dsn)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startNode(t, dir, "n1")
	waitFor(t, 20*time.Second, "node n1 watching", func() (bool, string) { return s.watcher.Load() != nil, "not yet" })
	src := t.TempDir()
	const n = 40
	ctx := context.Background()
	var claims []time.Duration
	committed := map[string]time.Time{}
	for i := range n {
		p := filepath.Join(src, fmt.Sprintf("l%03d.csv", i))
		if err := os.WriteFile(p, customers(1000+i), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		job, err := s.cluster.claim(ctx, s, inboxFile("customers-v3", p, fi))
		if err != nil || job == nil {
			t.Fatalf("claim %s: %v", p, err)
		}
		claims = append(claims, time.Since(start))
		committed[job.ID] = time.Now()
		// One job at a time, so that the figure is River's pick-up, not
		// a queue behind busy workers.
		waitFor(t, 20*time.Second, "job "+job.ID+" to start", func() (bool, string) {
			j, err := s.journal.Get(ctx, job.ID)
			return err == nil && j.Status.Final(), "not ended"
		})
	}
	var pickups []time.Duration
	waitFor(t, 60*time.Second, "the jobs to end", func() (bool, string) {
		list, err := s.journal.List(ctx, Filter{})
		if err != nil {
			return false, err.Error()
		}
		pickups = pickups[:0]
		for _, j := range list {
			if at, ok := committed[j.ID]; ok && j.Status.Final() {
				pickups = append(pickups, j.Started.Sub(at))
			}
		}
		return len(pickups) == n, fmt.Sprintf("%d of %d ended", len(pickups), n)
	})
	t.Logf("claim transaction p50 %v p95 %v; commit to start p50 %v p95 %v (%d files one at a time, poll 50ms, fetch cooldown 20ms)",
		pct(claims, 50), pct(claims, 95), pct(pickups, 50), pct(pickups, 95), n)

	// A burst: 100 files claimed at once, run by the node's 2 workers.
	const burst = 100
	start := time.Now()
	for i := range burst {
		p := filepath.Join(src, fmt.Sprintf("b%03d.csv", i))
		if err := os.WriteFile(p, customers(2000+i), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if job, err := s.cluster.claim(ctx, s, inboxFile("customers-v3", p, fi)); err != nil || job == nil {
			t.Fatalf("claim %s: %v", p, err)
		}
	}
	claimed := time.Since(start)
	waitFor(t, 120*time.Second, "the burst's jobs to end", func() (bool, string) {
		list, err := s.journal.List(ctx, Filter{Status: Processed})
		return err == nil && len(list) == n+burst, fmt.Sprintf("%d of %d ended", len(list), n+burst)
	})
	took := time.Since(start)
	t.Logf("a burst of %d files: claimed in %v (%.0f claims/s), all ended after %v (%.1f jobs/s with 2 workers, customers-v3)",
		burst, claimed.Round(time.Millisecond), burst/claimed.Seconds(), took.Round(time.Millisecond), burst/took.Seconds())
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(100 * time.Microsecond)
}

// inboxFile is f as the inbox's watcher would hand it out, for tests.
func inboxFile(key, path string, fi fs.FileInfo) inbox.File {
	return inbox.File{Dir: filepath.Dir(path), Key: key, Path: path, Name: filepath.Base(path), Size: fi.Size(), ModTime: fi.ModTime(), Info: fi}
}

// TestMigrateJournal: a node alone's journal copied into a cluster's
// keeps its history: content it processed is a duplicate on the cluster's
// nodes, a period it produced is still produced (not produced again), and
// copying again copies nothing twice.
func TestMigrateJournal(t *testing.T) {
	ctx := context.Background()
	alone, ws := newService(t, "")
	done, err := alone.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "before.csv", customers(1)))
	if err != nil || done.Status != Processed {
		t.Fatalf("the node alone's job: %v %v", done, err)
	}
	runs, err := alone.journal.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := runs.Plan(ctx, "vat", []Run{{Period: "2026-10", Start: "2026-10-01", Due: now}}, now); err != nil {
		t.Fatal(err)
	}
	run, err := runs.Claim(ctx, "vat", "2026-10", "2026-10-01", false, "test", "20261101-000000-cccccc", now)
	if err != nil {
		t.Fatal(err)
	}
	run.Status = RunProduced
	if err := runs.Finish(ctx, run); err != nil {
		t.Fatal(err)
	}

	dsn := pgtest.DSN(t)
	to, err := OpenPostgresJournal(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer to.Close()
	m, err := MigrateJournal(ctx, alone.journal, to)
	if err != nil {
		t.Fatal(err)
	}
	if m.Jobs != 1 || m.Periods != 1 || m.Schedules != 1 {
		t.Errorf("migrated %+v, want 1 job, 1 period, 1 schedule", m)
	}
	if again, err := MigrateJournal(ctx, alone.journal, to); err != nil || again != (Migrated{}) {
		t.Errorf("migrating again: %+v, %v; want nothing copied", again, err)
	}
	toRuns, err := to.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := toRuns.Claim(ctx, "vat", "2026-10", "2026-10-01", false, "node", "20261201-000000-dddddd", now); !errors.Is(err, ErrProduced) {
		t.Errorf("claiming the migrated period: %v, %v; want ErrProduced", got, err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "erpipe.yaml"), []byte(clusterConfig(dsn)), 0o644); err != nil {
		t.Fatal(err)
	}
	node := startNode(t, dir, "n1")
	dropFile(t, node.ws, "customers-v3", "after.csv", customers(1))
	waitFor(t, 30*time.Second, "after.csv's job to end", func() (bool, string) {
		list, err := to.List(ctx, Filter{Pipeline: "customers-v3"})
		if err != nil || len(list) < 2 || !list[1].Status.Final() {
			return false, fmt.Sprintf("%d jobs, %v", len(list), err)
		}
		if list[1].Status != Duplicate || list[1].DuplicateOf != done.ID {
			t.Errorf("after.csv ended %s (duplicate of %q), want a Duplicate of the migrated job %s", list[1].Status, list[1].DuplicateOf, done.ID)
		}
		return true, ""
	})

	// A journal with a job that has not ended is refused.
	open := &Job{ID: "20261207-120000-eeeeee", Pipeline: "customers-v3", Input: "x.csv", Status: Processing, Created: now}
	if err := alone.journal.Put(ctx, open); err != nil {
		t.Fatal(err)
	}
	if _, err := MigrateJournal(ctx, alone.journal, to); err == nil || !strings.Contains(err.Error(), "have not ended") {
		t.Errorf("a journal with a running job: %v", err)
	}
}

// TestClusterOwnerAlive: a scheduled run's owner is alive while its node
// runs (holds its name), and not once the node has stopped, nor when the
// node runs again as another process.
func TestClusterOwnerAlive(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	open := func(node string) *Cluster {
		c, err := OpenCluster(ctx, ClusterOptions{Database: dsn, Node: node, ConfigHash: "h", RescueAfter: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.join(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := open("n1"), open("n2")
	defer b.Close()
	owner := a.ScheduleOwner()
	if !b.OwnerAlive(owner) {
		t.Errorf("%s is running, but not alive to n2", owner)
	}
	if b.OwnerAlive("node:n1:1") {
		t.Errorf("another process of n1 is alive to n2")
	}
	if b.OwnerAlive("4242@somehost") {
		t.Errorf("a node alone's owner is alive to n2")
	}
	a.hold.Close() // n1 stops (its session, and its lock, end)
	a.Close()
	waitFor(t, 10*time.Second, "n1's lock to go", func() (bool, string) { return !b.OwnerAlive(owner), "still alive" })
}

// TestRebind: the journal's ? placeholders are numbered for PostgreSQL,
// but not inside quotes, and a query already numbered is left alone.
func TestRebind(t *testing.T) {
	for _, c := range [][2]string{
		{`SELECT 1`, `SELECT 1`},
		{`UPDATE jobs SET a = ?, b = ? WHERE id = ?`, `UPDATE jobs SET a = $1, b = $2 WHERE id = $3`},
		{`SELECT '?' , "a?b", ? FROM t WHERE x = 'it''s ?' AND y = ?`, `SELECT '?' , "a?b", $1 FROM t WHERE x = 'it''s ?' AND y = $2`},
		{`UPDATE jobs SET body = jsonb_set(body::jsonb, '{progress}', ?::jsonb)::text WHERE id = ?`,
			`UPDATE jobs SET body = jsonb_set(body::jsonb, '{progress}', $1::jsonb)::text WHERE id = $2`},
		{`SELECT * FROM river_job WHERE id = $1 AND args ? 'x'`, `SELECT * FROM river_job WHERE id = $1 AND args ? 'x'`},
	} {
		if got := rebind(c[0]); got != c[1] {
			t.Errorf("rebind(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// TestRedactDSN: a password in the cluster's database URL is not said in
// messages.
func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://erpipe:s3cr@t@db.example:5432/erpipe": "postgres://erpipe:***@db.example:5432/erpipe",
		"postgres://erpipe@db.example/erpipe":             "postgres://erpipe@db.example/erpipe",
	} {
		if got := redactDSN(in); got != want || strings.Contains(got, "s3cr") {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
