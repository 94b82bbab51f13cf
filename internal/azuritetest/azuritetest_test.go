package azuritetest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/erpipe/erpipe/internal/azuritetest"
)

// TestRestart: a stopped server refuses connections; restarted, it is at
// the same endpoint and still holds its blobs (Azurite saves its metadata
// as it closes). Over https too, so that the certificate survives the
// restart.
func TestRestart(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		srv := azuritetest.New(t, azuritetest.Options{TLS: tlsOn, Containers: []string{"erpipe-test"}})
		t.Run(srv.Name, func(t *testing.T) {
			c, err := srv.Container("erpipe-test")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.NewBlockBlobClient("k/x.txt").Upload(t.Context(), streaming.NopCloser(strings.NewReader("kept")), nil); err != nil {
				t.Fatalf("upload: %v", err)
			}
			endpoint := srv.Endpoint
			if err := srv.Stop(); err != nil {
				t.Fatal(err)
			}
			if srv.Running() {
				t.Fatal("Running after Stop")
			}
			hc, _ := srv.HTTPClient()
			if resp, err := hc.Get(srv.Endpoint + "?comp=list"); err == nil {
				resp.Body.Close()
				t.Fatalf("stopped server answered %s", resp.Status)
			}
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			if srv.Endpoint != endpoint || !srv.Running() {
				t.Fatalf("after Restart: endpoint %s (was %s), running %v", srv.Endpoint, endpoint, srv.Running())
			}
			resp, err := c.NewBlobClient("k/x.txt").DownloadStream(t.Context(), nil)
			if err != nil {
				t.Fatalf("download after Restart: %v", err)
			}
			defer resp.Body.Close()
			if b, _ := io.ReadAll(resp.Body); string(b) != "kept" {
				t.Errorf("blob holds %q after Restart, want %q", b, "kept")
			}
		})
	}
}

// TestAnonymousRefused: the server checks who asks, so tests of credential
// handling mean something.
func TestAnonymousRefused(t *testing.T) {
	srv := azuritetest.New(t, azuritetest.Options{Containers: []string{"erpipe-test"}})
	hc, err := srv.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.Endpoint + "/erpipe-test?restype=container&comp=list")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
		t.Errorf("anonymous request: %s, want 403 (or 404, as Azure hides private containers)", resp.Status)
	}
}

// TestMissing: Binary says when there is no Azurite to run, and Required
// reads ERPIPE_REQUIRE_AZURITE (New then fails instead of skipping).
func TestMissing(t *testing.T) {
	t.Setenv("AZURITE_BLOB", "")
	t.Setenv("PATH", t.TempDir())
	t.Setenv("ERPIPE_CACHE", t.TempDir())
	if _, err := azuritetest.Binary(); err == nil {
		t.Fatal("Binary found Azurite where there is none")
	}
	t.Setenv("ERPIPE_REQUIRE_AZURITE", "1")
	if !azuritetest.Required() {
		t.Error("Required() = false with ERPIPE_REQUIRE_AZURITE set")
	}
}
