package workspace

import (
	"fmt"
	"net"
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
}

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
	return nil
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
