package workspace

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultListen is where erpipe run serves HTTP when http: says enabled
// without an address: the loopback interface only.
const DefaultListen = "127.0.0.1:8780"

// HTTPConfig is http: in erpipe.yaml, the daemon's HTTP server (package
// api). Without listen (and without erpipe run --listen) no server runs.
type HTTPConfig struct {
	// Listen is host:port to serve on, such as 127.0.0.1:8780 (the
	// default host is 127.0.0.1: give 0.0.0.0:8780 or an interface's
	// address to be reached from other machines, with TLS and clients).
	Listen string `yaml:"listen"`
	// CertFile and KeyFile, both or neither, serve HTTPS (PEM files,
	// relative to the workspace).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ShutdownGrace is how long requests in flight may go on once the
	// daemon is told to stop (default 10s).
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's headers (default 10s).
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// BodyTimeout bounds how long a client may take to send a request's
	// body, an upload (default 10m).
	BodyTimeout Duration `yaml:"body_timeout"`
	// IdleTimeout closes keep-alive connections idle for longer (default 2m).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxUpload is the largest upload accepted (default 1GiB); a larger
	// one is refused with 413.
	MaxUpload ByteSize `yaml:"max_upload"`
	// Clients may call the API, each with its bearer token (stored as its
	// SHA-256, made by erpipe tokens new NAME). Without clients the API
	// answers only requests from this machine (loopback), and only when
	// it listens on a loopback address.
	Clients []ClientConfig `yaml:"clients"`
	// Users may sign in to the web console with a name and password
	// (stored as a bcrypt hash, made by erpipe users hash NAME); a
	// signed-in browser holds a session cookie.
	Users []UserConfig `yaml:"users"`
	// SessionTimeout ends a console session idle for longer (default
	// 1h); a session ends 12 hours after its sign-in in any case.
	SessionTimeout Duration `yaml:"session_timeout"`
	// Limits say when the API is under load: low-priority clients are
	// refused first (429 with Retry-After), then medium, high last.
	Limits HTTPLimits `yaml:"limits"`
	// Activities map the recurring-integrations facade's activity IDs
	// (/api/connector/.../{activityId}) to pipelines.
	Activities []ActivityConfig `yaml:"activities"`
	// VisibilityTimeout is how long a dequeued message of the facade
	// stays hidden before it is handed out again unless acked (default
	// 30m, as D365).
	VisibilityTimeout Duration `yaml:"visibility_timeout"`
}

// ClientConfig is one client of the API.
type ClientConfig struct {
	Name string `yaml:"name"`
	// TokenSHA256 is the SHA-256 of the client's bearer token, in hex;
	// the token itself is written nowhere.
	TokenSHA256 string `yaml:"token_sha256"`
	// Priority is high, medium (default) or low.
	Priority string `yaml:"priority"`
	// Pipelines the client may use; none: every pipeline.
	Pipelines []string `yaml:"pipelines"`
	// RoleName is what the client may do: viewer, operator (default),
	// author or admin (see Role).
	RoleName string `yaml:"role"`
	// Revoked refuses the token (401) while keeping the client listed.
	Revoked bool `yaml:"revoked"`
	// Rate is how many requests a second the client may make (default
	// limits: rate), Burst how many at once above it.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// UserConfig is one user of the console.
type UserConfig struct {
	Name string `yaml:"name"`
	// PasswordHash is the bcrypt hash of the user's password ($2a$, $2b$
	// or $2y$), as erpipe users hash prints it; the password itself is
	// written nowhere.
	PasswordHash string `yaml:"password_hash"`
	// RoleName is what the user may do: viewer (default), operator,
	// author or admin.
	RoleName string `yaml:"role"`
	// Pipelines the user may use; none: every pipeline.
	Pipelines []string `yaml:"pipelines"`
	// Disabled refuses the user's sign-in and ends its sessions.
	Disabled bool `yaml:"disabled"`
}

// User returns the user called name, or nil.
func (c HTTPConfig) User(name string) *UserConfig {
	for i := range c.Users {
		if c.Users[i].Name == name {
			return &c.Users[i]
		}
	}
	return nil
}

// Session returns how long an idle console session lasts.
func (c HTTPConfig) Session() time.Duration {
	if c.SessionTimeout > 0 {
		return time.Duration(c.SessionTimeout)
	}
	return time.Hour
}

// HTTPLimits is http: limits:.
type HTTPLimits struct {
	// Concurrent is how many API requests may run at once (default 32):
	// low-priority clients get half of it, medium three quarters, high all.
	Concurrent int `yaml:"concurrent"`
	// Queued is how many submitted jobs may wait for a worker (default
	// 100), shared out by priority as Concurrent.
	Queued int `yaml:"queued"`
	// Rate and Burst are each client's request rate (default 50/s, burst
	// 100), unless the client says otherwise.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// ActivityConfig maps a facade activity ID to a pipeline.
type ActivityConfig struct {
	ID       string `yaml:"id"` // a GUID, with or without braces
	Pipeline string `yaml:"pipeline"`
}

// Priorities, lowest first.
var Priorities = []string{"low", "medium", "high"}

// Enabled reports whether erpipe.yaml asks for an HTTP server.
func (c HTTPConfig) Enabled() bool { return c.Listen != "" }

// Validate checks the settings that can be checked without listening.
func (c HTTPConfig) Validate() error {
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(ListenAddr(c.Listen)); err != nil {
			return fmt.Errorf("%s: http: listen %q: %v; write host:port, such as 127.0.0.1:8780", ConfigFile, c.Listen, err)
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("%s: http: give both cert_file and key_file for HTTPS, or neither", ConfigFile)
	}
	names, tokens := map[string]bool{}, map[string]bool{}
	for i, cl := range c.Clients {
		switch {
		case cl.Name == "":
			return fmt.Errorf("%s: http: clients[%d] has no name; give each client a name", ConfigFile, i)
		case names[cl.Name]:
			return fmt.Errorf("%s: http: client %q is listed twice", ConfigFile, cl.Name)
		case len(cl.TokenSHA256) != 64 || strings.Trim(strings.ToLower(cl.TokenSHA256), "0123456789abcdef") != "":
			return fmt.Errorf("%s: http: client %q: token_sha256 must be the 64 hex digits erpipe tokens new prints", ConfigFile, cl.Name)
		case tokens[strings.ToLower(cl.TokenSHA256)]:
			return fmt.Errorf("%s: http: client %q has the token of another client; make each its own with erpipe tokens new", ConfigFile, cl.Name)
		case cl.Priority != "" && !slices.Contains(Priorities, cl.Priority):
			return fmt.Errorf("%s: http: client %q: priority %q is not known; use high, medium or low", ConfigFile, cl.Name, cl.Priority)
		case cl.Rate < 0 || cl.Burst < 0:
			return fmt.Errorf("%s: http: client %q: rate and burst cannot be negative", ConfigFile, cl.Name)
		}
		if _, err := ParseRole(cl.RoleName); err != nil {
			return fmt.Errorf("%s: http: client %q: %v", ConfigFile, cl.Name, err)
		}
		names[cl.Name], tokens[strings.ToLower(cl.TokenSHA256)] = true, true
	}
	for i, u := range c.Users {
		switch {
		case u.Name == "":
			return fmt.Errorf("%s: http: users[%d] has no name; give each user a name", ConfigFile, i)
		case strings.ContainsAny(u.Name, " \t\r\n:"):
			return fmt.Errorf("%s: http: user %q: a name has no spaces or colons", ConfigFile, u.Name)
		case names[u.Name]:
			return fmt.Errorf("%s: http: user %q is listed twice, or is also a client's name; give each its own", ConfigFile, u.Name)
		}
		if err := checkPasswordHash(u.PasswordHash); err != nil {
			return fmt.Errorf("%s: http: user %q: password_hash %v; make it with erpipe users hash %s (never write the password itself)", ConfigFile, u.Name, err, u.Name)
		}
		if _, err := ParseRole(u.RoleName); err != nil {
			return fmt.Errorf("%s: http: user %q: %v", ConfigFile, u.Name, err)
		}
		names[u.Name] = true
	}
	if c.SessionTimeout < 0 {
		return fmt.Errorf("%s: http: session_timeout cannot be negative", ConfigFile)
	}
	if l := c.Limits; l.Concurrent < 0 || l.Queued < 0 || l.Rate < 0 || l.Burst < 0 {
		return fmt.Errorf("%s: http: limits cannot be negative", ConfigFile)
	}
	ids := map[string]bool{}
	for _, a := range c.Activities {
		id := NormActivity(a.ID)
		if len(id) != 36 || strings.Count(id, "-") != 4 {
			return fmt.Errorf("%s: http: activity %q is not a GUID like {6D31E09F-0249-459F-94F0-AAD9C2C47B64}", ConfigFile, a.ID)
		}
		if ids[id] {
			return fmt.Errorf("%s: http: activity %s is listed twice", ConfigFile, a.ID)
		}
		if a.Pipeline == "" {
			return fmt.Errorf("%s: http: activity %s names no pipeline; say which pipeline its files go to", ConfigFile, a.ID)
		}
		ids[id] = true
	}
	return nil
}

// NormActivity is an activity ID as the facade compares them: without
// braces, lower case.
func NormActivity(id string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(id), "{}"))
}

// Activity returns the pipeline of activity id, or "".
func (c HTTPConfig) Activity(id string) string {
	for _, a := range c.Activities {
		if NormActivity(a.ID) == NormActivity(id) {
			return a.Pipeline
		}
	}
	return ""
}

// Visibility is the facade's visibility timeout.
func (c HTTPConfig) Visibility() time.Duration {
	if c.VisibilityTimeout > 0 {
		return time.Duration(c.VisibilityTimeout)
	}
	return 30 * time.Minute
}

// ListenAddr completes addr: ":8780" or "8780" listen on 127.0.0.1, so
// that leaving out the host never opens the server to the network.
func ListenAddr(addr string) string {
	if addr == "" {
		return DefaultListen
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort("127.0.0.1", addr) // a bare port
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// Timeouts returns the configured timeouts, defaults filled in.
func (c HTTPConfig) Timeouts() (readHeader, body, idle, grace time.Duration) {
	or := func(d Duration, def time.Duration) time.Duration {
		if d > 0 {
			return time.Duration(d)
		}
		return def
	}
	return or(c.ReadHeaderTimeout, 10*time.Second), or(c.BodyTimeout, 10*time.Minute),
		or(c.IdleTimeout, 2*time.Minute), or(c.ShutdownGrace, 10*time.Second)
}

// UploadLimit returns the largest upload accepted.
func (c HTTPConfig) UploadLimit() int64 {
	if c.MaxUpload > 0 {
		return int64(c.MaxUpload)
	}
	return 1 << 30
}

// CheckHTTP says what in http: names what the workspace does not have: a
// pipeline of an activity or of a client's scopes, a certificate or key
// file.
func (w *Workspace) CheckHTTP() error {
	c := w.Config.HTTP
	var errs []error
	for _, a := range c.Activities {
		if w.Pipeline(a.Pipeline) == nil {
			errs = append(errs, fmt.Errorf("%s: http: activity %s maps to pipeline %q, which this workspace does not have", ConfigFile, a.ID, a.Pipeline))
		}
	}
	for _, cl := range c.Clients {
		for _, p := range cl.Pipelines {
			if w.Pipeline(p) == nil {
				errs = append(errs, fmt.Errorf("%s: http: client %s: pipelines: there is no pipeline %q", ConfigFile, cl.Name, p))
			}
		}
	}
	for _, u := range c.Users {
		for _, p := range u.Pipelines {
			if w.Pipeline(p) == nil {
				errs = append(errs, fmt.Errorf("%s: http: user %s: pipelines: there is no pipeline %q", ConfigFile, u.Name, p))
			}
		}
	}
	for _, f := range []string{c.CertFile, c.KeyFile} {
		if f == "" {
			continue
		}
		if !filepath.IsAbs(f) {
			f = filepath.Join(w.Root, f)
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: http: %w", ConfigFile, err))
		}
	}
	return errors.Join(errs...)
}
