// Package azuritetest runs a real Azure Blob Storage emulator for tests:
// Azurite (MIT, from npm), its blob service alone, on a free loopback
// port, over http or over https with a self-signed certificate made by
// openssl, and optionally accepting Microsoft Entra ID (OAuth) tokens.
//
// A test that needs a server calls [New]; a TestMain that shares servers
// between tests calls [Start] and [Server.Stop] itself. When Azurite is
// not installed, [New] skips the test, or fails it when [Required] (the
// CI or ERPIPE_REQUIRE_AZURITE environment variable is set).
// scripts/install-azurite.sh installs it where [Binary] looks.
//
// The server has one storage account, [Account], with the key [Key].
// Azurite runs with telemetry off and the API version check off (the SDK
// may speak a newer version than the emulator knows).
//
// [Server.Stop] and [Server.Restart] simulate an outage: a restarted
// server listens on the same port, over the same data folder, and finds
// the containers and blobs it held.
package azuritetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/erpipe/erpipe/internal/testserver"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Version is the Azurite release scripts/install-azurite.sh installs. It
// is the last one that declares support for the Node.js 20 of Debian
// bookworm and the machines here (3.36 and later ask for Node.js 22).
const Version = "3.35.0"

// The storage account the servers have. The key is base64, as Azure's.
const (
	Account = "erpipetest"
	Key     = "ZXJwaXBlLWF6dXJpdGUtdGVzdC1rZXktbm90LWEtcmVhbC1vbmUtMDEyMzQ1Njc4OQ=="
)

// ErrNotInstalled is returned by [Binary] when Azurite cannot be found.
var ErrNotInstalled = errors.New("azurite-blob not found ($AZURITE_BLOB, PATH, ~/.cache/erpipe/azurite-" + Version +
	"); install it with: bash scripts/install-azurite.sh (needs Node.js and npm)")

// Required reports whether a missing Azurite must fail the tests rather
// than skip them: when CI or ERPIPE_REQUIRE_AZURITE is set.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("ERPIPE_REQUIRE_AZURITE") != ""
}

// InstallDir is where scripts/install-azurite.sh puts Azurite:
// $ERPIPE_CACHE, else $XDG_CACHE_HOME/erpipe, else ~/.cache/erpipe,
// followed by azurite-<Version>.
func InstallDir() string {
	base := os.Getenv("ERPIPE_CACHE")
	if base == "" {
		if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
			base = filepath.Join(x, "erpipe")
		} else if h, err := os.UserHomeDir(); err == nil {
			base = filepath.Join(h, ".cache", "erpipe")
		}
	}
	return filepath.Join(base, "azurite-"+Version)
}

// Binary returns the path of azurite-blob: $AZURITE_BLOB, else
// azurite-blob on the PATH, else the one in InstallDir. It returns
// ErrNotInstalled when there is none, or when Node.js is missing.
func Binary() (string, error) {
	if p := os.Getenv("AZURITE_BLOB"); p != "" {
		return p, nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("%w: node is not on the PATH", ErrNotInstalled)
	}
	if p, err := exec.LookPath("azurite-blob"); err == nil {
		return p, nil
	}
	p := filepath.Join(InstallDir(), "node_modules", ".bin", "azurite-blob")
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p, nil
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
	// OAuth makes the server accept Entra ID bearer tokens as well
	// (Azurite's "basic" check: issuer, audience and expiry, not the
	// signature). It needs TLS.
	OAuth bool
	// Containers are created once the server is ready.
	Containers []string
	// Bin is the azurite-blob binary; empty means Binary().
	Bin string
}

// Server is a running (or stopped) Azurite. Its methods are safe for
// concurrent use.
type Server struct {
	Name     string // "http" or "https"
	Endpoint string // the blob service URL, "http://127.0.0.1:40123/erpipetest"; the same after Restart
	CAFile   string // the self-signed certificate (PEM), https only
	KeyFile  string // its private key (PEM), https only: a test's token server may serve with it
	Dir      string // Options.Dir
	LogFile  string // the server's output, appended to across restarts

	args []string // the command line, the same at every start
	addr string   // host:port

	proc *testserver.Proc // the process, started and stopped
}

// New starts a server for t in t.TempDir() (unless o.Dir is set) and stops
// it when t ends. It skips t when Azurite is not installed, and fails it
// instead when Required.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Bin == "" {
		bin, err := Binary()
		if err != nil {
			if Required() {
				t.Fatalf("%v (required because CI or ERPIPE_REQUIRE_AZURITE is set)", err)
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

// Start starts Azurite's blob service on a free loopback port as o says,
// waits until it answers, and creates o.Containers. On error the server
// may have started: Start returns it then, for the caller to Stop, and the
// error includes its log.
func Start(o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("azuritetest: Options.Dir is empty")
	}
	if o.OAuth && !o.TLS {
		return nil, errors.New("azuritetest: OAuth needs TLS (Azurite takes tokens over https only)")
	}
	if o.Bin == "" {
		bin, err := Binary()
		if err != nil {
			return nil, err
		}
		o.Bin = bin
	}
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
	s := &Server{Name: "http", Dir: dir, LogFile: filepath.Join(dir, "azurite.log"), addr: fmt.Sprintf("127.0.0.1:%d", port)}
	s.args = []string{o.Bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--location", data,
		"--silent", "--skipApiVersionCheck", "--disableProductStyleUrl", "--disableTelemetry", "--loose"}
	if o.TLS {
		cert, key, err := testserver.SelfSigned(dir)
		if err != nil {
			return nil, fmt.Errorf("azuritetest: %w", err)
		}
		s.args = append(s.args, "--cert", cert, "--key", key)
		s.Name, s.CAFile, s.KeyFile = "https", cert, key
	}
	if o.OAuth {
		s.args = append(s.args, "--oauth", "basic")
	}
	s.Endpoint = s.Name + "://" + s.addr + "/" + Account
	s.proc = &testserver.Proc{Name: "azurite-blob", Args: s.args, LogFile: s.LogFile,
		Env: append(os.Environ(), "AZURITE_ACCOUNTS="+Account+":"+Key)}
	if err := s.start(); err != nil {
		return s, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range o.Containers {
		if err := s.CreateContainer(ctx, c); err != nil {
			return s, s.withLog(fmt.Errorf("azuritetest: creating container %q: %w", c, err))
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
		resp, err := hc.Get(s.Name + "://" + s.addr + "/" + Account + "?comp=list")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}, 30*time.Second)
}

// Running reports whether the server process runs.
func (s *Server) Running() bool { return s.proc.Running() }

// Stop ends the server: SIGTERM, then SIGKILL after 5 s. Once Stop
// returns, the port refuses connections. Stopping a stopped server does
// nothing.
func (s *Server) Stop() error { return s.proc.Stop() }

// Restart stops the server if it runs and starts it again on the same
// port and data folder: the containers and blobs it held are back.
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
		return nil, fmt.Errorf("azuritetest: %w", err)
	}
	hc.Timeout = 60 * time.Second
	return hc, nil
}

// Container returns an SDK client of container name, signed with Key,
// for checking what the server holds.
func (s *Server) Container(name string) (*container.Client, error) {
	hc, err := s.HTTPClient()
	if err != nil {
		return nil, err
	}
	cred, err := container.NewSharedKeyCredential(Account, Key)
	if err != nil {
		return nil, err
	}
	return container.NewClientWithSharedKeyCredential(s.Endpoint+"/"+name, cred, &container.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}},
	})
}

// SharedKey returns the account's key as the SDK's credential, to sign
// SAS tokens with.
func SharedKey() *container.SharedKeyCredential {
	cred, err := container.NewSharedKeyCredential(Account, Key)
	if err != nil {
		panic(err) // Key is a constant
	}
	return cred
}

// CreateContainer creates container name; one that exists is fine.
func (s *Server) CreateContainer(ctx context.Context, name string) error {
	c, err := s.Container(name)
	if err != nil {
		return err
	}
	_, err = c.Create(ctx, nil)
	if bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil
	}
	return err
}

// ConnectionString returns a connection string for the account on s.
func (s *Server) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;",
		s.Name, Account, Key, s.Endpoint)
}
