package d365

import (
	"context"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
)

// TestCertificateCredential: an application signs in with the key of a
// certificate registered on it (azidentity's client assertion, checked by
// the emulator as Entra ID does); a certificate that is not registered,
// or another application's client id, gets no token and the call says so.
func TestCertificateCredential(t *testing.T) {
	registered, pemData, err := emulator.NewClientCertificate("erpipe test app")
	if err != nil {
		t.Fatal(err)
	}
	_, stranger, err := emulator.NewClientCertificate("someone else")
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	s := emulator.New(emulator.Options{CAFile: ca, ClientCertificates: []*x509.Certificate{registered}})
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	client := func(cert []byte, clientID string) *Client {
		t.Helper()
		c, err := New(Config{Environment: s.URL(), AuthorityHost: s.URL(), Tenant: s.Tenant(), ClientID: clientID, Certificate: cert, CAFile: ca, Retries: 1})
		if err != nil {
			t.Fatal(err)
		}
		c.sleep = func(context.Context, time.Duration) error { return nil }
		return c
	}
	ctx := context.Background()
	if _, err := client(pemData, s.ClientID()).Status(ctx, "erpipe-none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("with the registered certificate: %v, want the API's answer (not found)", err)
	}
	for name, c := range map[string]*Client{
		"a certificate not registered": client(stranger, s.ClientID()),
		"another application":          client(pemData, "00000000-0000-0000-0000-000000000001"),
	} {
		_, err := c.Status(ctx, "erpipe-none")
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "AADSTS") {
			t.Errorf("%s: %v, want Entra ID's refusal", name, err)
		}
	}
	if _, err := New(Config{Environment: s.URL(), Tenant: "t", ClientID: "c", Certificate: []byte("not a certificate")}); err == nil ||
		!strings.Contains(err.Error(), "PEM file of the certificate and its private key") {
		t.Errorf("an unreadable certificate: %v", err)
	}
}
