package events

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func TestVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	body := []byte(`{"id":"evt_1","type":"job.ended"}`)
	now := time.Unix(1_800_000_000, 0)
	good := Sign(secret, body, now)
	tests := []struct {
		name   string
		header string
		body   []byte
		at     time.Time
		want   error
	}{
		{"valid", good, body, now, nil},
		{"valid within tolerance", good, body, now.Add(4 * time.Minute), nil},
		{"another v1 first", "t=1800000000,v1=00," + strings.TrimPrefix(good, "t=1800000000,"), body, now, nil},
		{"changed body", good, append(body, ' '), now, ErrBadSignature},
		{"other secret", Sign([]byte("another secret of some length"), body, now), body, now, ErrBadSignature},
		{"replayed later", good, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", good, body, now.Add(-6 * time.Minute), ErrStale},
		{"timestamp changed", strings.Replace(good, "t=1800000000", "t=1800000300", 1), body, now.Add(5 * time.Minute), ErrBadSignature},
		{"empty", "", body, now, ErrNoSignature},
		{"no v1", "t=1800000000", body, now, ErrNoSignature},
		{"no t", "v1=" + strings.Split(good, "v1=")[1], body, now, ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(secret, tt.header, tt.body, tt.at, 0)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v; want %v", err, tt.want)
			}
		})
	}
	// The signature is what the docs say: HMAC-SHA256 of "<t>.<body>".
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.%s", now.Unix(), body)
	if want := fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(m.Sum(nil))); good != want {
		t.Errorf("Sign = %s; want %s", good, want)
	}
}

func TestRouteAndBackoff(t *testing.T) {
	hooks := []Webhook{
		{Name: "all"},
		{Name: "failed", Events: []Type{JobFailed, PeriodFailed}},
		{Name: "pipe", Pipelines: []string{"p"}},
		{Name: "sched", Schedules: []string{"s"}, Events: []Type{PeriodProduced}},
	}
	tests := []struct {
		t                  Type
		pipeline, schedule string
		want               []string
	}{
		{JobEnded, "p", "", []string{"all", "pipe"}},
		{JobFailed, "q", "", []string{"all", "failed"}},
		{PeriodProduced, "", "s", []string{"all", "sched"}},
		{PeriodFailed, "", "t", []string{"all", "failed"}},
		{DestinationWaiting, "p", "", []string{"all", "pipe"}},
	}
	for _, tt := range tests {
		if got := Route(hooks, tt.t, tt.pipeline, tt.schedule); !slices.Equal(got, tt.want) {
			t.Errorf("Route(%s, %q, %q) = %q; want %q", tt.t, tt.pipeline, tt.schedule, got, tt.want)
		}
	}
	h := Webhook{RetryMin: time.Second, RetryMax: 10 * time.Second}
	var got []time.Duration
	for a := 1; a <= 6; a++ {
		got = append(got, h.Backoff(a))
	}
	want := []time.Duration{1e9, 2e9, 4e9, 8e9, 10e9, 10e9}
	if !slices.Equal(got, want) {
		t.Errorf("Backoff = %v; want %v", got, want)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		hook Webhook
		want string
	}{
		{Webhook{Name: "a", URL: "https://h.example/x"}, ""},
		{Webhook{Name: "a b", URL: "https://h.example/x"}, "name"},
		{Webhook{Name: "a", URL: "ftp://h.example/x"}, "http:// or https://"},
		{Webhook{Name: "a", URL: "https://user:pw@h.example/x"}, "credentials"},
		{Webhook{Name: "a", URL: "https://h.example/x", SecretEnv: "X", SecretFile: "f"}, "not both"},
		{Webhook{Name: "a", URL: "https://h.example/x", RetryMin: time.Hour, RetryMax: time.Minute}, "max_delay"},
	}
	for _, tt := range tests {
		err := tt.hook.Check()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%+v) = %v; want %q", tt.hook, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("Check tells the URL's password: %v", err)
		}
	}
}

// outbox opens a fresh outbox in a database of its own.
func outbox(t *testing.T) (*Store, *sql.DB) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "j.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(Schema); err != nil {
		t.Fatal(err)
	}
	return NewStore(db), db
}

// receiver is a webhook receiver on 127.0.0.1 that answers what answer
// says and keeps what it was sent.
type receiver struct {
	mu       sync.Mutex
	answer   int
	got      []string // event ids, in order of arrival
	verified int
	secret   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if Verify(rc.secret, r.Header.Get(HeaderSignature), body, time.Now(), 0) == nil {
		rc.verified++
	}
	rc.got = append(rc.got, r.Header.Get(HeaderEventID))
	w.WriteHeader(rc.answer)
}

// TestDispatcher: deliveries to a receiver that refuses connections, then
// answers 503, then 200, are retried with back-off and delivered once
// each; one to a webhook no longer configured is dropped; one past its
// give-up time is given up.
func TestDispatcher(t *testing.T) {
	const secret = "a-secret-of-sixteen-or-more"
	t.Setenv(DefaultSecretEnv, secret)
	store, db := outbox(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused
	hooks := []Webhook{{Name: "h", URL: "http://" + addr + "/hook?token=not-for-logs", RetryMin: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond}}
	ctx := context.Background()
	now := time.Now()
	var ids []string
	for i := range 3 {
		ev := New(JobEnded, now, "p", "", hooks)
		ev.Job = &Job{ID: fmt.Sprint("job", i), Status: "Processed"}
		if err := Add(ctx, db, ev, ev.Job.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	gone := New(JobFailed, now, "p", "", []Webhook{{Name: "gone"}})
	if err := Add(ctx, db, gone, "job9"); err != nil {
		t.Fatal(err)
	}
	d := &Dispatcher{Store: store, Hooks: func() []Webhook { return hooks }}
	if _, err := d.Round(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := store.List(ctx, 0)
	for _, dl := range list {
		switch {
		case dl.Webhook == "gone" && dl.Status != Dropped:
			t.Errorf("delivery to a webhook no longer configured: %s", dl.Status)
		case dl.Webhook == "h" && (dl.Status != Pending || dl.Attempts != 1 || !strings.Contains(dl.LastError, "refused")):
			t.Errorf("delivery to a receiver that is down: %+v", dl)
		}
		if strings.Contains(dl.LastError, "not-for-logs") {
			t.Errorf("the URL's query is in the journal: %s", dl.LastError)
		}
	}

	rc := &receiver{answer: http.StatusServiceUnavailable, secret: []byte(secret)}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(runCtx) }()
	waitUntil(t, func() bool { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.got) >= 6 })
	rc.mu.Lock()
	rc.answer = http.StatusNoContent
	rc.mu.Unlock()
	waitUntil(t, func() bool {
		list, _ := store.List(ctx, 0)
		return !slices.ContainsFunc(list, func(d *Delivery) bool { return d.Status == Pending })
	})
	stop()
	<-done
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.verified != len(rc.got) {
		t.Errorf("%d of %d requests had a valid signature", rc.verified, len(rc.got))
	}
	got := slices.Compact(slices.Sorted(slices.Values(rc.got)))
	if !slices.Equal(got, slices.Sorted(slices.Values(ids))) {
		t.Errorf("received ids %q; want %q", got, ids)
	}
	list, _ = store.List(ctx, 0)
	for _, dl := range list {
		if dl.Webhook == "h" && (dl.Status != Delivered || dl.Attempts < 3 || dl.LastCode != http.StatusNoContent) {
			t.Errorf("delivery %+v; want delivered after the refusals and the 503s", dl)
		}
	}
	backlog, err := store.Backlogs(ctx)
	if err != nil || len(backlog) != 2 || backlog[1].ByStatus[Delivered] != 3 || !backlog[1].OldestPending.IsZero() {
		t.Errorf("backlogs %+v (%v)", backlog, err)
	}

	// Past its give-up time, a delivery that fails is given up.
	old := New(JobEnded, now.Add(-2*time.Hour), "p", "", hooks)
	Add(ctx, db, old, "job10")
	hooks[0].GiveUp = time.Hour
	rc.answer = http.StatusInternalServerError
	rc.mu.Unlock()
	d.Round(ctx)
	rc.mu.Lock()
	list, _ = store.List(ctx, 1)
	if list[0].Status != GivenUp || !strings.Contains(list[0].LastError, "500") {
		t.Errorf("old delivery: %+v; want given up with the 500", list[0])
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDispatcherIsolatesWebhooks: a webhook that never answers holds up
// only its own deliveries; another's are delivered meanwhile.
func TestDispatcherIsolatesWebhooks(t *testing.T) {
	t.Setenv(DefaultSecretEnv, "a-secret-of-sixteen-or-more")
	store, db := outbox(t)
	hang := make(chan struct{})
	defer close(hang)
	slow := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	good := &receiver{answer: http.StatusOK, secret: []byte("a-secret-of-sixteen-or-more")}
	fast := httptestServer(t, good)
	hooks := []Webhook{
		{Name: "slow", URL: slow + "/h", Timeout: time.Second, RetryMin: time.Hour},
		{Name: "fast", URL: fast + "/h"},
	}
	ctx := context.Background()
	for i := range 5 {
		ev := New(JobEnded, time.Now(), "p", "", hooks)
		if err := Add(ctx, db, ev, fmt.Sprint("job", i)); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	d := &Dispatcher{Store: store, Hooks: func() []Webhook { return hooks }, Poll: 50 * time.Millisecond}
	start := time.Now()
	go func() { done <- d.Run(runCtx) }()
	waitUntil(t, func() bool { good.mu.Lock(); defer good.mu.Unlock(); return len(good.got) == 5 })
	took := time.Since(start)
	stop()
	<-done
	if took > 900*time.Millisecond {
		t.Errorf("the good webhook got its 5 events after %v; the one that hangs held it up", took)
	}
}

// httptestServer serves h on 127.0.0.1 until the test ends and returns
// its URL.
func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
