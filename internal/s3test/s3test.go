// Package s3test runs a real S3 server for tests: versitygw (Apache-2.0)
// over a POSIX folder, on a free loopback port, over http or over https
// with a self-signed certificate made by openssl.
//
// A test that needs a server calls [New]; a TestMain that shares servers
// between tests calls [Start] and [Server.Stop] itself. When versitygw is
// not installed, [New] skips the test, or fails it when [Required] (the
// CI or ERPIPE_REQUIRE_S3 environment variable is set).
//
// The server accepts [AccessKey] and [SecretKey]. [ChainEnv] and
// [IsolateAWSChain] keep the developer's ~/.aws, AWS_PROFILE and instance
// roles out of the tests, so that the code under test gets exactly the
// credentials the test gives it.
//
// [Server.Stop] and [Server.Restart] simulate an outage: a restarted
// server listens on the same port, over the same data folder, so that
// clients configured with its endpoint reach it again, and finds the
// objects it held.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/internal/testserver"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// The credentials and region the servers accept.
const (
	AccessKey = "erpipeTestAccessKey"
	SecretKey = "erpipe-test-secret-key-0123456789abcdef"
	Region    = "us-east-1"
)

// ErrNotInstalled is returned by [Binary] when versitygw cannot be found.
var ErrNotInstalled = errors.New("versitygw not found ($VERSITYGW, PATH, $(go env GOPATH)/bin); " +
	"install it with: bash scripts/install-versitygw.sh")

// Required reports whether a missing versitygw must fail the tests rather
// than skip them: when CI or ERPIPE_REQUIRE_S3 is set.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("ERPIPE_REQUIRE_S3") != ""
}

// Binary returns the path of versitygw: $VERSITYGW, else versitygw on the
// PATH, else $(go env GOPATH)/bin/versitygw. It returns ErrNotInstalled
// when there is none.
func Binary() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Options configure a server.
type Options struct {
	// Dir holds the server's data folder, certificate and log. It is
	// created if needed. Required by Start; New defaults it to t.TempDir().
	Dir string
	// TLS serves https with a self-signed certificate for 127.0.0.1 and
	// localhost (see Server.CAFile).
	TLS bool
	// Buckets are created once the server is ready.
	Buckets []string
	// Bin is the versitygw binary; empty means Binary().
	Bin string
}

// Server is a running (or stopped) versitygw. Its methods are safe for
// concurrent use.
type Server struct {
	Name     string // "http" or "https"
	Endpoint string // e.g. "http://127.0.0.1:40123"; the same after Restart
	CAFile   string // the self-signed certificate (PEM), https only
	Dir      string // Options.Dir
	LogFile  string // the server's output, appended to across restarts

	args []string // the command line, the same at every start

	proc *testserver.Proc // the process, started and stopped
}

// New starts a server for t in t.TempDir() (unless o.Dir is set) and stops
// it when t ends. It skips t when versitygw is not installed, and fails it
// instead when Required.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Bin == "" {
		bin, err := Binary()
		if err != nil {
			if Required() {
				t.Fatalf("%v (required because CI or ERPIPE_REQUIRE_S3 is set)", err)
			}
			t.Skip(err)
		}
		o.Bin = bin
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	s, err := Start(o)
	if s != nil {
		t.Cleanup(func() { _ = s.Stop() })
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Start starts versitygw on a free loopback port as o says, waits until it
// answers, and creates o.Buckets. On error the server may have started:
// Start returns it then, for the caller to Stop, and the error includes
// its log.
func Start(o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("s3test: Options.Dir is empty")
	}
	if o.Bin == "" {
		bin, err := Binary()
		if err != nil {
			return nil, err
		}
		o.Bin = bin
	}
	// Absolute paths: versitygw's posix backend changes directory into
	// the data folder.
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	port, err := testserver.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{Name: "http", Dir: dir, LogFile: filepath.Join(dir, "server.log")}
	s.args = []string{o.Bin, "--port", addr, "--access", AccessKey, "--secret", SecretKey, "--quiet"}
	if o.TLS {
		cert, key, err := testserver.SelfSigned(dir)
		if err != nil {
			return nil, fmt.Errorf("s3test: %w", err)
		}
		s.args = append(s.args, "--cert", cert, "--key", key)
		s.Name, s.CAFile = "https", cert
	}
	s.args = append(s.args, "posix", data)
	s.Endpoint = s.Name + "://" + addr
	s.proc = &testserver.Proc{Name: "versitygw", Args: s.args, LogFile: s.LogFile}
	if err := s.start(); err != nil {
		return s, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, b := range o.Buckets {
		if err := s.CreateBucket(ctx, b); err != nil {
			return s, s.withLog(fmt.Errorf("s3test: creating bucket %q: %w", b, err))
		}
	}
	return s, nil
}

// start runs the command line and waits until the server answers.
func (s *Server) start() error {
	hc, err := s.HTTPClient()
	if err != nil {
		return err
	}
	hc.Timeout = time.Second
	// Any HTTP answer (403 to an anonymous request) means ready.
	return s.proc.Start(func() error {
		resp, err := hc.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}, 15*time.Second)
}

// Running reports whether the server process runs.
func (s *Server) Running() bool { return s.proc.Running() }

// Stop ends the server: SIGTERM, then SIGKILL after 5 s. Once Stop
// returns, the port refuses connections. Stopping a stopped server does
// nothing.
func (s *Server) Stop() error { return s.proc.Stop() }

// Restart stops the server if it runs and starts it again on the same
// port and data folder: the buckets and objects it held are back.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start()
}

// withLog adds the server's log to err.
func (s *Server) withLog(err error) error { return s.proc.WithLog(err) }

// HTTPClient returns a client that trusts the server's certificate.
func (s *Server) HTTPClient() (*http.Client, error) {
	hc, err := testserver.HTTPClient(s.CAFile)
	if err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	hc.Timeout = 30 * time.Second
	return hc, nil
}

// Client returns an SDK client for checking what the server holds. It
// uses AccessKey and SecretKey, path-style addressing, and checksums only
// where the API requires them, so that it reports what is stored rather
// than what the checksum middleware thinks.
func (s *Server) Client() (*awss3.Client, error) {
	hc, err := s.HTTPClient()
	if err != nil {
		return nil, err
	}
	return awss3.New(awss3.Options{
		Region:                     Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		HTTPClient:                 hc,
		Credentials:                credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}), nil
}

// CreateBucket creates bucket name.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(name)})
	return err
}
