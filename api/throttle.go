package api

import (
	"cmp"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/erpipe/erpipe/workspace"
)

// Priority-based throttling, as D365 does it: under load the API refuses
// low-priority clients first (429 with Retry-After), then medium ones,
// and high-priority ones last. Each priority may fill a share of the
// limits: low half of them, medium three quarters, high all; so while a
// lower-priority request is let in, a high-priority one is too.
//
//   - concurrency: requests in flight (limits: concurrent, default 32);
//     a high-priority client counts only its own priority's requests,
//     so lower ones never crowd it out;
//   - queued work: submitted jobs no worker has taken yet (limits:
//     queued, default 100), for the requests that make work (uploads,
//     enqueues, retries, schedule runs).
//
// Retry-After is the time the work ahead should take: the queue's jobs
// at the recent time per request, shared by the workers, plus the
// requests in flight; at least 1 s, at most 10 min.

// shares are the parts of the limits each priority may fill, lowest first.
var shares = [...]float64{0.5, 0.75, 1}

type throttle struct {
	mu      sync.Mutex
	flight  [3]int
	perReq  float64 // seconds a request took lately (an exponentially weighted mean)
	refused [3]int
}

func newThrottle() *throttle { return &throttle{perReq: 0.05} }

func limitsOf(l workspace.HTTPLimits) (concurrent, queued int) {
	return cmp.Or(l.Concurrent, 32), cmp.Or(l.Queued, 100)
}

// share is n's part for priority p, at least 1.
func share(n, p int) int { return max(1, int(math.Ceil(float64(n)*shares[p]))) }

// admit lets a request of priority p in, or says how long to wait.
// queued is the jobs waiting for a worker, or -1 when the request makes
// no work.
func (t *throttle) admit(p int, l workspace.HTTPLimits, queued, workers int) (release func(), wait time.Duration, ok bool) {
	conc, maxQueued := limitsOf(l)
	t.mu.Lock()
	defer t.mu.Unlock()
	total := t.flight[0] + t.flight[1] + t.flight[2]
	busy := total >= share(conc, p)
	if p == len(shares)-1 {
		busy = t.flight[p] >= conc
	}
	if !busy && queued >= 0 && queued >= share(maxQueued, p) {
		busy = true
	}
	if busy {
		t.refused[p]++
		return nil, t.retryAfter(total, max(queued, 0), workers, conc), false
	}
	t.flight[p]++
	start := time.Now()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.flight[p]--
		t.perReq = 0.9*t.perReq + 0.1*time.Since(start).Seconds()
	}, 0, true
}

func (t *throttle) retryAfter(inFlight, queued, workers, conc int) time.Duration {
	secs := t.perReq*float64(queued)/float64(max(workers, 1)) + t.perReq*float64(inFlight)/float64(max(conc, 1))
	return min(max(time.Duration(secs*float64(time.Second)), time.Second), 10*time.Minute)
}

// describe says how loaded the API is, for the 429's message.
func (t *throttle) describe(queued int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%d requests in flight, %d jobs queued", t.flight[0]+t.flight[1]+t.flight[2], queued)
}

// bucket is a client's request rate: a token bucket.
type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
	rate   float64
	burst  float64
}

func (a *API) bucket(c *caller, hc workspace.HTTPConfig) *bucket {
	rate, burst := cmp.Or(hc.Limits.Rate, 50), cmp.Or(hc.Limits.Burst, 100)
	for _, cl := range hc.Clients {
		if cl.Name == c.name && c.name != "" {
			rate, burst = cmp.Or(cl.Rate, rate), cmp.Or(cl.Burst, burst)
		}
	}
	v, _ := a.buckets.LoadOrStore(c.name, &bucket{tokens: float64(burst)})
	b := v.(*bucket)
	b.mu.Lock()
	b.rate, b.burst = rate, float64(burst) // a reload may change them
	b.mu.Unlock()
	return b
}

// take takes a token, or says how long until there is one.
func (b *bucket) take(now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second)), false
}
