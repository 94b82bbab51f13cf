package emulator_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/erpipe/erpipe/d365/emulator"
)

// TestClientAssertion: the token endpoint takes a certificate credential's
// client assertion only as Entra ID does, and says why it refuses one
// with Entra ID's AADSTS code.
func TestClientAssertion(t *testing.T) {
	cert, pemData, err := emulator.NewClientCertificate("app")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemData[strings.Index(string(pemData), "-----BEGIN RSA"):])
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, emulator.Options{ClientCertificates: []*x509.Certificate{cert}})
	endpoint := s.URL() + "/" + s.Tenant() + "/oauth2/v2.0/token"
	s256, s1 := sha256.Sum256(cert.Raw), sha1.Sum(cert.Raw)
	now := time.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"aud": endpoint, "iss": s.ClientID(), "sub": s.ClientID(), "jti": "x",
			"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		if change != nil {
			change(c)
		}
		return c
	}
	sign := func(method jwt.SigningMethod, header map[string]any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, c)
		for k, v := range header {
			tok.Header[k] = v
		}
		var k any = key
		if method == jwt.SigningMethodNone {
			k = jwt.UnsafeAllowNoneSignatureType
		}
		signed, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	s256h := map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}
	for _, c := range []struct {
		name, assertion, kind string
		code                  int // 0: a token
	}{
		{"PS256 with x5t#S256, as MSAL signs", sign(jwt.SigningMethodPS256, s256h, claims(nil)), "", 0},
		{"RS256 with x5t, as for ADFS", sign(jwt.SigningMethodRS256, map[string]any{"x5t": base64.StdEncoding.EncodeToString(s1[:])}, claims(nil)), "", 0},
		{"no thumbprint", sign(jwt.SigningMethodPS256, nil, claims(nil)), "invalid_client", 700027},
		{"another audience", sign(jwt.SigningMethodPS256, s256h, claims(func(c jwt.MapClaims) { c["aud"] = "https://login.microsoftonline.com/x/oauth2/v2.0/token" })), "invalid_client", 700016},
		{"expired", sign(jwt.SigningMethodPS256, s256h, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })), "invalid_client", 700024},
		{"another issuer", sign(jwt.SigningMethodPS256, s256h, claims(func(c jwt.MapClaims) { c["iss"] = "someone" })), "invalid_client", 700021},
		{"tampered", sign(jwt.SigningMethodPS256, s256h, claims(nil))[:40] + "A" + sign(jwt.SigningMethodPS256, s256h, claims(nil))[41:], "invalid_client", 700027},
		{"unsigned", sign(jwt.SigningMethodNone, s256h, claims(nil)), "invalid_client", 700027},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := tokenRequest(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "scope": {s.URL() + "/.default"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {c.assertion}})
			m := a.json(t)
			if c.code == 0 {
				if a.status != http.StatusOK || m["access_token"] == nil {
					t.Errorf("%d %s", a.status, a.body)
				}
				return
			}
			if a.status != http.StatusUnauthorized || m["error"] != c.kind || !strings.Contains(m["error_description"].(string), "AADSTS"+strconv.Itoa(c.code)) {
				t.Errorf("%d %s; want 401 %s AADSTS%d", a.status, a.body, c.kind, c.code)
			}
		})
	}
}
