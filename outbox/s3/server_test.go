package s3_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/erpipe/erpipe/internal/s3test"
)

// The tests run against versitygw (Apache-2.0), a real S3 server over a
// POSIX folder, started by TestMain on free loopback ports: once over http
// and once over https with a self-signed certificate (which makes the SDK
// send aws-chunked bodies with trailing checksums, as it does to AWS).

const (
	accessKey = s3test.AccessKey
	secretKey = s3test.SecretKey
	bucket    = "erpipe-test"
)

// wrongSecret is the secret of profile "wrong".
const wrongSecret = "WRONG-secret-must-never-be-printed-42"

// server is one running versitygw.
type server = s3test.Server

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
	// The default profile has the server's credentials; profile "wrong"
	// has a wrong secret. Nothing else of the chain reaches the tests.
	if err := s3test.IsolateAWSChain(tmp,
		s3test.Profile{Name: "default", AccessKey: accessKey, SecretKey: secretKey},
		s3test.Profile{Name: "wrong", AccessKey: accessKey, SecretKey: wrongSecret}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	bin, err := s3test.Binary()
	if err != nil {
		if s3test.Required() {
			fmt.Fprintf(os.Stderr, "FAIL: %v (required because CI or ERPIPE_REQUIRE_S3 is set)\n", err)
			return 1
		}
		skipReason = err.Error()
		return m.Run()
	}
	for _, tlsOn := range []bool{false, true} {
		s, err := s3test.Start(s3test.Options{Dir: filepath.Join(tmp, fmt.Sprint("server-", len(servers))),
			TLS: tlsOn, Buckets: []string{bucket}, Bin: bin})
		if s != nil {
			defer s.Stop()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: starting versitygw:", err)
			return 1
		}
		servers = append(servers, s)
	}
	return m.Run()
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

// needServers skips t when versitygw is not installed (and CI is not set).
func needServers(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
