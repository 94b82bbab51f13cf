package s3_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// The tests run against versitygw (Apache-2.0), a real S3 server over a
// POSIX folder, started by TestMain on free loopback ports: once over http
// and once over https with a self-signed certificate (which makes the SDK
// send aws-chunked bodies with trailing checksums, as it does to AWS).

const (
	accessKey = "erpipeTestAccessKey"
	secretKey = "erpipe-test-secret-key-0123456789abcdef"
	bucket    = "erpipe-test"
)

// server is one running versitygw.
type server struct {
	name     string // "http" or "https"
	endpoint string // e.g. http://127.0.0.1:40123
	caFile   string // the self-signed certificate, https only
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has ended
	log      string
}

var (
	servers    []*server // http first
	skipReason string    // why server tests are skipped, when they are
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "erpipe-s3-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if err := isolateAWSChain(tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	bin := findVersitygw()
	if bin == "" {
		msg := "versitygw not found ($VERSITYGW, PATH, $(go env GOPATH)/bin); " +
			"install it with: bash /work/shared/s3/install-versitygw.sh"
		if os.Getenv("CI") != "" || os.Getenv("ERPIPE_REQUIRE_S3") != "" {
			fmt.Fprintln(os.Stderr, "FAIL: "+msg+" (required because CI or ERPIPE_REQUIRE_S3 is set)")
			return 1
		}
		skipReason = msg
		return m.Run()
	}
	for _, tlsOn := range []bool{false, true} {
		s, err := startServer(bin, tmp, tlsOn)
		if s != nil {
			defer s.stop()
		}
		if err == nil {
			err = createBucket(s)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: starting versitygw:", err)
			if s != nil {
				if b, _ := os.ReadFile(s.log); len(b) > 0 {
					fmt.Fprintf(os.Stderr, "server log:\n%s\n", b)
				}
			}
			return 1
		}
		servers = append(servers, s)
	}
	return m.Run()
}

// isolateAWSChain points the AWS credential chain at a credentials file of
// the test's own, so that neither the developer's ~/.aws nor an instance
// role leaks into the tests. Profile "wrong" has a wrong secret.
func isolateAWSChain(tmp string) error {
	creds := filepath.Join(tmp, "credentials")
	content := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n"+
		"[wrong]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		accessKey, secretKey, accessKey, wrongSecret)
	if err := os.WriteFile(creds, []byte(content), 0o600); err != nil {
		return err
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	os.Setenv("AWS_CONFIG_FILE", filepath.Join(tmp, "config-absent"))
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_REGION", "us-east-1")
	return nil
}

// wrongSecret is the secret of profile "wrong".
const wrongSecret = "WRONG-secret-must-never-be-printed-42"

func findVersitygw() string {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = string(trimNL(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startServer(bin, tmp string, tlsOn bool) (*server, error) {
	s := &server{name: "http"}
	if tlsOn {
		s.name = "https"
	}
	dir := filepath.Join(tmp, s.name)
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"--port", addr, "--access", accessKey, "--secret", secretKey, "--quiet"}
	scheme := "http"
	if tlsOn {
		// Absolute paths: the posix backend changes directory into data.
		key, cert := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
		out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
			"-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
			"-keyout", key, "-out", cert).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("openssl: %v\n%s", err, out)
		}
		args = append(args, "--cert", cert, "--key", key)
		s.caFile, scheme = cert, "https"
	}
	args = append(args, "posix", data)
	s.endpoint = scheme + "://" + addr
	s.log = filepath.Join(dir, "server.log")
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.exited = make(chan struct{})
	var werr error
	go func() { werr = s.cmd.Wait(); close(s.exited) }()

	hc, err := s.httpClient()
	if err != nil {
		return s, err
	}
	// Any HTTP answer (403 to an anonymous request) means ready; ~0.1 s.
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := hc.Get(s.endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return s, fmt.Errorf("versitygw exited: %v", werr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("versitygw on %s not ready after 15 s: %v", s.endpoint, err)
		}
	}
}

// stop ends the server: SIGTERM, then SIGKILL after 5 s.
func (s *server) stop() {
	if s.exited == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// httpClient returns a client that trusts the server's certificate.
func (s *server) httpClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.caFile != "" {
		pem, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("bad CA file")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// client returns a plain SDK client for checking what the server holds.
func (s *server) client() (*awss3.Client, error) {
	hc, err := s.httpClient()
	if err != nil {
		return nil, err
	}
	return awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.endpoint),
		UsePathStyle: true,
		HTTPClient:   hc,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		// Check what is stored, not what the checksum middleware thinks.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}), nil
}

func createBucket(s *server) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(bucket)})
	return err
}

// needServers skips t when versitygw is not installed (and CI is not set).
func needServers(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
