// Package e2e tests the real erpipe binary end to end: it builds it, runs
// the daemon on a temporary workspace, drops files into inboxes the way
// operators and upstream systems do, and checks where everything ends.
package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"

	"github.com/erpipe/erpipe/internal/pgtest"
)

// bin is the erpipe binary built once for all tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "erpipe-e2e-bin-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "erpipe")
	build := exec.Command("go", "build", "-o", bin, "../cmd/erpipe")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building erpipe:", err)
		os.Exit(1)
	}
	code := pgtest.Main(m) // the cluster tests' PostgreSQL, stopped at the end
	os.RemoveAll(dir)
	os.Exit(code)
}

// job is the part of `erpipe jobs --json` the tests look at.
type job struct {
	ID          string `json:"id"`
	Pipeline    string `json:"pipeline"`
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256"`
	Status      string `json:"status"`
	Read        int    `json:"rows_read"`
	Written     int    `json:"rows_written"`
	Rejected    int    `json:"rows_rejected"`
	Outputs     []struct {
		Name        string `json:"name"`
		SHA256      string `json:"sha256"`
		Size        int64  `json:"size"`
		Destination string `json:"destination"`
		Location    string `json:"location"`
	} `json:"outputs"`
	DuplicateOf string    `json:"duplicate_of"`
	Pending     []string  `json:"pending"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	FinalPath   string    `json:"final_path"`
	Errors      []string  `json:"errors"`
}

// erpipe runs the binary to completion and returns stdout, stderr and the
// exit code.
func erpipe(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("erpipe %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// daemon is a running `erpipe run`.
// daemon is a running `erpipe run`.
type daemon struct {
	cmd  *exec.Cmd
	logs *syncBuffer   // its output, written while the tests read it
	done chan struct{} // closed when the process has ended
	err  error         // cmd.Wait's result; read after done
}

// startDaemon starts erpipe run on ws and waits for its customers-v3 inbox
// and its journal.
func startDaemon(t *testing.T, ws string) *daemon {
	t.Helper()
	return startDaemonEnv(t, ws, nil, "the daemon to create the inboxes and the journal", func(*daemon) bool {
		_, err1 := os.Stat(filepath.Join(ws, "inbox", "customers-v3"))
		_, err2 := os.Stat(filepath.Join(ws, ".erpipe", "journal.db"))
		return err1 == nil && err2 == nil
	})
}

// startDaemonEnv starts erpipe run on ws with env (nil: this process's),
// and waits until ready says so.
func startDaemonEnv(t *testing.T, ws string, env []string, what string, ready func(*daemon) bool) *daemon {
	t.Helper()
	d := spawn(t, env, "daemon", 0, "run", "--workspace", ws)
	waitFor(t, 20*time.Second, what, func() bool { return ready(d) })
	return d
}

// spawn starts the erpipe binary with args and env (nil: this
// process's); when the test ends it is killed if still running, and its
// log (the last tail lines, 0: all) shown under label if the test failed.
func spawn(t *testing.T, env []string, label string, tail int, args ...string) *daemon {
	t.Helper()
	d := &daemon{logs: new(syncBuffer), done: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = env
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			log := d.logs.String()
			if tail > 0 {
				log = tailLines(log, tail)
			}
			t.Logf("%s log:\n%s", label, log)
		}
	})
	return d
}

// stop sends SIGTERM and expects a clean exit within 30s.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.stopWithin(t, 30*time.Second)
}

// stopWithin sends SIGTERM, expects exit 0 within limit, and returns how
// long the exit took.
func (d *daemon) stopWithin(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		if d.err != nil {
			t.Fatalf("daemon exited with %v after SIGTERM", d.err)
		}
	case <-time.After(limit):
		t.Fatalf("daemon did not exit within %v of SIGTERM", limit)
	}
	return time.Since(start)
}

// kill sends SIGKILL, as a crash would.
func (d *daemon) kill(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Kill()
	<-d.done
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// listJobs returns the journal via `erpipe jobs --json`.
func listJobs(t *testing.T, ws string) []job {
	t.Helper()
	jobs, _ := listJobsRaw(t, ws)
	return jobs
}

// listJobsRaw is listJobs, with the raw output too.
func listJobsRaw(t *testing.T, ws string) ([]job, string) {
	t.Helper()
	out, errOut, code := erpipe(t, "jobs", "--json", "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe jobs: exit %d: %s", code, errOut)
	}
	var jobs []job
	if err := json.Unmarshal([]byte(out), &jobs); err != nil {
		t.Fatalf("erpipe jobs --json: %v\n%s", err, out)
	}
	return jobs, out
}

// waitJobs waits until n jobs exist and all have ended.
func waitJobs(t *testing.T, ws string, n int) map[string]job {
	t.Helper()
	var jobs []job
	waitFor(t, 60*time.Second, fmt.Sprintf("%d jobs to end", n), func() bool {
		jobs = listJobs(t, ws)
		if len(jobs) < n {
			return false
		}
		for _, j := range jobs {
			if !final(j) {
				return false
			}
		}
		return true
	})
	byInput := map[string]job{}
	for _, j := range jobs {
		if _, dup := byInput[j.Input]; dup {
			t.Errorf("two jobs for input %s", j.Input)
		}
		byInput[j.Input] = j
	}
	return byInput
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// drop writes a file into an inbox the way an upstream system that knows
// better would: under a temporary name, then renamed.
func drop(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(dir, name+".tmp")
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// files lists the regular files under dir, relative to it, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// utf16 decodes UTF-16 LE with BOM.
func utf16(t *testing.T, b []byte) string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte{0xFF, 0xFE}) {
		t.Fatalf("not UTF-16 LE with BOM: % x", b[:min(len(b), 8)])
	}
	s, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

// unzip returns the entries of the zip at path.
func unzip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

func newWorkspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte("settle: 1s\nrescan: 1s\nworkers: 2\nallow_drafts: true # payments-csv is a draft\n"))
	if err := os.MkdirAll(filepath.Join(ws, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ws, "templates", "payments-csv.yaml"), readFile(t, "testdata/templates/payments-csv.yaml"))
	return ws
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// customersHeader is the header of the files the tests make for
// customers-v3: the required columns and the common optional ones.
const customersHeader = "Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms"
