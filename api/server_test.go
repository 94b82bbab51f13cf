package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestServerHealthReadyMount(t *testing.T) {
	var ready atomic.Bool
	s := New(Options{Addr: "127.0.0.1:0", Ready: func() error {
		if !ready.Load() {
			return errors.New("starting")
		}
		return nil
	},
		Mount: map[string]http.Handler{"GET /metrics": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "m 1\n") })}})
	s.Handle("GET /extra", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "extra") }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	waitListening(t, s)
	if host, _, _ := net.SplitHostPort(s.Addr().String()); host != "127.0.0.1" {
		t.Errorf("listens on %s, want 127.0.0.1", s.Addr())
	}
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 503, "not ready: starting"},
		{"/metrics", 200, "m 1"},
		{"/extra", 200, "extra"},
		{"/nothing", 404, ""},
	} {
		code, body := get(t, http.DefaultClient, s.URL()+tc.path)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, code, body, tc.code, tc.body)
		}
	}
	ready.Store(true)
	if code, _ := get(t, http.DefaultClient, s.URL()+"/readyz"); code != 200 {
		t.Errorf("readyz once ready: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after the stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get(s.URL() + "/healthz"); err == nil {
		t.Error("the server still answers after its shutdown")
	}
}

// A request in flight when the daemon stops finishes within the grace.
func TestServerGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	s := New(Options{Addr: "127.0.0.1:0", ShutdownGrace: 5 * time.Second})
	s.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "finished")
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	waitListening(t, s)
	result := make(chan string, 1)
	go func() { _, body := get(t, http.DefaultClient, s.URL()+"/slow"); result <- body }()
	<-started
	cancel()
	if body := <-result; body != "finished" {
		t.Errorf("the request in flight got %q, want finished", body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	s := New(Options{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx)
	waitListening(t, s)
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s is not https", s.URL())
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, body := get(t, c, s.URL()+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("healthz over TLS: %d %q", code, body)
	}
	// A bad key is refused at Listen, before the daemon starts.
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	if err := New(Options{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}).Listen(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Listen with a bad key: %v", err)
	}
}

func TestServerPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = New(Options{Addr: ln.Addr().String()}).Listen()
	if err == nil || !strings.Contains(err.Error(), "--listen") {
		t.Errorf("Listen on a taken port: %v, want an error that says how to choose another", err)
	}
}

func waitListening(t *testing.T, s *Server) {
	t.Helper()
	for range 200 {
		if s.Addr() != nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the server did not listen")
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "erpipe test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
