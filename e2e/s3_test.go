package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/erpipe/erpipe/internal/s3test"
)

// These tests run the real binary against a real S3 server (versitygw,
// started per test by internal/s3test). The daemon and the CLI get the
// credentials the way operators give them: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_REGION in their environment, never in
// erpipe.yaml; nothing else of the AWS chain (~/.aws, AWS_PROFILE,
// instance roles) reaches them. The secret must never show in logs, in
// `erpipe jobs --json` or in error reports.

const (
	s3Bucket   = "erpipe-e2e"
	s3Prefix   = "d365/customers"
	s3Pipeline = "customers-s3"
)

// s3Env returns the environment of an erpipe child process: the AWS chain
// isolated, and the server's credentials in the standard variables.
func s3Env(t *testing.T) []string {
	t.Helper()
	env, err := s3test.ChainEnv(os.Environ(), t.TempDir()) // no profiles: only the variables below
	if err != nil {
		t.Fatal(err)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID="+s3test.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+s3test.SecretKey,
		"AWS_REGION="+s3test.Region)
}

// s3Workspace makes a workspace whose pipeline customers-s3 delivers to
// outbox/customers-s3 and to srv. Over https it trusts srv's certificate
// and uses the SDK's default checksums (aws-chunked bodies with a trailing
// CRC32, as sent to AWS); erpipe's default for a custom endpoint is
// when_required, so that has to be asked for.
func s3Workspace(t *testing.T, srv *s3test.Server, workers int) string {
	t.Helper()
	ws := t.TempDir()
	cfg := fmt.Sprintf(`settle: 300ms
rescan: 1s
workers: %d
pipelines:
  - name: %s
    template: customers-v3
    destinations:
      - folder: {}
      - s3:
          bucket: %s
          prefix: %s
          endpoint: %s
          path_style: true
`, workers, s3Pipeline, s3Bucket, s3Prefix, strconv.Quote(srv.Endpoint))
	if srv.CAFile != "" {
		cfg += "          ca_file: " + strconv.Quote(srv.CAFile) + "\n          checksum_mode: when_supported\n"
	}
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(cfg))
	return ws
}

// syncBuffer is a bytes.Buffer that may be read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func startS3Daemon(t *testing.T, ws string, env []string) *daemon {
	t.Helper()
	return startDaemonEnv(t, ws, env, "the daemon to create the inbox and the journal", func(*daemon) bool {
		_, err1 := os.Stat(filepath.Join(ws, "inbox", s3Pipeline))
		_, err2 := os.Stat(filepath.Join(ws, ".erpipe", "journal.db"))
		return err1 == nil && err2 == nil
	})
}

// waitS3Jobs waits until n jobs exist and all satisfy cond, and returns
// them by input name.
func waitS3Jobs(t *testing.T, ws string, n int, what string, cond func(job) bool) map[string]job {
	t.Helper()
	var jobs []job
	waitFor(t, 60*time.Second, fmt.Sprintf("%d jobs %s", n, what), func() bool {
		jobs, _ = listJobsRaw(t, ws)
		if len(jobs) != n {
			return len(jobs) > n // more jobs than files: fail below
		}
		for _, j := range jobs {
			if !cond(j) {
				return false
			}
		}
		return true
	})
	if len(jobs) != n {
		t.Fatalf("%d jobs in the journal, want %d: %+v", len(jobs), n, jobs)
	}
	byInput := map[string]job{}
	for _, j := range jobs {
		byInput[j.Input] = j
	}
	return byInput
}

func final(j job) bool {
	switch j.Status {
	case "Enqueued", "Processing":
		return false
	}
	return true
}

// noSecret fails t when s shows the secret.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, s3test.SecretKey) {
		t.Errorf("%s shows the S3 secret:\n%s", what, s)
	}
}

// noSecretInReports checks every error report in the workspace and
// returns how many there are.
func noSecretInReports(t *testing.T, ws string) int {
	t.Helper()
	n := 0
	for _, f := range files(t, ws) {
		if strings.Contains(f, ".error.") {
			noSecret(t, f, string(readFile(t, filepath.Join(ws, f))))
			n++
		}
	}
	return n
}

func s3Client(t *testing.T, srv *s3test.Server) *awss3.Client {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// s3Object is what the server holds under a key.
type s3Object struct {
	data []byte
	meta map[string]string
}

func getObject(t *testing.T, srv *s3test.Server, key string) s3Object {
	t.Helper()
	out, err := s3Client(t, srv).GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return s3Object{data: data, meta: out.Metadata}
}

// listKeys returns the keys under prefix, sorted.
func listKeys(t *testing.T, srv *s3test.Server, prefix string) []string {
	t.Helper()
	var keys []string
	p := awss3.NewListObjectsV2Paginator(s3Client(t, srv), &awss3.ListObjectsV2Input{Bucket: aws.String(s3Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListObjectsV2 %s: %v", prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// checkDelivered checks that job delivered its one output to the folder
// outbox and to S3, the same bytes, with the job's metadata on the object.
func checkDelivered(t *testing.T, ws string, srv *s3test.Server, j job, wantSum string) {
	t.Helper()
	if j.Status != "Processed" || len(j.Outputs) != 2 || len(j.Pending) != 0 {
		t.Errorf("%s: %s, %d outputs, pending %q; want Processed, 2 outputs (folder and s3), none pending (errors %q)",
			j.Input, j.Status, len(j.Outputs), j.Pending, j.Errors)
		return
	}
	if j.InputSHA256 != wantSum {
		t.Errorf("%s: input_sha256 %s, want %s", j.Input, j.InputSHA256, wantSum)
	}
	name := strings.TrimSuffix(j.Input, filepath.Ext(j.Input)) + ".zip"
	key := s3Prefix + "/" + name
	var folderOut, s3Out int = -1, -1
	for i, o := range j.Outputs {
		switch {
		case o.Name != name:
			t.Errorf("%s: output %q, want %q", j.Input, o.Name, name)
		case strings.HasPrefix(o.Destination, "s3://"):
			s3Out = i
		case strings.HasPrefix(o.Destination, "folder "):
			folderOut = i
		}
	}
	if folderOut < 0 || s3Out < 0 {
		t.Errorf("%s: outputs %+v; want one to the folder and one to s3", j.Input, j.Outputs)
		return
	}
	if o := j.Outputs[s3Out]; o.Destination != "s3://"+s3Bucket+"/"+s3Prefix || o.Location != "s3://"+s3Bucket+"/"+key {
		t.Errorf("%s: s3 output to %s at %s; want s3://%s/%s at s3://%s/%s", j.Input, o.Destination, o.Location,
			s3Bucket, s3Prefix, s3Bucket, key)
	}
	obj := getObject(t, srv, key)
	local := readFile(t, filepath.Join(ws, "outbox", s3Pipeline, name))
	want := map[string]string{"sha256": j.Outputs[s3Out].SHA256, "job": j.ID, "input-sha256": wantSum}
	for k, v := range want {
		if obj.meta[k] != v {
			t.Errorf("%s: object metadata %s = %q, want %q (all: %q)", key, k, obj.meta[k], v, obj.meta)
		}
	}
	if !strings.HasPrefix(obj.meta["template"], "customers-v3 ") {
		t.Errorf("%s: object metadata template = %q, want customers-v3 and its version", key, obj.meta["template"])
	}
	if got := sha(obj.data); got != j.Outputs[s3Out].SHA256 || int64(len(obj.data)) != j.Outputs[s3Out].Size {
		t.Errorf("%s: object has %d bytes with sha256 %s; the journal says %d bytes, %s", key, len(obj.data), got,
			j.Outputs[s3Out].Size, j.Outputs[s3Out].SHA256)
	}
	if !bytes.Equal(obj.data, local) {
		t.Errorf("%s: the object (sha256 %s) differs from the folder copy outbox/%s/%s (sha256 %s); "+
			"one job delivered two different results", key, sha(obj.data), s3Pipeline, name, sha(local))
	}
	if j.Outputs[folderOut].SHA256 != sha(local) {
		t.Errorf("%s: folder copy has sha256 %s; the journal says %s", name, sha(local), j.Outputs[folderOut].SHA256)
	}
}

// TestS3Destination drops the sample into a pipeline with a folder and an
// S3 destination, over http and over https with the SDK's default
// checksums, and checks both copies and the object's metadata.
func TestS3Destination(t *testing.T) {
	sample := readFile(t, sampleCSV)
	for _, tlsOn := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[tlsOn]
		t.Run(name, func(t *testing.T) {
			srv := s3test.New(t, s3test.Options{TLS: tlsOn, Buckets: []string{s3Bucket}})
			ws := s3Workspace(t, srv, 2)
			d := startS3Daemon(t, ws, s3Env(t))
			drop(t, filepath.Join(ws, "inbox", s3Pipeline), "customers.csv", sample)
			byInput := waitS3Jobs(t, ws, 1, "to end", final)
			j := byInput["customers.csv"]
			checkDelivered(t, ws, srv, j, sha(sample))
			checkPackage(t, filepath.Join(ws, "outbox", s3Pipeline, "customers.zip"), 10)
			if got := listKeys(t, srv, ""); strings.Join(got, ",") != s3Prefix+"/customers.zip" {
				t.Errorf("bucket holds %q, want only %s/customers.zip", got, s3Prefix)
			}
			archived := files(t, filepath.Join(ws, "archive", s3Pipeline))
			if want := time.Now().Format("2006-01-02") + "/" + j.ID + "-customers.csv"; !slices.Contains(archived, want) {
				t.Errorf("archive/%s holds %q, want %s", s3Pipeline, archived, want)
			}
			if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 0 {
				t.Errorf("claimed files left behind: %q", got)
			}
			d.stopWithin(t, 30*time.Second)
			_, raw := listJobsRaw(t, ws)
			noSecret(t, "erpipe jobs --json", raw)
			noSecret(t, "the daemon's log", d.logs.String())
			if n := noSecretInReports(t, ws); n == 0 {
				t.Error("no report beside the archived input; the sample has a row with a warning")
			}
		})
	}
}

// variant returns the sample with other customer accounts, so that each
// variant is a distinct input (not a duplicate) with the same header.
func variant(sample []byte, tag string) []byte {
	lines := strings.SplitAfter(string(sample), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] = strings.Replace(lines[i], "-", "-"+tag, 1)
	}
	return []byte(strings.Join(lines, ""))
}

// TestS3Outage: while the store is down, jobs wait in Processing with
// their inputs claimed, across a daemon restart; once the store is back,
// every result is delivered exactly once. There are more workers than
// files, so that this test does not depend on waiting jobs leaving the
// workers free (TestS3OutageOtherWork checks that).
func TestS3Outage(t *testing.T) {
	srv := s3test.New(t, s3test.Options{Buckets: []string{s3Bucket}})
	ws := s3Workspace(t, srv, 4)
	env := s3Env(t)
	d := startS3Daemon(t, ws, env)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(ws, "inbox", s3Pipeline)
	sample := readFile(t, sampleCSV)
	inputs := map[string][]byte{}
	for _, tag := range []string{"A", "B", "C"} {
		name := strings.ToLower(tag) + ".csv"
		inputs[name] = variant(sample, tag)
		drop(t, in, name, inputs[name])
	}

	waiting := func(j job) bool { return j.Status == "Processing" && len(j.Pending) > 0 }
	checkWaiting := func(when string) {
		t.Helper()
		jobs, raw := listJobsRaw(t, ws)
		for _, j := range jobs {
			if !waiting(j) {
				t.Errorf("%s: %s: %s, pending %q; want Processing with pending destinations (errors %q)",
					when, j.Input, j.Status, j.Pending, j.Errors)
			}
			for _, p := range j.Pending {
				if !strings.Contains(p, "s3://"+s3Bucket) {
					t.Errorf("%s: %s: pending %q does not name the S3 destination", when, j.Input, p)
				}
			}
		}
		noSecret(t, "erpipe jobs --json", raw)
		if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 3 {
			t.Errorf("%s: .erpipe/claimed holds %q; want the 3 inputs", when, got)
		}
		if got := files(t, filepath.Join(ws, "errors")); len(got) != 0 {
			t.Errorf("%s: errors/ holds %q", when, got)
		}
		if got := files(t, in); len(got) != 0 {
			t.Errorf("%s: the inbox still holds %q", when, got)
		}
	}
	waitS3Jobs(t, ws, 3, "waiting for the store", waiting)
	checkWaiting("store down")

	// A stop hands the waiting jobs back; the next start takes them up,
	// and they wait again: the store is still down.
	took := d.stopWithin(t, 45*time.Second)
	t.Logf("the daemon stopped %v after SIGTERM", took.Round(time.Millisecond))
	logs := d.logs.String()
	checkWaiting("after the stop")
	restarted := time.Now()
	d2 := startS3Daemon(t, ws, env)
	// The restarted daemon must take up all 3 jobs (each starts again and
	// finds the store down), not just the first: it must not wait for the
	// store before it resumes the others or watches the inboxes.
	if !eventually(30*time.Second, func() bool {
		jobs, _ := listJobsRaw(t, ws)
		for _, j := range jobs {
			if !waiting(j) || j.Started.Before(restarted) {
				return false
			}
		}
		return len(jobs) == 3
	}) {
		jobs, _ := listJobsRaw(t, ws)
		var taken []string
		for _, j := range jobs {
			if !j.Started.Before(restarted) {
				taken = append(taken, j.Input)
			}
		}
		t.Errorf("30s after the restart, the daemon has taken up only %q of the 3 waiting jobs; "+
			"a resumed job that waits for the store holds up the rest of the recovery", taken)
	}
	checkWaiting("after the restart")

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	byInput := waitS3Jobs(t, ws, 3, "to end once the store is back", final)
	for name, data := range inputs {
		j, ok := byInput[name]
		if !ok {
			t.Errorf("%s: no job", name)
			continue
		}
		checkDelivered(t, ws, srv, j, sha(data))
	}
	if got := listKeys(t, srv, s3Prefix+"/"); strings.Join(got, ",") != s3Prefix+"/a.zip,"+s3Prefix+"/b.zip,"+s3Prefix+"/c.zip" {
		t.Errorf("the bucket holds %q under %s/; want exactly a.zip, b.zip, c.zip", got, s3Prefix)
	}
	if got := files(t, filepath.Join(ws, "outbox", s3Pipeline)); strings.Join(got, ",") != "a.zip,b.zip,c.zip" {
		t.Errorf("outbox/%s holds %q; want exactly a.zip, b.zip, c.zip (nothing twice)", s3Pipeline, got)
	}
	if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 0 {
		t.Errorf("claimed files left behind: %q", got)
	}
	if got := files(t, filepath.Join(ws, "errors")); len(got) != 0 {
		t.Errorf("errors/ holds %q", got)
	}
	if got := files(t, filepath.Join(ws, "archive", s3Pipeline)); len(got) < 3 {
		t.Errorf("archive/%s holds %q; want the 3 inputs", s3Pipeline, got)
	}
	d2.stopWithin(t, 30*time.Second)
	_, raw := listJobsRaw(t, ws)
	noSecret(t, "erpipe jobs --json", raw)
	noSecret(t, "the first daemon's log", logs)
	noSecret(t, "the second daemon's log", d2.logs.String())
	noSecretInReports(t, ws)
}

// TestS3OutageOtherWork: a job waiting for a store that is down must not
// stop the daemon's other work. With one worker, a file for a folder-only
// pipeline dropped during the outage still gets processed.
func TestS3OutageOtherWork(t *testing.T) {
	srv := s3test.New(t, s3test.Options{Buckets: []string{s3Bucket}})
	ws := s3Workspace(t, srv, 1)
	d := startS3Daemon(t, ws, s3Env(t))
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	sample := readFile(t, sampleCSV)
	drop(t, filepath.Join(ws, "inbox", s3Pipeline), "waits.csv", sample)
	waitS3Jobs(t, ws, 1, "waiting for the store", func(j job) bool { return j.Status == "Processing" && len(j.Pending) > 0 })

	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "other.csv", variant(sample, "O"))
	var jobs []job
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		jobs, _ = listJobsRaw(t, ws)
		if len(jobs) == 2 && (final(jobs[0]) || final(jobs[1])) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var other *job
	for i, j := range jobs {
		if j.Input == "other.csv" {
			other = &jobs[i]
		}
	}
	switch {
	case other == nil:
		t.Fatalf("other.csv, dropped into the folder-only pipeline customers-v3 while a job waited for the store, "+
			"was not taken within 60s (inbox: %q); a job waiting for a destination holds the only worker", files(t, filepath.Join(ws, "inbox", "customers-v3")))
	case other.Status != "Processed":
		t.Fatalf("other.csv: %s, want Processed (errors %q)", other.Status, other.Errors)
	}
	d.stopWithin(t, 45*time.Second)
}

// eventually polls cond until it holds or limit has passed, and reports
// whether it held.
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// erpipeEnv runs the binary with env to completion.
func erpipeEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("erpipe %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

// TestTransformToS3: `erpipe transform --out s3://...` stores the package;
// the same input again is an idempotent success; other content under the
// same name fails and leaves the object alone.
func TestTransformToS3(t *testing.T) {
	srv := s3test.New(t, s3test.Options{Buckets: []string{s3Bucket}})
	env := s3Env(t)
	out := "s3://" + s3Bucket + "/cli?endpoint=" + srv.Endpoint
	key := "cli/customers.zip"
	run := func(input string) (string, string, int) {
		t.Helper()
		stdout, stderr, code := erpipeEnv(t, env, "transform", "-t", "customers-v3", "--out", out, input)
		noSecret(t, "transform's output", stdout+stderr)
		return stdout, stderr, code
	}

	stdout, stderr, code := run(sampleCSV)
	if code != 0 {
		t.Fatalf("transform: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	contains(t, "stdout", stdout, "10 read, 10 written, 0 rejected", "s3://"+s3Bucket+"/"+key)
	first := getObject(t, srv, key)
	if got := sha(first.data); first.meta["sha256"] != got {
		t.Errorf("%s: metadata sha256 %q, content %s", key, first.meta["sha256"], got)
	}

	t.Run("same input again", func(t *testing.T) {
		// A retry comes later, not within the same second: wait past the
		// next 2-second boundary (zip entry times have a 1 s or 2 s
		// resolution), so that a result that depends on the clock shows.
		time.Sleep(time.Until(time.Now().Truncate(2 * time.Second).Add(2*time.Second + 50*time.Millisecond)))
		stdout, stderr, code := run(sampleCSV)
		if code != 0 {
			t.Errorf("second transform of the same input: exit %d, want 0 (the result is already there)\nstdout: %s\nstderr: %s",
				code, stdout, stderr)
		}
		if got := listKeys(t, srv, "cli/"); strings.Join(got, ",") != key {
			t.Errorf("bucket holds %q under cli/, want only %s", got, key)
		}
		if now := getObject(t, srv, key); !bytes.Equal(now.data, first.data) {
			t.Errorf("%s was replaced", key)
		}
	})

	t.Run("other content, same name", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "customers.csv")
		writeFile(t, other, variant(readFile(t, sampleCSV), "X"))
		stdout, stderr, code := run(other)
		if code != 1 {
			t.Errorf("transform of other content to a taken name: exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		contains(t, "stderr", stderr, "already exists", key)
		if got := listKeys(t, srv, "cli/"); strings.Join(got, ",") != key {
			t.Errorf("bucket holds %q under cli/, want only %s", got, key)
		}
		if now := getObject(t, srv, key); !bytes.Equal(now.data, first.data) {
			t.Errorf("%s was replaced by other content", key)
		}
	})
}
