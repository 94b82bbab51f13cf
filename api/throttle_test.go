package api

import (
	"testing"
	"time"

	"github.com/erpipe/erpipe/workspace"
)

const (
	low    = 0
	medium = 1
	high   = 2
)

// With concurrent: 4 and queued: 8, low gets 2 and 4, medium 3 and 6, high
// 4 of its own and 8: lower priorities are refused first.
func TestThrottleAdmission(t *testing.T) {
	limits := workspace.HTTPLimits{Concurrent: 4, Queued: 8}
	for _, tc := range []struct {
		name     string
		inFlight []int // priorities of the requests already in
		p        int
		queued   int // -1: the request makes no work
		admitted bool
	}{
		{"idle, low", nil, low, 0, true},
		{"low at its half", []int{low, low}, low, -1, false},
		{"medium above low's half", []int{low, low}, medium, -1, true},
		{"medium at three quarters", []int{low, low, medium}, medium, -1, false},
		{"high while lower ones are in", []int{low, low, medium}, high, -1, true},
		{"high past the total, under its own", []int{low, low, medium, high, high, high}, high, -1, true},
		{"low while highs are in", []int{high}, low, -1, true},
		{"low while highs fill half", []int{high, high}, low, -1, false},
		{"high at its own limit", []int{high, high, high, high}, high, -1, false},
		{"low with half the queue", nil, low, 4, false},
		{"medium with half the queue", nil, medium, 4, true},
		{"medium with three quarters", nil, medium, 6, false},
		{"high with three quarters", nil, high, 6, true},
		{"high with a full queue", nil, high, 8, false},
		{"a status call ignores the queue", nil, low, -1, true},
	} {
		th := newThrottle()
		for _, p := range tc.inFlight {
			if _, _, ok := th.admit(p, limits, -1, 2); !ok {
				t.Fatalf("%s: setting up, priority %d refused", tc.name, p)
			}
		}
		_, wait, ok := th.admit(tc.p, limits, tc.queued, 2)
		if ok != tc.admitted {
			t.Errorf("%s: admitted %v, want %v", tc.name, ok, tc.admitted)
		}
		if !ok && wait < time.Second {
			t.Errorf("%s: Retry-After %v, want at least 1s", tc.name, wait)
		}
	}
}

// Retry-After grows with the queue.
func TestRetryAfterReflectsQueue(t *testing.T) {
	th := newThrottle()
	th.perReq = 2 // seconds a request takes lately
	short := th.retryAfter(0, 2, 2, 4)
	long := th.retryAfter(0, 40, 2, 4)
	if short != 2*time.Second || long != 40*time.Second {
		t.Errorf("Retry-After with 2 and 40 queued: %v, %v; want 2s, 40s", short, long)
	}
	if d := th.retryAfter(0, 100000, 2, 4); d != 10*time.Minute {
		t.Errorf("Retry-After is capped at 10m: %v", d)
	}
}

func TestTokenBucket(t *testing.T) {
	b := &bucket{tokens: 2, rate: 1, burst: 2}
	now := time.Now()
	for i, want := range []bool{true, true, false} {
		if _, ok := b.take(now); ok != want {
			t.Errorf("take %d: %v, want %v", i, ok, want)
		}
	}
	if wait, _ := b.take(now); wait <= 0 || wait > time.Second {
		t.Errorf("wait for the next token: %v", wait)
	}
	if _, ok := b.take(now.Add(1100 * time.Millisecond)); !ok {
		t.Error("no token a second later")
	}
}
