package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// workspaceWith makes a workspace whose erpipe.yaml is cfg.
func workspaceWith(t *testing.T, cfg string) string {
	t.Helper()
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(cfg))
	for _, d := range []string{"inbox/customers-v3", "outbox/customers-v3"} {
		if err := os.MkdirAll(filepath.Join(ws, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

// customers returns a small customer file whose content is unique to n.
func customers(t *testing.T, n int) []byte {
	header := customersHeader
	var b strings.Builder
	b.WriteString(header + "\n")
	for r := range 3 {
		fmt.Fprintf(&b, "B%05d-%d,Customer %d,10,EUR,NOR,Gate %d,Oslo,0150,c%d@example.com,+47 1,%d.50,30\n", n, r, n, r, n, n)
	}
	return []byte(b.String())
}

// percentile returns the p-th percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// TestBurst drops 5,000 small files at once and checks that every one is
// processed exactly once. It logs the wall time and the drop-to-end
// latency percentiles (no assertion on speed: CI machines vary).
func TestBurst(t *testing.T) {
	const n = 5000
	ws := workspaceWith(t, "settle: 500ms\nrescan: 1s\nworkers: 2\n")
	d := startDaemon(t, ws)
	in := filepath.Join(ws, "inbox", "customers-v3")
	dropped := map[string]time.Time{}
	start := time.Now()
	for i := range n {
		name := fmt.Sprintf("burst-%05d.csv", i)
		drop(t, in, name, customers(t, i))
		dropped[name] = time.Now()
	}
	var jobs []job
	waitFor(t, 10*time.Minute, "the burst to be processed", func() bool {
		time.Sleep(time.Second)
		jobs = listJobs(t, ws)
		ended := 0
		for _, j := range jobs {
			if j.Status == "Processed" {
				ended++
			}
		}
		return ended >= n
	})
	wall := time.Since(start)
	d.stop(t)
	if len(jobs) != n {
		t.Errorf("%d jobs for %d files", len(jobs), n)
	}
	var lat []time.Duration
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.Input] {
			t.Errorf("%s processed twice", j.Input)
		}
		seen[j.Input] = true
		lat = append(lat, j.Finished.Sub(dropped[j.Input]))
	}
	slices.Sort(lat)
	if got := len(files(t, filepath.Join(ws, "outbox", "customers-v3"))); got != n {
		t.Errorf("outbox holds %d results, want %d", got, n)
	}
	t.Logf("burst of %d files: %v wall (%.0f files/s); drop-to-end latency p50 %v, p90 %v, p99 %v, max %v",
		n, wall.Round(time.Millisecond), float64(n)/wall.Seconds(), percentile(lat, .5).Round(time.Millisecond),
		percentile(lat, .9).Round(time.Millisecond), percentile(lat, .99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
}

// TestRepeatedKills kills the daemon with SIGKILL at random moments, 20
// times, while it works through 500 files, then lets it finish. Every
// input must end archived exactly once with exactly one result, and no
// temporary file may be visible in the outbox.
func TestRepeatedKills(t *testing.T) {
	const n, kills = 500, 20
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	ws := workspaceWith(t, "settle: 200ms\nrescan: 500ms\nworkers: 2\n")
	in := filepath.Join(ws, "inbox", "customers-v3")
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range []string{"inbox", ".erpipe/claimed", ".erpipe/work", "errors"} {
				t.Logf("%s: %q", d, files(t, filepath.Join(ws, d)))
			}
			for _, j := range listJobs(t, ws) {
				if j.Status != "Processed" {
					t.Logf("job %+v", j)
				}
			}
		}
	})
	for i := range n {
		drop(t, in, fmt.Sprintf("k-%04d.csv", i), customers(t, i))
	}
	for k := range kills {
		// Killed once it has started for real: its inbox and journal exist
		// from the first run on, and a kill before its recovery on a busy
		// machine would hit the same resumed jobs again and again, until
		// they are set aside as poison (MaxAttempts), which is right for a
		// job that crashes the daemon but not what this test is after.
		d := startDaemonEnv(t, ws, nil, "the daemon to watch its inboxes", func(d *daemon) bool {
			return strings.Contains(d.logs.String(), "watching inboxes")
		})
		time.Sleep(time.Duration(200+rng.IntN(1000)) * time.Millisecond)
		d.kill(t)
		if k%5 == 4 {
			t.Logf("after %d kills: %d jobs recorded", k+1, len(listJobs(t, ws)))
		}
	}
	d := startDaemon(t, ws)
	byInput := waitJobs(t, ws, n)
	d.stop(t)
	for name, j := range byInput {
		if j.Status != "Processed" || len(j.Outputs) != 1 {
			t.Errorf("%s: %s with %d outputs (%q)", name, j.Status, len(j.Outputs), j.Errors)
		}
	}
	if len(byInput) != n {
		t.Errorf("%d inputs have jobs, want %d", len(byInput), n)
	}
	archived := files(t, filepath.Join(ws, "archive"))
	if len(archived) != n {
		t.Errorf("archive holds %d files, want %d", len(archived), n)
	}
	if got := files(t, filepath.Join(ws, "errors")); len(got) != 0 {
		t.Errorf("errors/ holds %q", got)
	}
	out := files(t, filepath.Join(ws, "outbox", "customers-v3"))
	if len(out) != n {
		t.Errorf("outbox holds %d files, want %d", len(out), n)
	}
	for _, o := range out {
		if strings.HasPrefix(o, ".") || strings.Contains(o, "(2)") || strings.HasSuffix(o, ".partial") {
			t.Errorf("outbox shows %s", o)
		}
	}
	if got := files(t, in); len(got) != 0 {
		t.Errorf("inbox still holds %d files", len(got))
	}
	if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 0 {
		t.Errorf("claimed files left: %q", got)
	}
}

// TestFullAndReadOnlyOutbox puts the outbox on a tiny tmpfs: full, then
// read-only. The job waits with its input claimed, and lands once the
// outbox can take it again. It needs root to mount (CI runs as root); where
// it can't, folder.TestUnavailable still checks which errors make the
// folder wait, and jobs.TestUnavailableDestinationKeepsJobPending the wait.
func TestFullAndReadOnlyOutbox(t *testing.T) {
	ws := workspaceWith(t, "settle: 200ms\nrescan: 500ms\nworkers: 1\n")
	out := filepath.Join(ws, "outbox", "customers-v3")
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", out).Run(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); folder.TestUnavailable and jobs.TestUnavailableDestinationKeepsJobPending cover the parts", err)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", out).Run() })
	// Fill it up.
	filler := filepath.Join(out, "filler.bin")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()

	d := startDaemon(t, ws)
	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "full.csv", readFile(t, sampleCSV))
	waitPending := func(what string) job {
		var w job
		waitFor(t, 60*time.Second, what, func() bool {
			for _, j := range listJobs(t, ws) {
				if j.Status == "Processing" && len(j.Pending) > 0 {
					w = j
					return true
				}
			}
			return false
		})
		return w
	}
	j := waitPending("the job to wait for a full outbox")
	if !strings.Contains(strings.Join(j.Pending, " "), "no space") {
		t.Errorf("pending says %q; want it to name the full disk", j.Pending)
	}
	if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 1 {
		t.Errorf("claimed: %q; want the input kept", got)
	}
	// Free the space: it lands.
	os.Remove(filler)
	byInput := waitJobs(t, ws, 1)
	if byInput["full.csv"].Status != "Processed" {
		t.Errorf("after freeing space: %s", byInput["full.csv"].Status)
	}

	// Read-only, then writable again.
	if err := exec.Command("mount", "-o", "remount,ro", out).Run(); err != nil {
		t.Fatalf("remount ro: %v", err)
	}
	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "ro.csv", customers(t, 1))
	j = waitPending("the job to wait for a read-only outbox")
	if !strings.Contains(strings.Join(j.Pending, " "), "read-only") {
		t.Errorf("pending says %q; want it to name the read-only file system", j.Pending)
	}
	if err := exec.Command("mount", "-o", "remount,rw", out).Run(); err != nil {
		t.Fatalf("remount rw: %v", err)
	}
	byInput = waitJobs(t, ws, 2)
	if byInput["ro.csv"].Status != "Processed" {
		t.Errorf("after remounting rw: %s", byInput["ro.csv"].Status)
	}
	for _, o := range files(t, out) {
		if strings.HasPrefix(o, ".") {
			t.Errorf("a temporary file is visible in the outbox: %s", o)
		}
	}
	d.stop(t)
}

// TestRetryCommand runs a failed job again after the template changed,
// and a processed one again despite the duplicate check.
func TestRetryCommand(t *testing.T) {
	ws := workspaceWith(t, "settle: 200ms\nrescan: 500ms\n")
	d := startDaemon(t, ws)
	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "c.csv", readFile(t, sampleCSV))
	first := waitJobs(t, ws, 1)["c.csv"]
	out, stderr, code := erpipe(t, "retry", first.ID, "-w", ws)
	if code != 0 {
		t.Fatalf("retry: exit %d: %s", code, stderr)
	}
	contains(t, "retry output", out, "back in")
	var list []job
	waitFor(t, 60*time.Second, "the retried job to end", func() bool {
		list = listJobs(t, ws)
		return len(list) == 2 && list[1].Status != "Enqueued" && list[1].Status != "Processing"
	})
	if len(list) != 2 || list[1].Status != "Processed" || list[1].DuplicateOf != "" {
		t.Errorf("the retried job: %+v", list[len(list)-1])
	}
	if _, _, code := erpipe(t, "retry", "no-such-job", "-w", ws); code != 2 {
		t.Errorf("retry of an unknown job: exit %d, want 2", code)
	}
	d.stop(t)
}
