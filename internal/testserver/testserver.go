// Package testserver runs a server process that tests need (versitygw for
// S3, Azurite for Azure Blob Storage) on a free loopback port: it starts
// it with its output in a log file, waits until it answers, stops and
// restarts it, and makes the certificate of an https one. Packages
// s3test and azuritetest build on it.
package testserver

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Proc is a server process: the same command line at every start. Its
// methods are safe for concurrent use.
type Proc struct {
	Name    string   // what it is, for messages: "versitygw", "azurite-blob"
	Args    []string // the command line
	Env     []string // its environment; nil is this process's
	LogFile string   // its output, appended to across restarts

	mu      sync.Mutex // serializes Start and Stop
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has ended
	waitErr error         // cmd.Wait's result; read it only after exited is closed
}

// Start runs the command line unless it runs, and waits up to timeout
// until ready says it answers (ready is asked every 50 ms). The error of
// a server that exits or does not answer holds its log.
func (p *Proc) Start(ready func() error, timeout time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running() {
		return nil
	}
	logf, err := os.OpenFile(p.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(p.Args[0], p.Args[1:]...)
	cmd.Stdout, cmd.Stderr, cmd.Env = logf, logf, p.Env
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() {
		p.waitErr = cmd.Wait() // read only after exited is closed
		close(exited)
	}()
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return p.WithLog(fmt.Errorf("%s exited: %v", p.Name, p.waitErr))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return p.WithLog(fmt.Errorf("%s not ready after %v: %v", p.Name, timeout, err))
		}
	}
}

// running reports whether the process runs; p.mu is held.
func (p *Proc) running() bool {
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Running reports whether the process runs.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running()
}

// Stop ends the process: SIGTERM, then SIGKILL after 5 s. Once Stop
// returns, its port refuses connections. Stopping a stopped server does
// nothing.
func (p *Proc) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.exited
	return nil
}

// WithLog adds the server's log to err.
func (p *Proc) WithLog(err error) error {
	if b, _ := os.ReadFile(p.LogFile); len(bytes.TrimSpace(b)) > 0 {
		return fmt.Errorf("%w\nserver log:\n%s", err, b)
	}
	return err
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SelfSigned makes a certificate for 127.0.0.1 and localhost, valid two
// days, with openssl, and returns its files in dir.
func SelfSigned(dir string) (cert, key string, err error) {
	key, cert = filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
		"-keyout", key, "-out", cert).CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("openssl: %v\n%s", err, out)
	}
	return cert, key, nil
}

// HTTPClient returns a client that trusts the certificate in caFile (none:
// the system's roots only).
func HTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
