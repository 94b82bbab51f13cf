package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/erpipe/erpipe/d365/emulator"
)

// credential is azidentity's ClientSecretCredential pointed at the
// emulator, as the d365 client configures it.
func credential(t *testing.T, s *emulator.Server, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(s.Tenant(), s.ClientID(), secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.URL() + "/"},
			Transport: s.Client(),
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestAzidentityGetsAToken(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	s := start(t, emulator.Options{CAFile: ca})
	if b, err := os.ReadFile(ca); err != nil || !strings.Contains(string(b), "BEGIN CERTIFICATE") {
		t.Fatalf("CA file: %v %q", err, b)
	}
	ctx := context.Background()
	tok, err := credential(t, s, s.ClientSecret()).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.URL() + "/.default"}})
	if err != nil {
		t.Fatalf("azidentity could not get a token from the emulator: %v", err)
	}
	if time.Until(tok.ExpiresOn) < 50*time.Minute {
		t.Errorf("token expires %v, want about an hour from now", tok.ExpiresOn)
	}
	// The token opens the API.
	a := call(t, s, tok.Token, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "x"})
	if a.status != http.StatusOK {
		t.Fatalf("API call with azidentity's token: %d %s", a.status, a.body)
	}

	_, err = credential(t, s, "wrong").GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.URL() + "/.default"}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("a wrong secret: %v, want AADSTS7000215 (invalid client secret)", err)
	}
}

func TestTokenEndpoint(t *testing.T) {
	s := start(t, emulator.Options{TokenLifetime: 90 * time.Second})
	good := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}, "scope": {s.URL() + "/.default"}}
	}
	tests := []struct {
		name   string
		edit   func(url.Values)
		status int
		errKey string // the error member, "" for success
		code   string // in error_description
	}{
		{"client credentials", func(url.Values) {}, 200, "", ""},
		{"another grant", func(v url.Values) { v.Set("grant_type", "password") }, 400, "unsupported_grant_type", "AADSTS70003"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "nobody") }, 400, "unauthorized_client", "AADSTS700016"},
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "nope") }, 401, "invalid_client", "AADSTS7000215"},
		{"another resource", func(v url.Values) { v.Set("scope", "https://contoso.operations.dynamics.com/.default") }, 400, "invalid_scope", "AADSTS1002012"},
		{"no .default", func(v url.Values) { v.Set("scope", s.URL()) }, 400, "invalid_scope", "AADSTS1002012"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := good()
			tt.edit(form)
			a := tokenRequest(t, s, form)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			m := a.json(t)
			if tt.errKey == "" {
				if got := keys(m); !slices.Equal(got, []string{"access_token", "expires_in", "ext_expires_in", "token_type"}) {
					t.Errorf("members %v", got)
				}
				if m["token_type"] != "Bearer" || m["expires_in"] != 90.0 || m["ext_expires_in"] != 90.0 {
					t.Errorf("answer %s", a.body)
				}
				return
			}
			if m["error"] != tt.errKey || !strings.Contains(m["error_description"].(string), tt.code) {
				t.Errorf("answer %s, want error %s with %s", a.body, tt.errKey, tt.code)
			}
		})
	}

	a := do(t, s, http.MethodGet, "/"+s.Tenant()+"/v2.0/.well-known/openid-configuration", nil, nil)
	m := a.json(t)
	if m["token_endpoint"] != s.URL()+"/"+s.Tenant()+"/oauth2/v2.0/token" || m["issuer"] != s.URL()+"/"+s.Tenant()+"/v2.0" || m["authorization_endpoint"] == nil {
		t.Errorf("openid-configuration: %s", a.body)
	}
	if a := do(t, s, http.MethodGet, "/another-tenant/v2.0/.well-known/openid-configuration", nil, nil); a.status != http.StatusBadRequest {
		t.Errorf("another tenant's configuration: %d", a.status)
	}
}

func TestUnauthorized(t *testing.T) {
	s := start(t, emulator.Options{TokenLifetime: 1 * time.Second})
	body := map[string]string{"executionId": "x"}
	for _, tt := range []struct{ name, auth string }{
		{"no token", ""},
		{"not bearer", "Basic Zm9vOmJhcg=="},
		{"unknown token", "Bearer emu.forged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			for _, u := range []string{actions + "GetExecutionSummaryStatus", "/api/connector/enqueue/%7B6D31E09F-0249-459F-94F0-AAD9C2C2B1A1%7D"} {
				if a := do(t, s, http.MethodPost, u, h, []byte(`{"executionId":"x"}`)); a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: %d (%s), want 401 with WWW-Authenticate", u, a.status, a.header.Get("WWW-Authenticate"))
				}
			}
		})
	}

	tok := token(t, s)
	if a := call(t, s, tok, "GetExecutionSummaryStatus", body); a.status != http.StatusBadRequest {
		t.Fatalf("with a fresh token: %d %s (want 400 not found)", a.status, a.body)
	}
	time.Sleep(1100 * time.Millisecond)
	if a := call(t, s, tok, "GetExecutionSummaryStatus", body); a.status != http.StatusUnauthorized {
		t.Errorf("with an expired token: %d, want 401", a.status)
	}

	s.SetTokenLifetime(time.Hour)
	tok = token(t, s)
	s.ExpireTokens()
	if a := call(t, s, tok, "GetExecutionSummaryStatus", body); a.status != http.StatusUnauthorized {
		t.Errorf("after ExpireTokens: %d, want 401", a.status)
	}
}

// TestHandlerOnHTTPTest mounts the emulator on httptest's TLS server: the
// URLs it hands out are the server's.
func TestHandlerOnHTTPTest(t *testing.T) {
	s := emulator.New(fast)
	ts := httptest.NewTLSServer(s.Handler())
	defer ts.Close()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}, "scope": {ts.URL + "/.default"}}
	resp, err := ts.Client().PostForm(ts.URL+"/"+s.Tenant()+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+actions+"GetAzureWriteUrl", strings.NewReader(`{"uniqueFileName":"x"}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Value string }
	json.NewDecoder(resp.Body).Decode(&v)
	if !strings.Contains(v.Value, `"BlobUrl":"`+ts.URL+"/") {
		t.Errorf("GetAzureWriteUrl on httptest: %d %q", resp.StatusCode, v.Value)
	}
}

// TestTokenExpiresInUse: a token azidentity caches stops working mid-run;
// asking again with claims (as after a challenge) gets a new one.
func TestTokenExpiresInUse(t *testing.T) {
	opts := fast
	opts.TokenValidity = 300 * time.Millisecond
	s := start(t, opts)
	cred := credential(t, s, s.ClientSecret())
	ctx := context.Background()
	scope := policy.TokenRequestOptions{Scopes: []string{s.URL() + "/.default"}}
	tok, err := cred.GetToken(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"uniqueFileName": "x"}
	if a := call(t, s, tok.Token, "GetAzureWriteUrl", body); a.status != http.StatusOK {
		t.Fatalf("fresh token: %d", a.status)
	}
	time.Sleep(350 * time.Millisecond)
	again, _ := cred.GetToken(ctx, scope)
	if again.Token != tok.Token {
		t.Fatal("azidentity did not cache the token; the test means nothing")
	}
	if a := call(t, s, again.Token, "GetAzureWriteUrl", body); a.status != http.StatusUnauthorized {
		t.Fatalf("the cached token after its validity: %d, want 401", a.status)
	}
	scope.Claims = `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`
	fresh, err := cred.GetToken(ctx, scope)
	if err != nil || fresh.Token == tok.Token {
		t.Fatalf("GetToken with claims: %v (same token: %v)", err, fresh.Token == tok.Token)
	}
	if a := call(t, s, fresh.Token, "GetAzureWriteUrl", body); a.status != http.StatusOK {
		t.Errorf("the new token: %d", a.status)
	}
}
