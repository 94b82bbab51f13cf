// Package emulator serves the Dynamics 365 Finance & Operations endpoints
// erpipe calls, for tests and for trying a flow without a D365
// environment: the Microsoft Entra ID token endpoint (client credentials,
// as azidentity calls it), the data management package API (the OData
// actions on DataManagementDefinitionGroups), the blob storage its SAS URLs
// point at, and the recurring integrations connector (enqueue, dequeue,
// download, ack, jobstatus). Request and answer shapes follow
// shared/docs/dmf-format.md sections 4, 5, 6 and 8, which record what
// Microsoft documents and what RIS and d365fo.integrations send and read;
// docs/d365.md says what is emulated and what is not.
//
// An imported package is opened with erpipe's own DMF reader and checked
// with its checker; its rows are counted per entity and can be made to
// fail staging or the target by a rule (Options.StagingError,
// Options.TargetError). The execution runs asynchronously: NotRun, then
// Executing, then Succeeded, PartiallySucceeded or Failed, each step after
// a configurable time. Every import is kept in memory with its package
// bytes (Server.Imports).
//
// Faults come on demand (Server.Inject): 429 with Retry-After in seconds
// or as an HTTP date, 5xx or 408, slow answers, and a fresh execution that
// is "not found" for a while. Every request is recorded (Server.Requests)
// so a test can check that none came before its Retry-After.
//
// The server speaks HTTPS only, as MSAL refuses http authorities: Start
// makes a self-signed certificate for 127.0.0.1, ::1 and localhost, which
// CAPEM returns (and Options.CAFile receives) for clients to trust.
package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Default identities, for a user trying a flow; tests may set their own.
const (
	DefaultTenant       = "00000000-0000-4000-8000-00000000e365"
	DefaultClientID     = "11111111-1111-4111-8111-111111111111"
	DefaultClientSecret = "erpipe-emulator-secret" // not a secret: the emulator's published default
)

// Activity is a recurring data job: its activity ID (a GUID, with or
// without braces) and what it does.
type Activity struct {
	ID          string
	Name        string // shown by erpipe d365 emulate
	Export      bool   // an export job: its messages are dequeued; else an import job: files are enqueued to it
	DataProject string // the data project (definition group) the job belongs to
	Package     bool   // a "Data package" job; else a "File" job (one entity per file)
}

// Options configure a Server. The zero value works: default identities,
// one import and one export activity, one-hour tokens, 35-minute SAS
// URLs, and executions that take a second or two.
type Options struct {
	Tenant, ClientID, ClientSecret string
	// ClientCertificates are the certificates registered on the
	// application: a client may sign in with the key of one of them (a
	// certificate credential) instead of the secret. See
	// NewClientCertificate.
	ClientCertificates []*x509.Certificate
	// TokenLifetime is how long issued tokens are valid (expires_in);
	// default one hour. Server.ExpireTokens ends them at once.
	TokenLifetime time.Duration
	// TokenValidity, when set, is how long the API takes a token, whatever
	// expires_in said: a client that caches tokens as told meets 401s
	// mid-run, as after a revocation or with a skewed clock. Azidentity
	// (MSAL) asks for a new token when the one it holds expires within five
	// minutes, so a TokenLifetime under five minutes alone never makes its
	// token expire in use.
	TokenValidity time.Duration
	// SASLifetime is how long a blob URL handed out works; default 35
	// minutes, as seen in RIS issue #113. After it the blob answers 403
	// AuthenticationFailed as Azure does.
	SASLifetime time.Duration
	// QueueTime is how long an execution or message stays NotRun
	// (Enqueued); default 500ms. ExecuteTime is how long it then stays
	// Executing (InProcess); default 1s.
	QueueTime, ExecuteTime time.Duration
	// NotFoundFor makes a fresh execution unknown for that long: status
	// calls answer 400 "not found", as D365 does when polled too early
	// (section 8 item 11). Default 0.
	NotFoundFor time.Duration
	// KeysFileTime is how long GenerateImportTargetErrorKeysFile takes
	// before GetImportTargetErrorKeysFileUrl hands out a URL; default
	// 200ms.
	KeysFileTime time.Duration
	// VisibilityTimeout is how long a dequeued message that is not acked
	// stays invisible; default 30 minutes, as D365.
	VisibilityTimeout time.Duration
	// Activities are the recurring data jobs; default one import job and
	// one export job (see DefaultActivities).
	Activities []Activity
	// LegalEntities, when set, are the only legalEntityId and company
	// values accepted.
	LegalEntities []string
	// StagingError says why a row fails source → staging, or "" when it
	// does not. The default fails rows whose first column starts with
	// "FAIL".
	StagingError func(entity string, header, row []string) string
	// TargetError says why a staged row fails staging → target, or "".
	// The default fails rows whose first column starts with "TARGETFAIL".
	TargetError func(entity string, header, row []string) string
	// ExportPackages are the export data projects ExportToPackage knows,
	// by definition group, with the package each export produces.
	ExportPackages map[string][]byte
	// HTTPDownloadLocation hands out dequeue DownloadLocations as http://
	// URLs, as D365 does behind its load balancer; clients must rewrite
	// them to https (section 5).
	HTTPDownloadLocation bool
	// Blobs stores packages and files; default in memory, served by the
	// emulator itself.
	Blobs BlobStore
	// CAFile, when set, is where Start writes the certificate (PEM).
	CAFile string
	// Logger receives a line per request at debug level and the faults
	// injected at info level; default discards.
	Logger *slog.Logger
}

// DefaultActivities are the recurring data jobs of a zero Options.
var DefaultActivities = []Activity{
	{ID: "{6D31E09F-0249-459F-94F0-AAD9C2C2B1A1}", Name: "erpipe import (package)", DataProject: "erpipe-recurring-import", Package: true},
	{ID: "{0B4C1A7E-5D3E-4C8B-9F5A-2E7D6C1B3A90}", Name: "erpipe export (package)", DataProject: "erpipe-recurring-export", Package: true, Export: true},
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Tenant == "" {
		o.Tenant = DefaultTenant
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	def(&o.TokenLifetime, time.Hour)
	def(&o.SASLifetime, 35*time.Minute)
	def(&o.QueueTime, 500*time.Millisecond)
	def(&o.ExecuteTime, time.Second)
	def(&o.KeysFileTime, 200*time.Millisecond)
	def(&o.VisibilityTimeout, 30*time.Minute)
	if o.Activities == nil {
		o.Activities = DefaultActivities
	}
	if o.StagingError == nil {
		o.StagingError = prefixRule("FAIL", "the emulator's rule fails rows whose first column starts with FAIL")
	}
	if o.TargetError == nil {
		o.TargetError = prefixRule("TARGETFAIL", "the emulator's rule fails rows whose first column starts with TARGETFAIL")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// prefixRule fails rows whose first column starts with prefix, with a
// message in D365's manner.
func prefixRule(prefix, why string) func(entity string, header, row []string) string {
	return func(entity string, header, row []string) string {
		if len(row) == 0 || !strings.HasPrefix(strings.ToUpper(row[0]), prefix) {
			return ""
		}
		field := "the first field"
		if len(header) > 0 {
			field = "field '" + header[0] + "'"
		}
		return fmt.Sprintf("Results. Validation failed for %s value '%s' of entity '%s' (%s).", field, row[0], entity, why)
	}
}

// Server is an emulated D365 environment with its Entra ID tenant. Its
// methods are safe for concurrent use.
type Server struct {
	opts    Options
	key     []byte // signs blob SAS URLs
	handler http.Handler

	cert    tls.Certificate
	certPEM []byte

	mu         sync.Mutex
	url        string // set by Start
	srv        *http.Server
	tokens     map[string]time.Time // access token → expiry
	tokenLife  time.Duration
	notFound   time.Duration
	faults     []*fault
	requests   []Request
	executions []*execution
	byID       map[string]*execution
	exports    map[string][]byte
	blobs      *memBlobs                    // the default store, when Options.Blobs is nil
	blocks     map[string]map[string][]byte // staged blocks by blob, then block ID
	store      BlobStore
	queues     map[string]*queue // by normalized activity ID
	messages   map[string]*message
	messageSeq []*message
}

// New returns a server configured by opts. It serves nothing until Start
// (or until Handler is mounted on a TLS server, such as
// httptest.NewTLSServer).
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:      opts,
		key:       randomBytes(32),
		tokens:    map[string]time.Time{},
		tokenLife: opts.TokenLifetime,
		notFound:  opts.NotFoundFor,
		byID:      map[string]*execution{},
		exports:   map[string][]byte{},
		queues:    map[string]*queue{},
		messages:  map[string]*message{},
		blocks:    map[string]map[string][]byte{},
	}
	for k, v := range opts.ExportPackages {
		s.exports[strings.ToLower(k)] = v
	}
	for _, a := range opts.Activities {
		s.queues[normActivity(a.ID)] = &queue{activity: a}
	}
	if opts.Blobs != nil {
		s.store = opts.Blobs
	} else {
		s.blobs = &memBlobs{s: s, data: map[string][]byte{}}
		s.store = s.blobs
	}
	s.handler = s.routes()
	return s
}

// Handler is the emulator as an http.Handler, for a TLS server of the
// caller's own. URLs it hands out are built from the request's Host.
func (s *Server) Handler() http.Handler { return s.handler }

// Start makes a certificate and serves HTTPS on addr ("127.0.0.1:0" when
// empty: a free loopback port) until Close. With Options.CAFile set it
// writes the certificate there first.
func (s *Server) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := s.makeCert(); err != nil {
		return fmt.Errorf("d365 emulator: making its certificate: %w", err)
	}
	if s.opts.CAFile != "" {
		if err := os.WriteFile(s.opts.CAFile, s.certPEM, 0o644); err != nil {
			return fmt.Errorf("d365 emulator: writing the CA file: %w; choose a writable path", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("d365 emulator: listening on %s: %w; choose another address or port", addr, err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	s.url = "https://" + net.JoinHostPort(host, port)
	s.srv = srv
	s.mu.Unlock()
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12})
	go srv.Serve(tl)
	return nil
}

// URL is the environment URL (and the Entra ID authority host):
// https://127.0.0.1:PORT, without a trailing slash. Empty before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops serving at once.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Tenant, ClientID and ClientSecret are the application the token
// endpoint accepts.
func (s *Server) Tenant() string       { return s.opts.Tenant }
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Activities are the recurring data jobs served.
func (s *Server) Activities() []Activity { return append([]Activity(nil), s.opts.Activities...) }

// CAPEM is the server's certificate as PEM, for clients to trust (nil
// before Start).
func (s *Server) CAPEM() []byte { return s.certPEM }

// CertPool is a pool holding the server's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.certPEM)
	return p
}

// Client is an http.Client that trusts the server's certificate.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}}}
}

func (s *Server) makeCert() error {
	if s.certPEM != nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "erpipe D365 emulator", Organization: []string{"erpipe"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	s.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	s.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return nil
}

// baseKey carries the URL the request reached (scheme and host) to the
// code that builds URLs.
type baseKey struct{}

func baseURL(ctx context.Context) string {
	b, _ := ctx.Value(baseKey{}).(string)
	return b
}

func withBase(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), baseKey{}, "https://"+r.Host))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return b
}

// newGUID returns a random (version 4) GUID in upper case, as D365 shows
// them.
func newGUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := strings.ToUpper(hex.EncodeToString(b))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// errNotFound is what status calls answer for an unknown id.
var errNotFound = errors.New("not found")
