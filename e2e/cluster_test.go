package e2e

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/erpipe/erpipe/internal/pgtest"
)

// node is a running erpipe run of a cluster.
type node struct {
	name string
	d    *daemon
}

// startNode starts erpipe run --node name on ws and waits until it
// watches the inboxes as a node.
func startNode(t *testing.T, ws, name string) *node {
	t.Helper()
	d := spawn(t, nil, "node "+name, 40, "run", "--workspace", ws, "--node", name)
	waitFor(t, 30*time.Second, "node "+name+" to watch its inboxes", func() bool {
		select {
		case <-d.done:
			t.Fatalf("node %s exited: %v\n%s", name, d.err, d.logs)
		default:
		}
		return strings.Contains(d.logs.String(), "node of a cluster")
	})
	return &node{name: name, d: d}
}

// clusterWorkspace makes a workspace of one pipeline, customers (rename
// readiness), for nodes of a cluster on a database of its own (job_timeout
// 10s, rescue_after 15s), and returns it with the database's DSN.
func clusterWorkspace(t *testing.T) (ws, dsn string) {
	t.Helper()
	dsn = pgtest.DSN(t)
	ws = t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), fmt.Appendf(nil, `rescan: 200ms
job_timeout: 10s
workers: 2
builtin_pipelines: false
pipelines:
  - name: customers
    template: customers-v3
    inbox:
      readiness: rename
cluster:
  database: %q
  rescue_after: 15s
`, dsn))
	return ws, dsn
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// clusterJob is a job as the cluster's journal holds it.
type clusterJob struct {
	job
	Node     string `json:"node"`
	Attempts int    `json:"attempts"`
}

// TestClusterNodes runs three erpipe run nodes on one workspace folder
// and one PostgreSQL database. Files are dropped (with copies of one
// content and a re-drop of one name) while nodes are SIGKILLed and
// restarted. Afterwards every drop has exactly one job, which ended; each
// output exists once with the journal's sha256; each input is archived
// once; nothing is left in the inbox or claimed; River has no job left
// unfinished.
func TestClusterNodes(t *testing.T) {
	start := time.Now()
	ws, dsn := clusterWorkspace(t)
	nodes := []*node{startNode(t, ws, "n1"), startNode(t, ws, "n2"), startNode(t, ws, "n3")}
	in := filepath.Join(ws, "inbox", "customers")
	content := func(i int) []byte {
		return fmt.Appendf(nil, "Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms,Language,Sales tax group,Payment method\n"+
			"US-%03d,Contoso %d,10,USD,USA,123 Coffee Street,San Diego,92101,ap@contoso.example,+1 619 555 0100,25000.00,30,en-us,CA,CHECK\n", i, i)
	}
	drops := map[string]int{} // input name → times dropped
	dropN := func(from, to int) {
		for i := from; i < to; i++ {
			name := fmt.Sprintf("f%02d.csv", i)
			drop(t, in, name, content(i))
			drops[name]++
			time.Sleep(30 * time.Millisecond) // a steady stream, not one burst
		}
	}
	var kills []time.Time
	restart := func(i int) {
		kills = append(kills, time.Now())
		nodes[i].d.kill(t)
		nodes[i] = startNode(t, ws, nodes[i].name)
	}
	dropN(0, 20)
	for c := range 5 { // five copies of f05's content
		name := fmt.Sprintf("copy%d.csv", c)
		drop(t, in, name, content(5))
		drops[name]++
	}
	kills = append(kills, time.Now())
	nodes[1].d.kill(t) // killed mid-work
	dropN(20, 40)
	nodes[1] = startNode(t, ws, "n2")
	// A name dropped again once its first version was taken: a new job.
	drop(t, in, "again.csv", content(100))
	drops["again.csv"]++
	waitFor(t, 30*time.Second, "again.csv to be taken", func() bool {
		_, err := os.Stat(filepath.Join(in, "again.csv"))
		return os.IsNotExist(err)
	})
	drop(t, in, "again.csv", content(100))
	drops["again.csv"]++
	restart(0)
	// River's leader (which rescues stuck jobs and schedules retries)
	// killed: another node is elected.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var leader string
	waitFor(t, 30*time.Second, "River to elect a leader", func() bool {
		return db.QueryRow(`SELECT leader_id FROM river_leader`).Scan(&leader) == nil
	})
	var leaderKilled time.Time
	for i, n := range nodes {
		if n.name == leader {
			leaderKilled = time.Now()
			restart(i)
		}
	}
	dropN(40, 50)
	// A leader is elected again (River: a 15s lease, tried every 5s).
	var elected time.Time
	waitFor(t, 60*time.Second, "River to elect a new leader", func() bool {
		return db.QueryRow(`SELECT elected_at FROM river_leader`).Scan(&elected) == nil && elected.After(leaderKilled)
	})
	t.Logf("a leader was elected %v after the leader was killed", elected.Sub(leaderKilled).Round(100*time.Millisecond))
	// A node paused past rescue_after (15s) while it works, then resumed:
	// its jobs are taken over meanwhile, and what it writes when it wakes
	// is fenced off.
	paused := nodes[2]
	if paused.name == leader {
		paused = nodes[1]
	}
	killed := len(kills)
	kills = append(kills, time.Now()) // for the take-overs' times below
	_ = paused.d.cmd.Process.Signal(syscall.SIGSTOP)
	dropN(50, 60)
	time.Sleep(20 * time.Second) // the pause itself, past rescue_after
	_ = paused.d.cmd.Process.Signal(syscall.SIGCONT)
	total := 0
	for _, n := range drops {
		total += n
	}

	jobs := awaitQuiet(t, db, ws, "customers", total, 120*time.Second)
	t.Logf("%d drops ended in %v (3 nodes, %d kills, the leader %s among them, a node paused 20s)", total, time.Since(start).Round(time.Second), killed, leader)

	checkCluster(t, db, ws, "customers", jobs, drops, kills, 61, 6)
	for _, n := range nodes {
		n.d.stop(t)
	}
}

// TestClusterRefusesOtherConfig: a node whose configuration differs from
// that of a running node refuses to start, and says why.
func TestClusterRefusesOtherConfig(t *testing.T) {
	dsn := pgtest.DSN(t)
	cfg := "rescan: 200ms\ncluster:\n  database: %q\n"
	a, b := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(a, "erpipe.yaml"), fmt.Appendf(nil, cfg, dsn))
	writeFile(t, filepath.Join(b, "erpipe.yaml"), fmt.Appendf(nil, cfg+"workers: 3\n", dsn))
	n1 := startNode(t, a, "n1")
	_, errOut, code := erpipe(t, "run", "--workspace", b, "--node", "n2")
	if code == 0 || !strings.Contains(errOut, "runs another configuration") {
		t.Errorf("a node with another configuration: exit %d, %s", code, errOut)
	}
	_, errOut, code = erpipe(t, "run", "--workspace", a, "--node", "n1")
	if code == 0 || !strings.Contains(errOut, "another running node is named") {
		t.Errorf("a second node named n1: exit %d, %s", code, errOut)
	}
	// erpipe status lists the nodes from the database; each node keeps
	// its own status file in the shared folder.
	out, errOut, code := erpipe(t, "status", "--workspace", a)
	if code != 0 || !regexp.MustCompile(`(?m)^n1\s+running\s`).MatchString(out) {
		t.Errorf("erpipe status: exit %d: %s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(a, ".erpipe", "nodes", "n1", "status.json")); err != nil {
		t.Errorf("n1's status file: %v", err)
	}
	n1.d.stop(t)
	waitFor(t, 10*time.Second, "erpipe status to say n1 stopped", func() bool {
		out, _, _ = erpipe(t, "status", "--workspace", a)
		return regexp.MustCompile(`(?m)^n1\s+stopped\s`).MatchString(out)
	})
}

// TestClusterMigrate: erpipe cluster migrate copies the journal of a
// workspace that ran alone into the cluster's database; erpipe jobs then
// reads it there, and a second migrate copies nothing.
func TestClusterMigrate(t *testing.T) {
	dsn := pgtest.DSN(t)
	ws := newWorkspace(t)
	d := startDaemon(t, ws)
	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "alone.csv", readFile(t, "../templates/customers-v3/samples/customers.csv"))
	waitJobs(t, ws, 1)
	d.stop(t)
	cfg := readFile(t, filepath.Join(ws, "erpipe.yaml"))
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), append(cfg, fmt.Appendf(nil, "cluster:\n  database: %q\n", dsn)...))
	out, errOut, code := erpipe(t, "cluster", "migrate", "--workspace", ws)
	if code != 0 || !strings.Contains(out, "copied 1 jobs") {
		t.Fatalf("erpipe cluster migrate: exit %d: %s%s", code, out, errOut)
	}
	if jobs := listJobs(t, ws); len(jobs) != 1 || jobs[0].Input != "alone.csv" || jobs[0].Status != "Processed" {
		t.Errorf("erpipe jobs on the cluster's journal: %+v", jobs)
	}
	out, _, code = erpipe(t, "cluster", "migrate", "--workspace", ws)
	if code != 0 || !strings.Contains(out, "copied 0 jobs") {
		t.Errorf("a second migrate: exit %d: %s", code, out)
	}
}

// TestClusterSchedules: three nodes run a monthly schedule with 24
// periods to make up; nodes are SIGKILLed and restarted while they produce
// them. Every period is produced exactly once: one row, version 1,
// Produced, and one receipt.
func TestClusterSchedules(t *testing.T) {
	dsn := pgtest.DSN(t)
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), fmt.Appendf(nil, `rescan: 1s
job_timeout: 10s
builtin_pipelines: false
schedules:
  - name: saft-monthly
    template: saft-no
    cron: "0 6 1 * *"
    time_zone: Europe/Oslo
    period: previous-month
    from: 2024-11
    input:
      files: data/ledger/*.csv
cluster:
  database: %q
  rescue_after: 15s
`, dsn))
	os.MkdirAll(filepath.Join(ws, "data", "ledger"), 0o755)
	header := strings.Join(saftColumns, ",") + "\n"
	writeFile(t, filepath.Join(ws, "data", "ledger", "part1.csv"), []byte(header+ledgerMaster+ledgerLines(ledgerTxs...)))
	t.Setenv("ERPIPE_NOW", "2026-11-03T00:00:00Z") // 2024-11 to 2026-10 are due
	nodes := []*node{startNode(t, ws, "n1"), startNode(t, ws, "n2"), startNode(t, ws, "n3")}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	// Kill two nodes as soon as periods are being produced (by any
	// node): all 24 take about a second.
	deadline := time.Now().Add(60 * time.Second)
	for count(`SELECT COUNT(*) FROM schedule_runs WHERE status IN ('Running', 'Produced')`) <= 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	nodes[0].d.kill(t)
	nodes[1].d.kill(t)
	nodes[0] = startNode(t, ws, "n1")
	nodes[1] = startNode(t, ws, "n2")
	var state string
	waitFor(t, 120*time.Second, "24 periods produced", func() bool {
		n := count(`SELECT COUNT(*) FROM schedule_runs WHERE status = 'Produced'`)
		state = fmt.Sprintf("%d produced", n)
		return n >= 24
	})
	if n := count(`SELECT COUNT(*) FROM schedule_runs`); n != 24 {
		t.Errorf("%d runs, want 24 (one version of each period)", n)
	}
	if n := count(`SELECT COUNT(*) FROM schedule_runs WHERE version != 1`); n != 0 {
		t.Errorf("%d runs of a version above 1", n)
	}
	if n := count(`SELECT COUNT(DISTINCT period) FROM schedule_runs WHERE status = 'Produced'`); n != 24 {
		t.Errorf("%d periods produced, want 24 (%s)", n, state)
	}
	var receipts []string
	for _, f := range files(t, filepath.Join(ws, "archive")) {
		if filepath.Base(f) == "receipt.json" {
			receipts = append(receipts, f)
		}
	}
	if len(receipts) != 24 {
		t.Errorf("%d receipts, want 24: %v", len(receipts), receipts)
	}
	t.Logf("24 periods produced once; %d submission jobs (attempts), %d runs taken over", count(`SELECT COUNT(*) FROM jobs WHERE pipeline = 'saft-monthly'`),
		count(`SELECT COUNT(*) FROM schedule_runs WHERE attempts > 1`))
	for _, n := range nodes {
		n.d.stop(t)
	}
}

// awaitQuiet waits until the cluster's journal has total jobs, all
// ended, River has no job left to run and no put cut short is left in
// the pipeline's outbox; it returns the jobs.
func awaitQuiet(t *testing.T, db *sql.DB, ws, pipeline string, total int, limit time.Duration) []clusterJob {
	t.Helper()
	var jobs []clusterJob
	quiet := func() (bool, string) {
		jobs = jobs[:0]
		rows, err := db.Query(`SELECT body FROM jobs`)
		if err != nil {
			return false, err.Error()
		}
		defer rows.Close()
		ended := 0
		for rows.Next() {
			var body string
			if err := rows.Scan(&body); err != nil {
				return false, err.Error()
			}
			var j clusterJob
			if err := json.Unmarshal([]byte(body), &j); err != nil {
				return false, err.Error()
			}
			jobs = append(jobs, j)
			if final(j.job) {
				ended++
			}
		}
		var open int
		if err := db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&open); err != nil {
			return false, err.Error()
		}
		// What a killed node's put left in the outbox is swept once it
		// is older than rescue_after.
		partial := 0
		for _, f := range files(t, filepath.Join(ws, "outbox", pipeline)) {
			if strings.HasSuffix(f, ".partial") {
				partial++
			}
		}
		return ended == total && len(jobs) == total && open == 0 && partial == 0,
			fmt.Sprintf("%d of %d drops have a job, %d ended, %d River jobs open, %d partial outputs", len(jobs), total, ended, open, partial)
	}
	// A job a killed node was running is taken over after rescue_after
	// and River's rescuer's round (30s).
	deadline := time.Now().Add(limit)
	for {
		ok, state := quiet()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			rows, err := db.Query(`SELECT id, state, attempt, args::text, COALESCE(attempted_by::text, ''), COALESCE(errors::text, '') FROM river_job WHERE state NOT IN ('completed')`)
			if err == nil {
				for rows.Next() {
					var id, attempt int
					var st, args, by, errs string
					rows.Scan(&id, &st, &attempt, &args, &by, &errs)
					t.Logf("River job %d %s attempt %d %s by %s: %s", id, st, attempt, args, by, tailLines(errs, 3))
				}
				rows.Close()
			}
			for _, j := range jobs {
				if !final(j.job) {
					t.Logf("job %s %s %s node %s errors %v", j.ID, j.Input, j.Status, j.Node, j.Errors)
				}
			}
			t.Fatalf("not quiet within %v: %s", limit, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return jobs
}

// checkCluster checks the jobs of the drops once the cluster is quiet:
// each drop has exactly one job; processed of them were processed (or set
// aside as poison) and duplicates were duplicates; each output exists once
// with the journal's sha256; each input is archived once; nothing is left
// in the inbox or claimed, and every claim has ended. It logs how long
// after a kill (or pause) at kills the jobs taken over started again.
func checkCluster(t *testing.T, db *sql.DB, ws, pipeline string, jobs []clusterJob, drops map[string]int, kills []time.Time, processed, duplicates int) {
	t.Helper()
	total := 0
	for _, n := range drops {
		total += n
	}
	// A job a killed node was running is started again by another
	// attempt: how long after the kill.
	var takeovers []string
	for _, j := range jobs {
		if j.Attempts < 2 {
			continue
		}
		var kill time.Time
		for _, k := range kills {
			if k.Before(j.Started) {
				kill = k
			}
		}
		if !kill.IsZero() {
			takeovers = append(takeovers, j.Started.Sub(kill).Round(100*time.Millisecond).String())
		}
	}
	t.Logf("jobs taken over after a kill or the pause, started again this long after it: %v", takeovers)
	byInput := map[string][]clusterJob{}
	byNode := map[string]int{}
	statuses := map[string]int{}
	for _, j := range jobs {
		byInput[j.Input] = append(byInput[j.Input], j)
		byNode[j.Node]++
		statuses[j.Status]++
	}
	t.Logf("jobs by node %v, by status %v", byNode, statuses)
	for name, n := range drops {
		if len(byInput[name]) != n {
			t.Errorf("%s was dropped %d times and has %d jobs", name, n, len(byInput[name]))
		}
	}
	// An input whose job was killed MaxAttempts (3) times is set aside
	// as poison (Failed, in errors/): it is not processed, nor is it a
	// duplicate.
	poison := 0
	for _, j := range jobs {
		if j.Status == "Failed" && j.Attempts >= 3 {
			poison++
		}
	}
	if statuses["Processed"]+poison != processed || statuses["Duplicate"] != duplicates || statuses["Failed"] != poison {
		t.Errorf("statuses %v (%d set aside as poison), want %d Processed and %d Duplicate", statuses, poison, processed, duplicates)
	}
	outs := files(t, filepath.Join(ws, "outbox", pipeline))
	if len(outs) != statuses["Processed"] {
		t.Errorf("%d files in the outbox, want %d: %v", len(outs), statuses["Processed"], outs)
	}
	for _, j := range jobs {
		for _, o := range j.Outputs {
			sum := sha256.Sum256(readFile(t, o.Location))
			if hex.EncodeToString(sum[:]) != o.SHA256 {
				t.Errorf("%s: its sha256 is not the journal's (job %s)", o.Location, j.ID)
			}
		}
		if j.Status != "Failed" {
			if _, err := os.Stat(j.FinalPath); err != nil {
				t.Errorf("job %s (%s): its input is not archived: %v", j.ID, j.Input, err)
			}
		}
	}
	if archived := files(t, filepath.Join(ws, "archive", pipeline)); len(archived) != total-poison {
		t.Errorf("%d inputs archived, want %d", len(archived), total-poison)
	}
	if left := files(t, filepath.Join(ws, "inbox", pipeline)); len(left) > 0 {
		t.Errorf("left in the inbox: %v", left)
	}
	if left := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(left) > 0 {
		t.Errorf("left claimed: %v", left)
	}
	var claimsOpen int
	if err := db.QueryRow(`SELECT COUNT(*) FROM inbox_claims WHERE state != 'done'`).Scan(&claimsOpen); err != nil || claimsOpen != 0 {
		t.Errorf("%d claims not ended (%v)", claimsOpen, err)
	}
}

// TestClusterChaos is issue 23's chaos test, run for each seed in
// ERPIPE_CHAOS_SEEDS (e.g. "1,2,3", as scripts/test.sh sets it; skipped
// without it: each seed takes about a minute). Three nodes; 300 files dropped over 30 s
// (15 of them copies of one content) and 5 names dropped again once taken;
// for 60 s a random node is SIGKILLed and restarted every 2-4 s, River's
// leader among them once, and one node is SIGSTOPped for 20 s (past
// rescue_after) and resumed. Then the invariants of TestClusterNodes.
func TestClusterChaos(t *testing.T) {
	seeds := os.Getenv("ERPIPE_CHAOS_SEEDS")
	if seeds == "" {
		t.Skip("set ERPIPE_CHAOS_SEEDS=1,2,3 to run the chaos test")
	}
	for _, s := range strings.Split(seeds, ",") {
		seed, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			t.Fatalf("ERPIPE_CHAOS_SEEDS: %v", err)
		}
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) { chaos(t, seed) })
	}
}

func chaos(t *testing.T, seed uint64) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 23))
	ws, dsn := clusterWorkspace(t)
	nodes := []*node{startNode(t, ws, "n1"), startNode(t, ws, "n2"), startNode(t, ws, "n3")}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in := filepath.Join(ws, "inbox", "customers")
	content := func(i int) []byte {
		return fmt.Appendf(nil, "Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms,Language,Sales tax group,Payment method\n"+
			"US-%03d,Contoso %d,10,USD,USA,123 Coffee Street,San Diego,92101,ap@contoso.example,+1 619 555 0100,25000.00,30,en-us,CA,CHECK\n", i, i)
	}
	put := func(name string, data []byte) error {
		tmp := filepath.Join(in, name+".tmp")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(in, name))
	}
	// The drops, in their own goroutine: 285 contents, 15 copies of one,
	// then 5 names again once their first version was taken.
	drops := map[string]int{}
	dropped := make(chan error, 1)
	go func() {
		var err error
		defer func() { dropped <- err }()
		for i := range 300 {
			name, data := fmt.Sprintf("f%03d.csv", i), content(i)
			if i >= 285 {
				name, data = fmt.Sprintf("copy%02d.csv", i-285), content(7)
			}
			if err = put(name, data); err != nil {
				return
			}
			drops[name]++
			time.Sleep(100 * time.Millisecond)
		}
		for i := range 5 {
			name := fmt.Sprintf("f%03d.csv", i)
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if _, serr := os.Stat(filepath.Join(in, name)); os.IsNotExist(serr) {
					break
				}
				if time.Now().After(deadline) {
					err = fmt.Errorf("%s was not taken within 60s", name)
					return
				}
			}
			if err = put(name, content(i)); err != nil {
				return
			}
			drops[name]++
		}
	}()
	var kills []time.Time
	restart := func(i int) {
		kills = append(kills, time.Now())
		nodes[i].d.kill(t)
		nodes[i] = startNode(t, ws, nodes[i].name)
	}
	paused := -1
	var pausedAt time.Time
	leaderKilled := false
	for chaosEnd := time.Now().Add(60 * time.Second); time.Now().Before(chaosEnd); {
		time.Sleep(time.Duration(2000+rng.IntN(2000)) * time.Millisecond)
		if paused >= 0 && time.Since(pausedAt) > 20*time.Second {
			_ = nodes[paused].d.cmd.Process.Signal(syscall.SIGCONT)
			paused = -1
		}
		switch {
		case !leaderKilled && time.Since(start) > 15*time.Second:
			var leader string
			if db.QueryRow(`SELECT leader_id FROM river_leader`).Scan(&leader) == nil {
				for i, n := range nodes {
					if n.name == leader && i != paused {
						restart(i)
						leaderKilled = true
					}
				}
			}
		case paused < 0 && pausedAt.IsZero() && time.Since(start) > 25*time.Second:
			paused, pausedAt = rng.IntN(3), time.Now()
			kills = append(kills, pausedAt)
			_ = nodes[paused].d.cmd.Process.Signal(syscall.SIGSTOP)
		default:
			i := rng.IntN(3)
			if i != paused {
				restart(i)
			}
		}
	}
	if paused >= 0 {
		for time.Since(pausedAt) < 20*time.Second {
			time.Sleep(100 * time.Millisecond)
		}
		_ = nodes[paused].d.cmd.Process.Signal(syscall.SIGCONT)
	}
	if err := <-dropped; err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range drops {
		total += n
	}
	jobs := awaitQuiet(t, db, ws, "customers", total, 150*time.Second)
	t.Logf("seed %d: %d drops ended %v after the start (%d kills, the leader's among them: %v; a node paused 20s)",
		seed, total, time.Since(start).Round(time.Second), len(kills)-1, leaderKilled)
	checkCluster(t, db, ws, "customers", jobs, drops, kills, 285, 20)
	for _, n := range nodes {
		n.d.stop(t)
	}
}
