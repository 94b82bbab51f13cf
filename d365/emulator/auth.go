package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// openIDConfiguration answers tenant discovery, which MSAL asks for before
// its first token (issuer must be on the authority's host).
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if tenant != s.opts.Tenant {
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID; the emulator's tenant is %s.", tenant, s.opts.Tenant))
		return
	}
	base := baseURL(r.Context()) + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"issuer":                                base + "/v2.0",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

// token issues an access token for the client credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("tenant") != s.opts.Tenant {
		aadError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found; the emulator's tenant is %s.", r.PathValue("tenant"), s.opts.Tenant))
		return
	}
	if err := r.ParseForm(); err != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the form parameters: "+err.Error())
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		aadError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'; the emulator issues tokens for client_credentials only.", r.PostForm.Get("grant_type")))
		return
	case id != s.opts.ClientID:
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant.", id, s.opts.Tenant))
		return
	case secret == "" && r.PostForm.Get("client_assertion") != "":
		if code, desc := s.checkAssertion(r, id); code != 0 {
			aadError(w, http.StatusUnauthorized, "invalid_client", code, desc)
			return
		}
	case subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1:
		aadError(w, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", id))
		return
	}
	want := baseURL(r.Context()) + "/.default"
	scopeOK := false
	for _, sc := range strings.Fields(r.PostForm.Get("scope")) {
		if strings.EqualFold(strings.TrimSuffix(sc, "/.default"), strings.TrimSuffix(want, "/.default")) && strings.HasSuffix(sc, "/.default") ||
			strings.EqualFold(sc, strings.TrimSuffix(want, "/.default")+"//.default") {
			scopeOK = true
		}
	}
	if !scopeOK {
		aadError(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %q is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI); ask for %s.", r.PostForm.Get("scope"), want))
		return
	}
	s.mu.Lock()
	life, valid := s.tokenLife, s.tokenLife
	if s.opts.TokenValidity > 0 {
		valid = s.opts.TokenValidity
	}
	tok := "emu." + base64.RawURLEncoding.EncodeToString(randomBytes(24))
	s.tokens[tok] = time.Now().Add(valid)
	s.mu.Unlock()
	secs := int(life / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   tok,
	})
}

// aadError answers in Entra ID's error shape.
func aadError(w http.ResponseWriter, code int, kind string, aadsts int, desc string) {
	writeJSON(w, code, map[string]any{
		"error":             kind,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, strings.ToLower(newGUID()), strings.ToLower(newGUID()), time.Now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          strings.ToLower(newGUID()),
		"correlation_id":    strings.ToLower(newGUID()),
	})
}

// SetTokenLifetime sets the lifetime of the tokens issued from now on.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	s.tokenLife = d
	s.mu.Unlock()
}

// ExpireTokens ends every token issued so far: the next API call with one
// is answered 401, as after a token's expiry.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
	s.mu.Unlock()
}

// TokensIssued is how many tokens the token endpoint has issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// checkAssertion checks a certificate credential's client assertion as
// Entra ID does: a JWT signed (PS256, or RS256 as for ADFS) by the key of
// a certificate registered on the application, named by its thumbprint
// (x5t#S256, or x5t), for the token endpoint it was sent to, issued by
// and about the client, within its validity. It returns 0 when it holds,
// else the AADSTS code and description.
func (s *Server) checkAssertion(r *http.Request, clientID string) (int, string) {
	if t := r.PostForm.Get("client_assertion_type"); t != jwtBearer {
		return 700025, fmt.Sprintf("client_assertion_type %q is not supported; send %s.", t, jwtBearer)
	}
	endpoint := baseURL(r.Context()) + r.URL.Path
	var cert *x509.Certificate
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("client_assertion"), claims, func(tok *jwt.Token) (any, error) {
		c := s.registeredCertificate(tok.Header)
		if c == nil {
			return nil, errors.New("no certificate registered on the application has the thumbprint the assertion names (x5t#S256 or x5t)")
		}
		cert = c
		return c.PublicKey, nil
	}, jwt.WithValidMethods([]string{"PS256", "RS256"}), jwt.WithAudience(endpoint), jwt.WithIssuer(clientID),
		jwt.WithSubject(clientID), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Minute))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return 700024, "Client assertion is not within its valid time range: " + err.Error()
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return 700016, fmt.Sprintf("The client assertion's audience must be the token endpoint %s: %v", endpoint, err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenInvalidSubject):
		return 700021, fmt.Sprintf("Client assertion application identifier doesn't match 'client_id' parameter %s: %v", clientID, err)
	case err != nil:
		return 700027, "Client assertion failed signature validation: " + err.Error()
	case time.Now().After(cert.NotAfter) || time.Now().Before(cert.NotBefore):
		return 700027, fmt.Sprintf("Client assertion contains an invalid signature: the certificate %s is valid from %s to %s.", cert.Subject, cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	return 0, ""
}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// registeredCertificate is the certificate of Options.ClientCertificates
// a JWT header names by thumbprint, or nil.
func (s *Server) registeredCertificate(h map[string]any) *x509.Certificate {
	for _, c := range s.opts.ClientCertificates {
		s256, s1 := sha256.Sum256(c.Raw), sha1.Sum(c.Raw)
		if h["x5t#S256"] == base64.StdEncoding.EncodeToString(s256[:]) || h["x5t#S256"] == base64.RawURLEncoding.EncodeToString(s256[:]) ||
			h["x5t"] == base64.StdEncoding.EncodeToString(s1[:]) || h["x5t"] == base64.RawURLEncoding.EncodeToString(s1[:]) {
			return c
		}
	}
	return nil
}

// NewClientCertificate makes a self-signed certificate and RSA key for an
// application to sign in with, as one registers on an Entra ID app: the
// certificate to put in Options.ClientCertificates, and one PEM file of
// both (what azidentity reads) for the client.
func NewClientCertificate(name string) (*x509.Certificate, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	return cert, pemData, nil
}
