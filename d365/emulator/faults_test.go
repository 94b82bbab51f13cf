package emulator_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
)

func TestThrottleRetryAfter(t *testing.T) {
	s := start(t, fast)
	tok := token(t, s)
	body := map[string]string{"uniqueFileName": "x"}
	tests := []struct {
		name  string
		fault emulator.Fault
		check func(t *testing.T, h string, before, after time.Time)
	}{
		{"seconds", emulator.Fault{Scope: emulator.APIRequests, Status: 429, Count: 2, RetryAfter: 1500 * time.Millisecond}, func(t *testing.T, h string, _, _ time.Time) {
			if h != "2" {
				t.Errorf("Retry-After %q, want 2 (1.5s rounded up)", h)
			}
		}},
		{"HTTP date", emulator.Fault{Scope: emulator.APIRequests, Status: 429, Count: 2, RetryAfter: time.Second, RetryAfterDate: true}, func(t *testing.T, h string, before, after time.Time) {
			d, err := http.ParseTime(h)
			if err != nil {
				t.Fatalf("Retry-After %q is no HTTP date: %v", h, err)
			}
			// Rounded up to whole seconds: at least RetryAfter, at most a second more.
			if !d.After(before.Add(time.Second)) || d.After(after.Add(2*time.Second)) {
				t.Errorf("Retry-After %q, asked between %v and %v", h, before, after)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Inject(tt.fault)
			for i := range 2 {
				before := time.Now()
				a := call(t, s, tok, "GetAzureWriteUrl", body)
				after := time.Now()
				if a.status != http.StatusTooManyRequests {
					t.Fatalf("request %d: %d, want 429", i, a.status)
				}
				tt.check(t, a.header.Get("Retry-After"), before, after)
				if m := a.json(t); m["error"] == nil {
					t.Errorf("429 body %s", a.body)
				}
			}
			if a := call(t, s, tok, "GetAzureWriteUrl", body); a.status != http.StatusOK {
				t.Errorf("after the throttled requests: %d", a.status)
			}
		})
	}
	// Coming back before Retry-After is told.
	if early := s.EarlyRequests(); len(early) == 0 {
		t.Error("EarlyRequests found none, though the test came back at once")
	}
}

func TestEarlyRequests(t *testing.T) {
	s := start(t, fast)
	tok := token(t, s)
	s.Throttle(1, time.Second)
	a := call(t, s, tok, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "x"})
	secs, _ := strconv.Atoi(a.header.Get("Retry-After"))
	time.Sleep(time.Duration(secs) * time.Second)
	call(t, s, tok, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "x"})
	if early := s.EarlyRequests(); len(early) != 0 {
		t.Errorf("a client that waited Retry-After: early requests %+v", early)
	}
	reqs := s.Requests()
	if n := len(reqs); n != 3 || reqs[1].Status != 429 || reqs[1].RetryAfter.IsZero() || reqs[2].Status != 200 {
		t.Errorf("requests %+v", reqs)
	}
}

func TestFaults(t *testing.T) {
	s := start(t, fast)
	tok := token(t, s)
	body := map[string]string{"uniqueFileName": "x"}
	for _, code := range []int{500, 503, 408} {
		s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: code, Count: 2})
		for i := range 2 {
			if a := call(t, s, tok, "GetAzureWriteUrl", body); a.status != code {
				t.Errorf("%d, request %d: %d", code, i, a.status)
			}
		}
		if a := call(t, s, tok, "GetAzureWriteUrl", body); a.status != http.StatusOK {
			t.Errorf("after %d: %d", code, a.status)
		}
	}

	// A time window: every request until then.
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 503, Until: time.Now().Add(300 * time.Millisecond)})
	n := 0
	for call(t, s, tok, "GetAzureWriteUrl", body).status == 503 {
		n++
	}
	if n < 2 {
		t.Errorf("a 300ms window took %d requests", n)
	}

	// Blob storage down: Azure's answer; the API goes on.
	u := upload(t, s, tok, []byte("zip"))
	s.Inject(emulator.Fault{Scope: emulator.BlobRequests, Status: 503, Count: 1})
	if a := call(t, s, tok, "GetAzureWriteUrl", body); a.status != http.StatusOK {
		t.Errorf("API while the blob storage is down: %d", a.status)
	}
	if a := do(t, s, http.MethodGet, u, nil, nil); a.status != 503 || a.header.Get("x-ms-error-code") != "ServerBusy" {
		t.Errorf("blob storage down: %d %s", a.status, a.header.Get("x-ms-error-code"))
	}

	// A stall answers, slowly.
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Delay: 300 * time.Millisecond})
	t0 := time.Now()
	if a := call(t, s, tok, "GetAzureWriteUrl", body); a.status != http.StatusOK || time.Since(t0) < 300*time.Millisecond {
		t.Errorf("stall: %d after %v", a.status, time.Since(t0))
	}

	// Token endpoint faults answer in Entra ID's shape.
	s.Inject(emulator.Fault{Scope: emulator.TokenRequests, Status: 503})
	a := tokenRequest(t, s, nil)
	if m := a.json(t); a.status != 503 || m["error"] != "temporarily_unavailable" {
		t.Errorf("token endpoint fault: %d %s", a.status, a.body)
	}
	s.Inject(emulator.Fault{Status: 500, Count: 5})
	s.ClearFaults()
	if a := call(t, s, tok, "GetAzureWriteUrl", body); a.status != http.StatusOK {
		t.Errorf("after ClearFaults: %d", a.status)
	}
}

func TestEarlyRequestsPerScope(t *testing.T) {
	s := start(t, fast)
	tok := token(t, s)
	s.Throttle(1, 5*time.Second)
	if a := call(t, s, tok, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "x"}); a.status != 429 {
		t.Fatalf("throttled: %d", a.status)
	}
	token(t, s) // another service: not held back
	if early := s.EarlyRequests(); len(early) != 0 {
		t.Errorf("a token request after an API 429 counted as early: %+v", early)
	}
	call(t, s, tok, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "x"})
	if early := s.EarlyRequests(); len(early) != 1 || early[0].Scope != emulator.APIRequests {
		t.Errorf("an API request 5s too early: %+v", early)
	}
}
