package workspace

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/d365/emulator"
)

// TestD365ConnectionCredentials: a connection signs in with the
// certificate certificate_file names (relative to the workspace), or with
// the secret from the environment or a file; what is missing or given
// twice is named.
func TestD365ConnectionCredentials(t *testing.T) {
	cert, pemData, err := emulator.NewClientCertificate("erpipe")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	ca := filepath.Join(root, "ca.pem")
	s := emulator.New(emulator.Options{CAFile: ca, ClientCertificates: []*x509.Certificate{cert}})
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := os.WriteFile(filepath.Join(root, "app.pem"), pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "secret.txt"), []byte(s.ClientSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ERPIPE_D365_CLIENT_SECRET", "")
	base := D365Connection{Environment: s.URL(), AuthorityHost: s.URL(), Tenant: s.Tenant(), ClientID: s.ClientID(), CAFile: "ca.pem"}
	with := func(f func(*D365Connection)) D365Connection { c := base; f(&c); return c }
	for _, c := range []struct {
		name string
		conn D365Connection
		err  string // "" signs in
	}{
		{"a certificate", with(func(c *D365Connection) { c.CertificateFile = "app.pem" }), ""},
		{"a secret file", with(func(c *D365Connection) { c.SecretFile = "secret.txt" }), ""},
		{"no secret", base, "environment variable ERPIPE_D365_CLIENT_SECRET"},
		{"both", with(func(c *D365Connection) { c.CertificateFile, c.SecretFile = "app.pem", "secret.txt" }), "not both"},
		{"a certificate file that is not there", with(func(c *D365Connection) { c.CertificateFile = "nope.pem" }), "certificate_file"},
		{"a password not set", with(func(c *D365Connection) {
			c.CertificateFile, c.CertificatePasswordEnv = "app.pem", "ERPIPE_TEST_NO_PASSWORD"
		}), "ERPIPE_TEST_NO_PASSWORD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, err := c.conn.Client(root)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("err %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Status(context.Background(), "erpipe-none"); !errors.Is(err, d365.ErrNotFound) {
				t.Errorf("signed in? %v", err)
			}
		})
	}
}
