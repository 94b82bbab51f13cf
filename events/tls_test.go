package events

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDispatcherCAFile: a receiver whose certificate a private CA signed
// is reached with ca_file, and refused without it.
func TestDispatcherCAFile(t *testing.T) {
	const secret = "a-secret-of-sixteen-or-more"
	t.Setenv(DefaultSecretEnv, secret)
	rc := &receiver{answer: http.StatusOK, secret: []byte(secret)}
	srv := httptest.NewTLSServer(rc)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ca, want string
	}{
		{"trusted", ca, ""},
		{"untrusted", "", "certificate"},
		{"not a certificate", filepath.Join(t.TempDir(), "none.pem"), "ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, db := outbox(t)
			hooks := []Webhook{{Name: "h", URL: srv.URL + "/hook", CAFile: tt.ca}}
			if err := Add(context.Background(), db, New(JobEnded, time.Now(), "p", "", hooks), "job"); err != nil {
				t.Fatal(err)
			}
			d := &Dispatcher{Store: store, Hooks: func() []Webhook { return hooks }}
			d.Round(context.Background())
			list, _ := store.List(context.Background(), 0)
			got := list[0]
			if tt.want == "" && got.Status != Delivered || tt.want != "" && (got.Status != Pending || !strings.Contains(got.LastError, tt.want)) {
				t.Errorf("delivery %s, %q; want %q", got.Status, got.LastError, tt.want)
			}
		})
	}
}
