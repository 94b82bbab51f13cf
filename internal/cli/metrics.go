package cli

import (
	"github.com/erpipe/erpipe/api"
	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/metrics"
)

// mountMetrics serves the daemon's Prometheus metrics at /metrics on srv,
// and returns them, so that the server's handlers can count their
// requests (metrics.Metrics.Middleware, ObserveHTTP).
func mountMetrics(g *globals, srv *api.Server, svc *jobs.Service, j *jobs.Journal) *metrics.Metrics {
	m := metrics.New(metrics.Sources{Journal: j, Service: svc, Now: svc.Now, Log: g.logger()})
	srv.Handle("GET /metrics", m.Handler())
	return m
}
