package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/d365/emulator"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestD365Emulate runs erpipe d365 emulate and follows what it prints: the
// CA file, a token for the client it names, an export of the sample
// project and a dequeue from the export job.
func TestD365Emulate(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	certFile := filepath.Join(t.TempDir(), "client.pem")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runEmulate(ctx, emulateOptions{listen: "127.0.0.1:0", caFile: ca, certFile: certFile, executeTime: 100 * time.Millisecond}, &out, slog.New(slog.DiscardHandler))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if !strings.Contains(out.String(), "stopping; 0 imports received") {
			t.Errorf("no goodbye:\n%s", out.String())
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "every request is logged"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("emulate printed:\n%s", out.String())
		}
	}
	text := out.String()
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^  ` + name + ` +(\S+)`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no %s in:\n%s", name, text)
		}
		return m[1]
	}
	env, tenant, id, secret := field("environment URL"), field("tenant"), field("client ID"), field("client secret")
	if field("CA certificate") != ca {
		t.Errorf("CA file printed %q, want %q", field("CA certificate"), ca)
	}
	if field("or certificate") != certFile {
		t.Errorf("client certificate printed %q, want %q", field("or certificate"), certFile)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	byCert, err := d365.New(d365.Config{Environment: env, AuthorityHost: env, Tenant: tenant, ClientID: id, Certificate: certPEM, CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := byCert.Status(context.Background(), "erpipe-none"); !errors.Is(err, d365.ErrNotFound) {
		t.Errorf("signed in with the printed certificate? %v", err)
	}
	for _, a := range emulator.DefaultActivities {
		if !strings.Contains(text, a.ID) {
			t.Errorf("activity %s not printed", a.ID)
		}
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	post := func(u, ctype, tok string, body []byte) (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {env + "/.default"}}
	code, b := post(env+"/"+tenant+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", "", []byte(form.Encode()))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal(b, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token with the printed settings: %d %s", code, b)
	}
	code, b = post(env+"/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.ExportToPackage", "application/json", tok.AccessToken,
		[]byte(`{"definitionGroupId":"erpipe-export","packageName":"customers","executionId":"","reExecute":false,"legalEntityId":"USMF"}`))
	if code != 200 {
		t.Errorf("ExportToPackage of the sample project: %d %s", code, b)
	}
	req, _ := http.NewRequest(http.MethodGet, env+"/api/connector/dequeue/"+url.PathEscape(emulator.DefaultActivities[1].ID), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("dequeue from the export job: %d", resp.StatusCode)
	}
}
