package azblob_test

import (
	"cmp"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpipe/erpipe/internal/azuritetest"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/azblob"
)

const (
	entraTenant = "erpipe-test-tenant"
	entraClient = "erpipe-test-client"
	entraSecret = "entra-client-secret-must-never-be-printed-7"
)

// entraServer is a Microsoft Entra ID token endpoint on 127.0.0.1, as far
// as the client credentials flow goes: the tenant's OpenID configuration
// and its token endpoint, which gives a token for the client's secret.
// The tokens are JWTs Azurite takes (it checks issuer, audience and
// times, not signatures).
type entraServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "POST /tenant/oauth2/v2.0/token scope=..."
}

func newEntraServer(t *testing.T, srv *server) *entraServer {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(srv.CAFile, srv.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	es := &entraServer{}
	es.Server = httptest.NewUnstartedServer(http.HandlerFunc(es.serve))
	es.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	es.StartTLS()
	t.Cleanup(es.Close)
	return es
}

func (es *entraServer) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	es.mu.Lock()
	es.requests = append(es.requests, r.Method+" "+r.URL.Path+" scope="+r.PostForm.Get("scope"))
	es.mu.Unlock()
	base := es.URL + "/" + entraTenant
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		_ = json.NewEncoder(w).Encode(map[string]string{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"issuer":                 base + "/v2.0",
		})
	case r.Method == http.MethodPost && r.URL.Path == "/"+entraTenant+"/oauth2/v2.0/token":
		if r.PostForm.Get("client_id") != entraClient || r.PostForm.Get("client_secret") != entraSecret {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "invalid_client",
				"error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": []int{7000215}})
			return
		}
		now := time.Now().Unix()
		var aud string // the resource of the scope asked for, "https://storage.azure.com/.default openid ..."
		for f := range strings.FieldsSeq(r.PostForm.Get("scope")) {
			if res, ok := strings.CutSuffix(f, "/.default"); ok {
				aud = res
			}
		}
		claims, _ := json.Marshal(map[string]any{"aud": aud, "iss": "https://sts.windows.net/" + entraTenant + "/",
			"iat": now, "nbf": now - 60, "exp": now + 3600, "oid": "erpipe-test-object", "tid": entraTenant, "appid": entraClient})
		enc := base64.RawURLEncoding.EncodeToString
		token := enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + "." + enc([]byte("not-signed"))
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token})
	default:
		http.NotFound(w, r)
	}
}

// TestEntra: with credential entra, the client secret from the
// environment is exchanged for a token (DefaultAzureCredential, narrowed
// to the environment's credential so that no managed identity endpoint is
// probed), which Azurite over https takes; a wrong secret is permanent,
// says what to check, and is never shown.
func TestEntra(t *testing.T) {
	needServers(t)
	srv := servers[1]
	es := newEntraServer(t, srv)
	for _, tc := range []struct {
		name, secret string
		ok           bool
		want         string
		audience     string
	}{
		{"good secret", entraSecret, true, "", ""},
		{"account audience", entraSecret, true, "", "https://" + azuritetest.Account + ".blob.core.windows.net"},
		{"other account's audience", entraSecret, false, "the storage service answered 403", "https://another.blob.core.windows.net"},
		{"wrong secret", "wrong-" + entraSecret, false,
			"Microsoft Entra ID answered 401 invalid_client: AADSTS7000215: Invalid client secret provided. (Microsoft Entra ID refused the sign-in", ""},
		{"no secret", "", false, "no Microsoft Entra ID credential was found: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range map[string]string{"AZURE_TENANT_ID": entraTenant, "AZURE_CLIENT_ID": entraClient,
				"AZURE_CLIENT_SECRET": tc.secret, "AZURE_AUTHORITY_HOST": es.URL, "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential"} {
				t.Setenv(k, v)
			}
			cfg := config(t, srv)
			t.Setenv(azblob.EnvKey, "") // not used: the token is
			cfg.Credential, cfg.DisableInstanceDiscovery, cfg.Audience = azblob.CredentialEntra, true, tc.audience
			d := newDest(t, cfg)
			loc, err := d.Put(t.Context(), "entra.csv", strings.NewReader("signed in\n"), 10)
			if !tc.ok {
				if err == nil {
					t.Fatal("Put with a wrong client secret succeeded")
				}
				if outbox.IsTransient(err) {
					t.Errorf("IsTransient(%v) = true; a wrong secret needs a person", err)
				}
				if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q does not say %q on one line", err, tc.want)
				}
				if out := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(out, entraSecret) {
					t.Errorf("error shows the client secret: %s", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("Put: %v\ntoken server saw: %q", err, es.requests)
			}
			if o, _ := get(t, srv, loc); string(o.data) != "signed in\n" {
				t.Errorf("stored %q", o.data)
			}
			es.mu.Lock()
			defer es.mu.Unlock()
			want := "POST /" + entraTenant + "/oauth2/v2.0/token scope=" + cmp.Or(tc.audience, "https://storage.azure.com") + "/.default"
			if !strings.Contains(strings.Join(es.requests, "\n"), want) {
				t.Errorf("the token server saw %q, want %q", es.requests, want)
			}
		})
	}
}
