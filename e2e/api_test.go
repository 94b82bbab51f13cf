package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The HTTP API of erpipe run, end to end: the real binary serving on a
// port, called with net/http and curl.

const apiActivity = "{6D31E09F-0249-459F-94F0-AAD9C2C47B64}"

// apiClients are the clients of the tests' workspaces: name, priority.
var apiClients = [][2]string{{"hi", "high"}, {"mid", "medium"}, {"lo", "low"}}

func tokenOf(name string) string { return "tok-" + name + "-0123456789" }

// startAPI writes erpipe.yaml with an http: section (extra lines added
// under http:) and starts the daemon serving it; it returns the daemon
// and the base URL.
func startAPI(t *testing.T, top, extra string) (string, *daemon, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "settle: 1s\nrescan: 1s\nworkers: 2\n%shttp:\n  listen: %s\n  activities:\n    - id: \"%s\"\n      pipeline: customers-v3\n  clients:\n", top, addr, apiActivity)
	for _, c := range apiClients {
		sum := sha256.Sum256([]byte(tokenOf(c[0])))
		fmt.Fprintf(&b, "    - name: %s\n      token_sha256: %s\n      priority: %s\n", c[0], hex.EncodeToString(sum[:]), c[1])
	}
	b.WriteString(extra)
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(b.String()))
	base := "http://" + addr
	d := startDaemonEnv(t, ws, nil, "the HTTP API to be ready", func(*daemon) bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return ws, d, base
}

// call sends one request as client (its token) and returns the answer.
func call(t *testing.T, method, u, client string, body io.Reader, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if client != "" {
		req.Header.Set("Authorization", "Bearer "+tokenOf(client))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

type apiJob struct {
	ID      string
	Status  string
	Final   bool
	Input   string
	Outputs []struct {
		Name, Download string
		Size           int64
	}
}

// waitAPIJob polls a job until it has ended.
func waitAPIJob(t *testing.T, base, client, id string) apiJob {
	t.Helper()
	var j apiJob
	waitFor(t, 30*time.Second, "job "+id+" to end", func() bool {
		code, _, b := call(t, "GET", base+"/api/v1/jobs/"+id, client, nil)
		return code == 200 && json.Unmarshal(b, &j) == nil && j.Final
	})
	return j
}

// customers makes a customers-v3 file of n rows whose accounts start with prefix.
func apiCustomers(prefix string, n int) []byte {
	var b bytes.Buffer
	b.WriteString(customersHeader + "\n")
	for i := range n {
		fmt.Fprintf(&b, "%s-%04d,Customer %s %d,10,USD,USA,1 Main Street,Seattle,98101,ap%d@example.com,+1 206 555 0100,1000.00,30\n", prefix, i, prefix, i, i)
	}
	return b.Bytes()
}

// Upload -> job -> download, with net/http and with curl.
func TestAPIUploadDownload(t *testing.T) {
	ws, d, base := startAPI(t, "", "")
	data := apiCustomers("NET", 5)
	code, h, b := call(t, "POST", base+"/api/v1/pipelines/customers-v3/jobs?name=net.csv", "hi", bytes.NewReader(data))
	var j apiJob
	if code != 202 || json.Unmarshal(b, &j) != nil || h.Get("Location") == "" {
		t.Fatalf("upload: %d %s", code, b)
	}
	j = waitAPIJob(t, base, "hi", j.ID)
	if j.Status != "Processed" || len(j.Outputs) != 1 {
		t.Fatalf("job: %+v", j)
	}
	code, _, zip := call(t, "GET", base+j.Outputs[0].Download, "hi", nil)
	if code != 200 || int64(len(zip)) != j.Outputs[0].Size {
		t.Fatalf("download: %d, %d bytes", code, len(zip))
	}
	if want := readFile(t, filepath.Join(ws, "outbox", "customers-v3", j.Outputs[0].Name)); !bytes.Equal(zip, want) {
		t.Error("the download is not the file in the outbox")
	}

	// The same with curl, as an integrator's script would.
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed by this test: %v", err)
	}
	file := filepath.Join(t.TempDir(), "curl.csv")
	writeFile(t, file, apiCustomers("CURL", 3))
	out, err := exec.Command("curl", "-sS", "--fail-with-body", "-H", "Authorization: Bearer "+tokenOf("mid"),
		"--data-binary", "@"+file, base+"/api/v1/pipelines/customers-v3/jobs?name=curl.csv").CombinedOutput()
	if err != nil || json.Unmarshal(out, &j) != nil {
		t.Fatalf("curl upload: %v %s", err, out)
	}
	j = waitAPIJob(t, base, "mid", j.ID)
	dl := filepath.Join(t.TempDir(), "out.zip")
	out, err = exec.Command("curl", "-sS", "--fail-with-body", "-H", "Authorization: Bearer "+tokenOf("mid"), "-o", dl, base+j.Outputs[0].Download).CombinedOutput()
	if err != nil {
		t.Fatalf("curl download: %v %s", err, out)
	}
	if got := readFile(t, dl); int64(len(got)) != j.Outputs[0].Size || !bytes.HasPrefix(got, []byte("PK")) {
		t.Errorf("curl downloaded %d bytes, want %d", len(got), j.Outputs[0].Size)
	}
	// A resumed download (Range) with curl -C.
	os.Truncate(dl, 100)
	out, err = exec.Command("curl", "-sS", "--fail-with-body", "-C", "-", "-H", "Authorization: Bearer "+tokenOf("mid"), "-o", dl, base+j.Outputs[0].Download).CombinedOutput()
	if got := readFile(t, dl); err != nil || int64(len(got)) != j.Outputs[0].Size {
		t.Errorf("curl -C - resumed to %d bytes (want %d): %v %s", len(got), j.Outputs[0].Size, err, out)
	}
	// The CLI sees the API's jobs; no token is in the journal or the log.
	jobsOut, _, _ := erpipe(t, "jobs", "--json", "--workspace", ws)
	for _, c := range apiClients {
		if strings.Contains(jobsOut, tokenOf(c[0])) || strings.Contains(d.logs.String(), tokenOf(c[0])) {
			t.Errorf("client %s's token is in erpipe jobs --json or the log", c[0])
		}
	}
	if n := len(listJobs(t, ws)); n != 2 {
		t.Errorf("%d jobs, want 2", n)
	}
	// erpipe jobs show says who sent it.
	show, _, _ := erpipe(t, "jobs", "show", j.ID, "--workspace", ws)
	contains(t, "erpipe jobs show", show, "Sent over HTTP by client mid")
	d.stop(t)
}

// TestAPIRISSequence drives the recurring-integrations facade of the real
// daemon as RIS does: its upload job (enqueue each file with entity,
// company and x-ms-dyn-externalidentifier, then poll jobstatus) and its
// download job (dequeue until 204, download, ack).
func TestAPIRISSequence(t *testing.T) {
	_, d, base := startAPI(t, "", "")
	act := url.PathEscape(apiActivity)
	ris := []string{"Accept", "application/json"}
	var ids []string
	for i, name := range []string{"east.csv", "west.csv", "north.csv"} {
		code, _, b := call(t, "POST", base+"/api/connector/enqueue/"+act+"?entity="+url.QueryEscape("Customers V3")+"&company=USMF", "hi",
			bytes.NewReader(apiCustomers(fmt.Sprintf("R%d", i), 4)), append(ris, "x-ms-dyn-externalidentifier", name)...)
		if code != 200 || !bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
			t.Fatalf("enqueue %s: %d %s, want a quoted GUID", name, code, b)
		}
		ids = append(ids, strings.Trim(strings.TrimSpace(string(b)), `"`))
	}
	for _, id := range ids {
		var st struct {
			DataJobStatus struct {
				DataJobState       int
				ExternalIdentifier string
			}
			ExecutionDetail []struct {
				Company       string
				TargetRecords int
			}
		}
		waitFor(t, 30*time.Second, "message "+id+" to be processed", func() bool {
			code, _, b := call(t, "GET", base+"/api/connector/jobstatus/"+act+"?jobId="+id, "hi", nil, ris...)
			return code == 200 && json.Unmarshal(b, &st) == nil && st.DataJobStatus.DataJobState >= 5
		})
		if st.DataJobStatus.DataJobState != 5 || len(st.ExecutionDetail) != 1 || st.ExecutionDetail[0].TargetRecords != 4 || st.ExecutionDetail[0].Company != "USMF" {
			t.Errorf("jobstatus of %s: %+v", id, st)
		}
	}
	files := 0
	for range 10 {
		code, _, b := call(t, "GET", base+"/api/connector/dequeue/"+act, "hi", nil, ris...)
		if code == 204 {
			break
		}
		var m struct{ CorrelationId, PopReceipt, DownloadLocation string }
		if code != 200 || json.Unmarshal(b, &m) != nil {
			t.Fatalf("dequeue: %d %s", code, b)
		}
		code, _, zip := call(t, "GET", m.DownloadLocation, "hi", nil)
		if code != 200 || !bytes.HasPrefix(zip, []byte("PK")) {
			t.Fatalf("download: %d", code)
		}
		if code, _, ab := call(t, "POST", base+"/api/connector/ack/"+act, "hi", bytes.NewReader(b), "Content-Type", "application/json"); code != 200 {
			t.Fatalf("ack: %d %s", code, ab)
		}
		files++
	}
	if files != 3 {
		t.Errorf("the download job took %d files, want 3", files)
	}
	d.stop(t)
}

// slowBody sends data in pieces with pauses, as a client on a slow link:
// each upload takes a while, so that requests overlap.
func slowBody(data []byte) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(data); i += 512 {
			pw.Write(data[i:min(i+512, len(data))])
			time.Sleep(5 * time.Millisecond)
		}
		pw.Close()
	}()
	return pr
}

// 200 concurrent uploads from three clients of different priority against
// a low concurrency limit: high-priority requests are never refused while
// lower ones are served; every 429 carries Retry-After; each upload is
// retried with its Idempotency-Key until taken, and ends as exactly one job.
func TestAPIPriorityUnderLoad(t *testing.T) {
	// concurrent: 48 lets low-priority clients fill 24, medium 36, and
	// high-priority ones 48 of their own: the 40 high-priority uploads
	// sent at once always fit, the 160 others do not.
	ws, d, base := startAPI(t, "", "  limits:\n    concurrent: 48\n    queued: 1000\n    rate: 1000\n    burst: 1000\n")
	type result struct {
		client string
		job    string
		tries  int
		busy   int
	}
	per := map[string]int{"hi": 40, "mid": 80, "lo": 80} // 200 uploads, all sent at once
	var (
		mu       sync.Mutex
		results  []result
		problems []string
		wg       sync.WaitGroup
	)
	start := make(chan struct{})
	for client, n := range per {
		for i := range n {
			wg.Go(func() {
				<-start
				r := result{client: client}
				data := apiCustomers(fmt.Sprintf("%s%03d", strings.ToUpper(client), i), 8)
				for r.job == "" && r.tries < 200 {
					r.tries++
					req, _ := http.NewRequest("POST", base+"/api/v1/pipelines/customers-v3/jobs?name="+client+strconv.Itoa(i)+".csv", slowBody(data))
					req.Header.Set("Authorization", "Bearer "+tokenOf(client))
					req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%d", client, i))
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						mu.Lock()
						problems = append(problems, err.Error())
						mu.Unlock()
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case 200, 202:
						var j apiJob
						json.Unmarshal(b, &j)
						r.job = j.ID
					case 429:
						r.busy++
						ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
						if err != nil || ra < 1 {
							mu.Lock()
							problems = append(problems, fmt.Sprintf("a 429 to %s without a Retry-After in seconds: %q", client, resp.Header.Get("Retry-After")))
							mu.Unlock()
						}
						time.Sleep(time.Duration(min(ra, 1)) * 200 * time.Millisecond)
					default:
						mu.Lock()
						problems = append(problems, fmt.Sprintf("%s upload %d: %d %s", client, i, resp.StatusCode, b))
						mu.Unlock()
						return
					}
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	busy := map[string]int{}
	served := map[string]int{}
	seen := map[string]string{}
	for _, r := range results {
		busy[r.client] += r.busy
		if r.job == "" {
			t.Errorf("an upload of %s was never taken in %d tries", r.client, r.tries)
			continue
		}
		served[r.client]++
		if other, dup := seen[r.job]; dup {
			t.Errorf("job %s was answered to two uploads (%s, %s)", r.job, other, r.client)
		}
		seen[r.job] = r.client
	}
	t.Logf("429s: high %d, medium %d, low %d; taken: %v", busy["hi"], busy["mid"], busy["lo"], served)
	if busy["hi"] != 0 {
		t.Errorf("high-priority uploads were refused %d times while lower ones were served", busy["hi"])
	}
	// Which of low and medium is refused more often depends on when each
	// retries; the order of refusal is TestThrottleAdmission's and
	// TestQueueLimitByPriority's (package api). Here: low ones were refused.
	if busy["lo"] == 0 {
		t.Errorf("low-priority uploads were never refused (medium %d times): the limit did not bite", busy["mid"])
	}
	if served["lo"] != per["lo"] || served["mid"] != per["mid"] || served["hi"] != per["hi"] {
		t.Errorf("taken %v, want %v", served, per)
	}
	// No upload lost or duplicated: 200 jobs, each processed once.
	var jobs []job
	waitFor(t, 120*time.Second, "200 jobs to end", func() bool {
		jobs = listJobs(t, ws)
		ended := 0
		for _, j := range jobs {
			if j.Status == "Processed" {
				ended++
			}
		}
		return ended == 200
	})
	if len(jobs) != 200 {
		t.Errorf("%d jobs in the journal, want 200", len(jobs))
	}
	inputs := map[string]bool{}
	for _, j := range jobs {
		if inputs[j.Input] {
			t.Errorf("input %s was made a job twice", j.Input)
		}
		inputs[j.Input] = true
	}
	d.stop(t)
}

// Bad input: each a clear 4xx, nothing half-stored.
func TestAPIBadInput(t *testing.T) {
	ws, d, base := startAPI(t, "", "  max_upload: 64KiB\n")
	act := url.PathEscape(apiActivity)
	u, _ := url.Parse(base)
	// A truncated upload: Content-Length says 5000, 100 bytes come, then the client stops sending.
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/v1/pipelines/customers-v3/jobs?name=cut.csv HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: 5000\r\n\r\n%s", u.Host, tokenOf("hi"), apiCustomers("CUT", 20)[:100])
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("truncated upload: no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	conn.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "nothing was kept") {
		t.Errorf("truncated upload: %d %s", resp.StatusCode, b)
	}
	// The first upload under a key, for the replay below.
	if code, _, b := call(t, "POST", base+"/api/v1/pipelines/customers-v3/jobs?name=k.csv", "hi", bytes.NewReader(apiCustomers("KEY", 3)), "Idempotency-Key", "k-1"); code != 202 {
		t.Fatalf("upload: %d %s", code, b)
	}
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		hdr                []string
		code               int
		says               string
	}{
		{"unknown pipeline", "POST", "/api/v1/pipelines/nothing/jobs?name=a.csv", apiCustomers("X", 1), nil, 404, "no pipeline"},
		{"larger than the limit", "POST", "/api/v1/pipelines/customers-v3/jobs?name=big.csv", apiCustomers("BIG", 2000), nil, 413, "at most 65536"},
		{"malformed ack", "POST", "/api/connector/ack/" + act, []byte(`{"CorrelationId": 12`), nil, 400, "JSON the dequeue answered"},
		{"replayed key, another body", "POST", "/api/v1/pipelines/customers-v3/jobs?name=k.csv", apiCustomers("OTHER", 3), []string{"Idempotency-Key", "k-1"}, 409, "different body"},
		{"no token", "GET", "/api/v1/jobs", nil, nil, 401, "Bearer"},
	} {
		client := "hi"
		if tc.code == 401 {
			client = ""
		}
		code, _, b := call(t, tc.method, base+tc.path, client, bytes.NewReader(tc.body), tc.hdr...)
		if code != tc.code || !strings.Contains(string(b), tc.says) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, code, b, tc.code, tc.says)
		}
	}
	waitJobs(t, ws, 1)
	if jobs := listJobs(t, ws); len(jobs) != 1 || jobs[0].Input != "k.csv" {
		t.Errorf("jobs after the bad requests: %+v, want only k.csv's", jobs)
	}
	if left, _ := os.ReadDir(filepath.Join(ws, ".erpipe", "uploads")); len(left) != 0 {
		t.Errorf("half-stored uploads left: %v", left)
	}
	if claimed, _ := filepath.Glob(filepath.Join(ws, ".erpipe", "claimed", "*", "*")); len(claimed) != 0 {
		t.Errorf("claimed inputs left: %v", claimed)
	}
	d.stop(t)
}

// erpipe tokens new prints a token once and the erpipe.yaml lines with its
// hash; the daemon takes the token with those lines, within its scopes.
func TestAPITokensNew(t *testing.T) {
	out, errOut, code := erpipe(t, "tokens", "new", "ris-prod", "--priority", "high", "--pipeline", "customers-v3")
	if code != 0 {
		t.Fatalf("erpipe tokens new: exit %d: %s", code, errOut)
	}
	var token, yaml string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "erp_"):
			token = strings.TrimSpace(line)
		case strings.HasPrefix(line, "    "):
			yaml += line + "\n"
		}
	}
	sum := sha256.Sum256([]byte(token))
	if token == "" || !strings.Contains(yaml, "token_sha256: "+hex.EncodeToString(sum[:])) || !strings.Contains(yaml, "priority: high") {
		t.Fatalf("erpipe tokens new printed:\n%s", out)
	}
	if again, _, _ := erpipe(t, "tokens", "new", "ris-prod"); strings.Contains(again, token) {
		t.Error("two tokens made alike")
	}
	if _, errOut, code := erpipe(t, "tokens", "new", "x", "--priority", "urgent"); code != 2 || !strings.Contains(errOut, "high, medium or low") {
		t.Errorf("--priority urgent: exit %d: %s", code, errOut)
	}
	_, d, base := startAPI(t, "", yaml)
	auth := []string{"Authorization", "Bearer " + token}
	if code, _, b := call(t, "GET", base+"/api/v1/pipelines", "", nil, auth...); code != 200 || !strings.Contains(string(b), `"customers-v3"`) || strings.Contains(string(b), `"vendors-v2"`) {
		t.Errorf("pipelines with the new token: %d %s", code, b)
	}
	if code, _, b := call(t, "POST", base+"/api/v1/pipelines/vendors-v2/jobs?name=v.csv", "", strings.NewReader("x"), auth...); code != 403 {
		t.Errorf("outside its scopes: %d %s, want 403", code, b)
	}
	d.stop(t)
}

// A schedule's period run over the API, refused again once produced and
// made again as a correction with force; a failed job retried over the
// API runs again as a new job that notes it.
func TestAPIScheduleRunAndRetry(t *testing.T) {
	top := "schedules:\n  - name: saft-monthly\n    template: saft-no\n    cron: \"0 6 1 * *\"\n    time_zone: Europe/Oslo\n    period: previous-month\n    input:\n      files: data/ledger/*.csv\n"
	ws, d, base := startAPI(t, top, "")
	os.MkdirAll(filepath.Join(ws, "data", "ledger"), 0o755)
	writeFile(t, filepath.Join(ws, "data", "ledger", "ledger.csv"), []byte(strings.Join(saftColumns, ",")+"\n"+ledgerMaster+ledgerLines(ledgerTxs...)))
	code, _, b := call(t, "GET", base+"/api/v1/schedules", "hi", nil)
	if code != 200 || !strings.Contains(string(b), `"saft-monthly"`) {
		t.Fatalf("schedules: %d %s", code, b)
	}
	var j apiJob
	code, _, b = call(t, "POST", base+"/api/v1/schedules/saft-monthly/run?period=2026-10", "hi", nil)
	if code != 200 || json.Unmarshal(b, &j) != nil || j.Status != "Processed" {
		t.Fatalf("run 2026-10: %d %s", code, b)
	}
	if code, _, b := call(t, "POST", base+"/api/v1/schedules/saft-monthly/run?period=2026-10", "hi", nil); code != 409 || !strings.Contains(string(b), "force=true") {
		t.Errorf("run 2026-10 again: %d %s, want 409 saying force=true", code, b)
	}
	// A correction needs a reason, kept with it.
	if code, _, b := call(t, "POST", base+"/api/v1/schedules/saft-monthly/run?period=2026-10&force=true", "hi", nil); code != 400 || !strings.Contains(string(b), "reason_required") {
		t.Errorf("a correction of 2026-10 without a reason: %d %s, want 400 reason_required", code, b)
	}
	if code, _, b := call(t, "POST", base+"/api/v1/schedules/saft-monthly/run?period=2026-10&force=true&reason=VAT+code+corrected", "hi", nil); code != 200 || !strings.Contains(string(b), `"Processed"`) {
		t.Errorf("a correction of 2026-10: %d %s", code, b)
	}
	if code, _, b := call(t, "POST", base+"/api/v1/schedules/saft-monthly/run?period=2099-01", "hi", nil); code != 409 || !strings.Contains(string(b), "has not ended") {
		t.Errorf("a period not ended: %d %s", code, b)
	}
	if code, _, b := call(t, "POST", base+"/api/v1/schedules/nothing/run", "hi", nil); code != 404 {
		t.Errorf("an unknown schedule: %d %s", code, b)
	}

	// A file its template refuses fails; after the retry it is a new job.
	code, _, b = call(t, "POST", base+"/api/v1/pipelines/customers-v3/jobs?name=bad.csv", "hi", strings.NewReader("Account,Name\nX-1,\n"))
	if code != 202 || json.Unmarshal(b, &j) != nil {
		t.Fatalf("upload: %d %s", code, b)
	}
	if j = waitAPIJob(t, base, "hi", j.ID); j.Status != "Failed" {
		t.Fatalf("the bad file's job is %s, want Failed", j.Status)
	}
	if code, _, b := call(t, "GET", base+"/api/v1/jobs/"+j.ID+"/report", "hi", nil); code != 200 || len(b) == 0 {
		t.Errorf("report: %d %s", code, b)
	}
	if code, _, b := call(t, "POST", base+"/api/v1/jobs/"+j.ID+"/retry", "hi", nil); code != 202 {
		t.Fatalf("retry: %d %s", code, b)
	}
	var retried []apiJob
	waitFor(t, 30*time.Second, "the retry's job to end", func() bool {
		_, _, b := call(t, "GET", base+"/api/v1/jobs?pipeline=customers-v3&status=failed", "hi", nil)
		var l struct{ Jobs []apiJob }
		json.Unmarshal(b, &l)
		retried = l.Jobs
		return len(l.Jobs) == 2
	})
	code, _, b = call(t, "GET", base+"/api/v1/jobs/"+retried[1].ID, "hi", nil)
	if code != 200 || !strings.Contains(string(b), `"retry_of":"`+j.ID+`"`) {
		t.Errorf("the retry's job does not name the job it retries: %s", b)
	}
	if code, _, b := call(t, "POST", base+"/api/v1/jobs/"+retried[1].ID+"/retry", "lo", nil); code != 202 && code != 429 {
		t.Errorf("a low-priority client's retry: %d %s", code, b)
	}
	d.stop(t)
}

// An Idempotency-Key is kept in the journal: after a restart the retried
// upload still gets the first job.
func TestAPIKeySurvivesRestart(t *testing.T) {
	ws, d, base := startAPI(t, "", "")
	data := apiCustomers("KEEP", 3)
	code, _, b := call(t, "POST", base+"/api/v1/pipelines/customers-v3/jobs?name=keep.csv", "hi", bytes.NewReader(data), "Idempotency-Key", "keep-1")
	var first apiJob
	if code != 202 || json.Unmarshal(b, &first) != nil {
		t.Fatalf("upload: %d %s", code, b)
	}
	waitAPIJob(t, base, "hi", first.ID)
	d.stop(t)
	d = startDaemonEnv(t, ws, nil, "the HTTP API to be ready again", func(*daemon) bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	code, h, b := call(t, "POST", base+"/api/v1/pipelines/customers-v3/jobs?name=keep.csv", "hi", bytes.NewReader(data), "Idempotency-Key", "keep-1")
	var again apiJob
	if code != 200 || json.Unmarshal(b, &again) != nil || again.ID != first.ID || h.Get("Idempotency-Replayed") != "true" {
		t.Errorf("the retried upload after a restart: %d %s, want 200 and job %s", code, b, first.ID)
	}
	if n := len(listJobs(t, ws)); n != 1 {
		t.Errorf("%d jobs, want 1", n)
	}
	d.stop(t)
}
