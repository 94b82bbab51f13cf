package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookReceiver is a webhook receiver on 127.0.0.1, with its own check of
// erpipe's signature (HMAC-SHA256 over "<t>.<body>", as docs/events.md
// says), that can refuse connections (down), answer 503 (failing) or
// take events (up).
type hookReceiver struct {
	t      *testing.T
	addr   string
	secret string

	mu       sync.Mutex
	ln       net.Listener
	srv      *http.Server
	answer   int
	requests int            // every request that reached it
	taken    map[string]int // "<path> <event id>" -> times stored (2xx meant)
	slowOnce bool           // store the next event, then answer after erpipe's timeout
	bodies   map[string]map[string]any
	bad      []string // what was wrong with requests
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down until up() or failing()
	r := &hookReceiver{t: t, addr: addr, secret: secret, taken: map[string]int{}, bodies: map[string]map[string]any{}}
	t.Cleanup(r.down)
	return r
}

// serve listens (again) on the receiver's address, answering code.
func (r *hookReceiver) serve(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = code
	if r.ln != nil {
		return
	}
	var err error
	for range 50 { // the port was just closed; it may take a moment to be free
		if r.ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv = &http.Server{Handler: r}
	go r.srv.Serve(r.ln)
}

// down closes the listener: connections are refused.
func (r *hookReceiver) down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close()
	}
	r.srv, r.ln = nil, nil
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests++
	id := req.Header.Get("Erpipe-Event-Id")
	answer, slow := r.answer, false
	if why := r.check(req, body, id); why != "" {
		r.bad = append(r.bad, id+": "+why)
		answer = http.StatusUnauthorized
	} else if answer/100 == 2 {
		r.taken[req.URL.Path+" "+id]++
		var ev map[string]any
		json.Unmarshal(body, &ev)
		r.bodies[id] = ev
		slow, r.slowOnce = r.slowOnce, false
	}
	r.mu.Unlock()
	if slow { // stored, but the answer comes too late: erpipe sends it again
		time.Sleep(3 * time.Second)
	}
	w.WriteHeader(answer)
}

// check verifies a request as a receiver would, with no code of erpipe's.
func (r *hookReceiver) check(req *http.Request, body []byte, id string) string {
	var ts, sig string
	for part := range strings.SplitSeq(req.Header.Get("Erpipe-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	m := hmac.New(sha256.New, []byte(r.secret))
	m.Write([]byte(ts + "." + string(body)))
	if want := hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(sig), []byte(want)) {
		return "signature " + sig + " is not " + want
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return "timestamp " + ts + " is not now"
	}
	var ev struct{ ID, Type string }
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id || ev.Type != req.Header.Get("Erpipe-Event-Type") {
		return fmt.Sprintf("body %s does not match the headers", body)
	}
	if req.Header.Get("Content-Type") != "application/json" {
		return "content type " + req.Header.Get("Content-Type")
	}
	return ""
}

func (r *hookReceiver) counts() (requests, taken int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, len(r.taken)
}

// eventDelivery is a delivery as erpipe jobs --json shows it.
type eventDelivery struct {
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	Webhook   string `json:"webhook"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// jobEvents returns the deliveries of every job's events, by job id.
func jobEvents(t *testing.T, ws string) (map[string][]eventDelivery, string) {
	t.Helper()
	out, errOut, code := erpipe(t, "jobs", "--json", "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe jobs: exit %d: %s", code, errOut)
	}
	var list []struct {
		ID     string          `json:"id"`
		Events []eventDelivery `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	m := map[string][]eventDelivery{}
	for _, j := range list {
		m[j.ID] = j.Events
	}
	return m, out
}

// TestWebhookEvents: a webhook receiver that refuses connections, then
// answers 503, across a restart of the daemon, then takes events, gets
// every event (job ended, job failed, period produced, period failed)
// with a valid signature, and takes each event id exactly once; every
// delivery ends delivered in the journal; the secret is nowhere.
func TestWebhookEvents(t *testing.T) {
	const secret = "e2e-webhook-secret-0123456789abcdef"
	rc := newHookReceiver(t, secret)
	dayBefore := time.Now().AddDate(0, 0, -2).Format("2006-01-02")
	cfg := fmt.Sprintf(`settle: 200ms
rescan: 500ms
schedules:
  - name: daily-customers
    template: customers-v3
    cron: "@daily"
    period: previous-day
    from: %s
    input: {files: data/*.csv}
  - name: daily-nothing
    template: customers-v3
    cron: "@daily"
    period: previous-day
    from: %s
    input: {files: missing/*.csv}
    retry: {attempts: 1}
webhooks:
  - name: erp
    url: http://%s/hooks/erpipe?token=not-a-secret-but-kept-out
    retry: {delay: 200ms, max_delay: 1s}
    timeout: 2s
  - name: failures-only
    url: http://%s/hooks/failures
    events: [job.failed]
    pipelines: [customers-v3]
    retry: {delay: 200ms, max_delay: 1s}
    timeout: 2s
`, dayBefore, time.Now().AddDate(0, 0, -1).Format("2006-01-02"), rc.addr, rc.addr)
	ws := workspaceWith(t, cfg)
	if err := os.MkdirAll(filepath.Join(ws, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ws, "data", "c.csv"), customers(t, 1))
	env := append(os.Environ(), "ERPIPE_WEBHOOK_SECRET="+secret)
	ready := func(*daemon) bool {
		_, err := os.Stat(filepath.Join(ws, ".erpipe", "journal.db"))
		return err == nil
	}

	// The receiver is down: connections are refused.
	d := startDaemonEnv(t, ws, env, "the daemon to start", ready)
	inbox := filepath.Join(ws, "inbox", "customers-v3")
	drop(t, inbox, "good.csv", customers(t, 2))
	drop(t, inbox, "bad.csv", []byte("Nothing,Here\n1,2\n"))
	byInput := map[string]job{}
	waitFor(t, 30*time.Second, "2 files and 3 periods to end", func() bool {
		list := listJobs(t, ws)
		for _, j := range list {
			byInput[j.Input] = j
		}
		return len(list) == 5 && !slices.ContainsFunc(list, func(j job) bool { return j.Finished.IsZero() })
	})
	if byInput["good.csv"].Status != "Processed" || byInput["bad.csv"].Status != "Failed" {
		t.Fatalf("good.csv %s, bad.csv %s", byInput["good.csv"].Status, byInput["bad.csv"].Status)
	}
	waitFor(t, 20*time.Second, "deliveries tried against a receiver that is down", func() bool {
		evs, _ := jobEvents(t, ws)
		for _, list := range evs {
			for _, e := range list {
				if e.Attempts == 0 {
					return false
				}
			}
		}
		return true
	})
	evs, _ := jobEvents(t, ws)
	for _, list := range evs {
		for _, e := range list {
			if e.Status != "pending" || !strings.Contains(e.LastError, "refused") || strings.Contains(e.LastError, "token") {
				t.Errorf("delivery while the receiver is down: %+v; want pending, connection refused, no URL query", e)
			}
		}
	}

	// It answers 503 for a while; the daemon stops and starts again
	// meanwhile.
	rc.serve(http.StatusServiceUnavailable)
	waitFor(t, 20*time.Second, "503 answers", func() bool { n, _ := rc.counts(); return n >= 6 })
	d.stop(t)
	d = startDaemonEnv(t, ws, env, "the daemon to start again", ready)
	time.Sleep(time.Second)

	// Up: every event arrives; the first is stored, but answered after
	// erpipe's timeout, so that it comes twice, with the same id.
	rc.mu.Lock()
	rc.slowOnce = true
	rc.mu.Unlock()
	rc.serve(http.StatusOK)
	var want map[string]string // event id -> type
	waitFor(t, 60*time.Second, "every delivery to be delivered", func() bool {
		evs, _ := jobEvents(t, ws)
		want = map[string]string{}
		for _, list := range evs {
			for _, e := range list {
				if e.Status != "delivered" {
					return false
				}
				want[e.EventID] = e.Type
			}
		}
		return true
	})
	d.stop(t)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Errorf("requests the receiver refused: %q", rc.bad)
	}
	// The set of events the receiver stored is the journal's, each event
	// once per webhook but the one answered too late, which came twice.
	var types []string
	stored := map[string]bool{}
	twice := 0
	for key, n := range rc.taken {
		path, id, _ := strings.Cut(key, " ")
		stored[id] = true
		if _, ok := want[id]; !ok {
			t.Errorf("the receiver stored event %s at %s, which the journal does not have", id, path)
		}
		if n == 2 {
			twice++
		} else if n != 1 {
			t.Errorf("event %s (%s) came %d times to %s", id, want[id], n, path)
		}
	}
	if twice != 1 {
		t.Errorf("%d events came twice to a webhook; want the one answered too late", twice)
	}
	for id, typ := range want {
		if !stored[id] {
			t.Errorf("event %s (%s) was never stored", id, typ)
		}
		types = append(types, typ)
		if typ == "job.failed" && (rc.taken["/hooks/erpipe "+id] == 0 || rc.taken["/hooks/failures "+id] == 0) {
			t.Errorf("job.failed %s did not reach both webhooks under the same id", id)
		}
	}
	slices.Sort(types)
	wantTypes := []string{"job.ended", "job.failed", "period.failed", "period.produced", "period.produced"}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("event types %q; want %q", types, wantTypes)
	}
	t.Logf("%d events, %d deliveries stored, %d requests in all (refused connections not counted)", len(want), len(rc.taken), rc.requests)

	// What an event says.
	for id, ev := range rc.bodies {
		job, _ := ev["job"].(map[string]any)
		switch ev["type"] {
		case "job.ended":
			if job["input"] != "good.csv" || job["status"] != "Processed" || ev["pipeline"] != "customers-v3" {
				t.Errorf("job.ended %s: %v", id, ev)
			}
		case "job.failed":
			if job["input"] != "bad.csv" || job["status"] != "Failed" || len(job["errors"].([]any)) == 0 {
				t.Errorf("job.failed %s: %v", id, ev)
			}
		case "period.produced", "period.failed":
			if p, _ := ev["period"].(map[string]any); p == nil || p["name"] == "" || ev["schedule"] == "" {
				t.Errorf("%s %s: %v", ev["type"], id, ev)
			}
		}
	}

	// jobs show says where each delivery is; the secret is nowhere.
	out, _, _ := erpipe(t, "jobs", "show", byInput["bad.csv"].ID, "--workspace", ws)
	contains(t, "jobs show", out, "Events:", "job.failed -> erp: delivered", "job.failed -> failures-only: delivered")
	_, all := jobEvents(t, ws)
	journal, _ := os.ReadFile(filepath.Join(ws, ".erpipe", "journal.db"))
	wal, _ := os.ReadFile(filepath.Join(ws, ".erpipe", "journal.db-wal"))
	for what, s := range map[string]string{"the daemon's log": d.logs.String(), "jobs --json": all, "jobs show": out,
		"the journal": string(journal) + string(wal)} {
		if strings.Contains(s, secret) {
			t.Errorf("the secret is in %s", what)
		}
		if strings.Contains(s, "not-a-secret-but-kept-out") {
			t.Errorf("the URL's query is in %s", what)
		}
	}
}
