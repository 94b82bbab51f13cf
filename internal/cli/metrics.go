package cli

import (
	"github.com/erpipe/erpipe/api"
	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/metrics"
)

// mountMetrics serves the daemon's Prometheus metrics at /metrics on srv,
// and returns them, so that the API can count its requests (OnRequest).
func mountMetrics(g *globals, srv *api.Server, svc *jobs.Service) *metrics.Metrics {
	m := metrics.New(metrics.Sources{Journal: svc.Journal(), Service: svc, Now: svc.Now, Log: g.logger()})
	srv.Handle("GET /metrics", m.Handler())
	return m
}
