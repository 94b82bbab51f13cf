// Package metrics is erpipe's Prometheus metrics: a registry of its own
// (never the global default) whose collectors read the state of the
// daemon when scraped (the job journal, the inboxes' watcher, the
// schedules' runs, the events' outbox) rather than counting as things
// happen, and the counter of HTTP requests, which the HTTP server feeds
// through Middleware or ObserveHTTP. Handler serves the text format for
// /metrics.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/erpipe/erpipe/jobs"
)

// Sources are what the collectors read.
type Sources struct {
	Journal *jobs.Journal
	// Service is the daemon, for its inboxes; nil leaves the inbox series
	// out.
	Service *jobs.Service
	// Now is the clock for lateness and ages (nil: time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// DurationBuckets are the upper bounds, in seconds, of the job duration
// histogram: from a small file's 50 ms to the default job timeout's 30 m.
var DurationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

// Metrics is erpipe's registry and its HTTP request counter.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New makes the registry, with erpipe's collectors over src, the Go
// runtime's and the process's.
func New(src Sources) *Metrics {
	if src.Now == nil {
		src.Now = time.Now
	}
	if src.Log == nil {
		src.Log = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpipe_http_requests_total",
			Help: "HTTP requests served, by client (the token's name; anonymous without one) and status code.",
		}, []string{"client", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "erpipe_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by client.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"client"}),
	}
	m.reg.MustRegister(m.requests, m.latency, &collector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry, for tests and for other collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format; a collector
// that fails is logged and its series left out, the rest still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Timeout: 30 * time.Second})
}

// ObserveHTTP counts one request served to client with status code, in d.
func (m *Metrics) ObserveHTTP(client string, code int, d time.Duration) {
	if client == "" {
		client = "anonymous"
	}
	m.requests.WithLabelValues(client, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(client).Observe(d.Seconds())
}

// OnRequest counts one API request, as api.Deps.OnRequest is told of it:
// by client and status (the route is not a label, to keep the series
// few).
func (m *Metrics) OnRequest(client, route string, status int, d time.Duration) {
	m.ObserveHTTP(client, status, d)
}

// Middleware counts the requests next serves, by client and the status
// written. The client is what a handler inside next said with SetClient
// (the name of the token it authenticated), else client(r) once next has
// served r (nil: none), else anonymous.
func (m *Metrics) Middleware(client func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		slot := new(clientSlot)
		r = r.WithContext(context.WithValue(r.Context(), clientKey{}, slot))
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		name := slot.get()
		if name == "" && client != nil {
			name = client(r)
		}
		m.ObserveHTTP(name, sw.code, time.Since(start))
	})
}

// SetClient says which client makes the request of ctx, for the
// Middleware that counts it; nothing outside one.
func SetClient(ctx context.Context, name string) {
	if slot, ok := ctx.Value(clientKey{}).(*clientSlot); ok {
		slot.mu.Lock()
		slot.name = name
		slot.mu.Unlock()
	}
}

type clientKey struct{}

type clientSlot struct {
	mu   sync.Mutex
	name string
}

func (s *clientSlot) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer's Flush and
// deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// scrapeTimeout bounds the journal's queries of one scrape.
const scrapeTimeout = 20 * time.Second

func scrapeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), scrapeTimeout)
}
