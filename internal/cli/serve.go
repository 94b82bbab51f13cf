package cli

import (
	"net"
	"path/filepath"

	"github.com/erpipe/erpipe/api"
	"github.com/erpipe/erpipe/console"
	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/workspace"
)

// httpServer is erpipe run's HTTP server when http: listen in erpipe.yaml
// or --listen asks for one, nil otherwise. It is bound here, before the
// daemon starts, so that a taken port or a bad certificate stops the
// start with a clear error. The API and the web console are mounted on
// it here; others mount their handlers (/metrics) with
// its Handle before the daemon runs it.
func httpServer(g *globals, ws *workspace.Workspace, listen string, svc *jobs.Service, runner *schedule.Runner) (*api.Server, error) {
	hc := ws.Config.HTTP
	if listen != "" {
		hc.Listen = listen
	}
	if !hc.Enabled() {
		return nil, nil
	}
	if err := hc.Validate(); err != nil {
		return nil, usage(err)
	}
	readHeader, _, idle, grace := hc.Timeouts()
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(ws.Root, p)
	}
	srv := api.New(api.Options{
		Addr:              workspace.ListenAddr(hc.Listen),
		CertFile:          rel(hc.CertFile),
		KeyFile:           rel(hc.KeyFile),
		ReadHeaderTimeout: readHeader,
		IdleTimeout:       idle,
		ShutdownGrace:     grace,
		Ready:             svc.Ready,
		Logger:            g.logger(),
	})
	if err := srv.Listen(); err != nil {
		return nil, usage(err)
	}
	if host, _, _ := net.SplitHostPort(srv.Addr().String()); hc.CertFile == "" && !net.ParseIP(host).IsLoopback() {
		g.logger().Warn("the HTTP API listens beyond loopback without TLS: tokens and files cross the network in the clear; give http: cert_file and key_file", "listen", srv.Addr().String())
	}
	m := mountMetrics(g, srv, svc) // metrics.go
	api.Register(srv, api.Deps{Service: svc, Runner: runner, Logger: g.logger(), OnRequest: m.OnRequest})
	// The web console (/console/, and / sends the browser there): pages
	// that call the API above with the same tokens.
	console.Mount(srv)
	return srv, nil
}
