// Package api is erpipe run's HTTP server: health and readiness, erpipe's
// own JSON API (/api/v1/...), and the recurring-integrations facade
// (/api/connector/...) that clients written for Dynamics 365 call.
//
// The server is a host: other packages mount their handlers on it (the
// Prometheus /metrics, say) with Options.Mount or Server.Handle before it
// serves. It listens on 127.0.0.1 unless told otherwise, serves HTTPS
// when given a certificate and key, and shuts down gracefully when the
// daemon's context ends.
package api

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Addr is host:port to listen on (default 127.0.0.1:8780).
	Addr string
	// CertFile and KeyFile, when both set, make the server HTTPS.
	CertFile, KeyFile string
	// ReadHeaderTimeout bounds a request's headers (default 10s);
	// IdleTimeout a keep-alive connection's idleness (default 2m).
	ReadHeaderTimeout, IdleTimeout time.Duration
	// ShutdownGrace is how long requests in flight may go on once the
	// context given to Serve ends (default 10s); past it their
	// connections are closed.
	ShutdownGrace time.Duration
	// Ready says whether the daemon can take work; /readyz answers 503
	// with its error while it returns one. Nil: ready once serving.
	Ready func() error
	// Mount are handlers served besides the server's own, by
	// http.ServeMux pattern ("/metrics", "GET /debug/x"). Server.Handle
	// adds more before Serve.
	Mount map[string]http.Handler
	// Logger logs the server's start, stop and failures (default: slog's).
	Logger *slog.Logger
}

// DefaultAddr is where a server listens when Options.Addr is empty.
const DefaultAddr = "127.0.0.1:8780"

// Server serves erpipe's HTTP endpoints.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	srv  *http.Server

	mu      sync.Mutex
	ln      net.Listener
	serving bool
}

// New makes a server; it listens when Listen or Serve is called.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: cmp.Or(opts.Logger, slog.Default()), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	for pattern, h := range opts.Mount {
		s.mux.Handle(pattern, h)
	}
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: cmp.Or(opts.ReadHeaderTimeout, 10*time.Second),
		IdleTimeout:       cmp.Or(opts.IdleTimeout, 2*time.Minute),
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handle mounts h at pattern (an http.ServeMux pattern). Call it before
// Serve; a pattern already taken panics, as ServeMux does.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
}

// Handler is everything the server serves, for tests (httptest).
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Listen binds the server's address, so that a taken port or a bad
// certificate is known before the daemon starts its work. Serve calls it
// when it was not called.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	if (s.opts.CertFile == "") != (s.opts.KeyFile == "") {
		return errors.New("http: give both a certificate and a key file for HTTPS, or neither")
	}
	var cfg *tls.Config
	if s.opts.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.opts.CertFile, s.opts.KeyFile)
		if err != nil {
			return fmt.Errorf("http: load the certificate %s and key %s: %w", s.opts.CertFile, s.opts.KeyFile, err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	addr := cmp.Or(s.opts.Addr, DefaultAddr)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http: listen on %s: %w; give another address with --listen or http: listen: in erpipe.yaml", addr, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s.ln = ln
	return nil
}

// Addr is the address the server listens on (nil before Listen).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL is the server's base URL, such as http://127.0.0.1:8780 (empty
// before Listen).
func (s *Server) URL() string {
	a := s.Addr()
	if a == nil {
		return ""
	}
	scheme := "http"
	if s.opts.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + a.String()
}

// Serve serves until ctx ends, then stops taking requests, lets those in
// flight finish for ShutdownGrace, and returns. It returns nil on such a
// stop.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.serving = true
	s.mu.Unlock()
	// Requests see the daemon's values, not its cancellation: a stop
	// lets them finish within the grace.
	s.srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(ln) }()
	s.log.Info("serving HTTP", "url", s.URL())
	select {
	case err := <-done:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	grace := cmp.Or(s.opts.ShutdownGrace, 10*time.Second)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("HTTP requests still running after the shutdown grace were cut", "grace", grace)
		s.srv.Close()
		err = nil
	}
	<-done
	s.log.Info("HTTP server stopped")
	return err
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}
