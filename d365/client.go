// Package d365 speaks to Dynamics 365 Finance & Operations the way
// integrations do: the data management package API (OData actions on
// DataManagementDefinitionGroups: GetAzureWriteUrl, ImportFromPackage,
// GetExecutionSummaryStatus and the error files) and the recurring
// integrations API (enqueue, dequeue, ack, job status). It authenticates
// as an Entra ID application (client credentials, through azidentity) and
// copes with D365's throttling: a 429 is waited out for as long as its
// Retry-After says and does not count as a failed attempt; 408 and 5xx are
// retried with capped exponential back-off and jitter.
//
// The shapes of requests and answers are those Microsoft documents and
// real clients (RIS, d365fo.integrations) use; docs/d365.md says which.
// Package d365/emulator serves the same endpoints for tests and trials.
package d365

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Config says which environment to reach and as whom.
type Config struct {
	// Environment is the environment's URL, e.g.
	// https://contoso.operations.dynamics.com (the token's audience too).
	Environment string
	// Tenant and ClientID name the Entra ID application registered in
	// D365 (System administration > Setup > Microsoft Entra ID applications).
	Tenant, ClientID string
	// Secret is the application's client secret. It comes from the
	// environment or a file, never from erpipe.yaml.
	Secret string
	// Certificate, when set instead of Secret, is a certificate
	// credential: the certificate registered on the application and its
	// private key, PEM or PKCS#12 (.pfx) data; CertificatePassword
	// unlocks an encrypted one.
	Certificate         []byte
	CertificatePassword string
	// AuthorityHost is Entra ID's login host (default
	// https://login.microsoftonline.com/); the emulator's URL in trials.
	AuthorityHost string
	// CAFile, when set, is a PEM file of certificates to trust besides the
	// system's (the emulator's own).
	CAFile string
	// Credential, when set, is used instead of a client secret (a
	// certificate, a managed identity: any azcore.TokenCredential).
	Credential azcore.TokenCredential
	// Retries is how many times a call that got 408 or 5xx, or no answer,
	// is tried again before it fails as unavailable (default 5). 429s do
	// not count.
	Retries int
	// MaxBackoff caps the wait between such tries (default 60s).
	MaxBackoff time.Duration
	// Log receives a line for every wait (throttling, back-off).
	Log *slog.Logger
}

// Client calls one D365 environment. It is safe for concurrent use.
type Client struct {
	env   string
	hc    *http.Client
	cred  azcore.TokenCredential
	scope string
	log   *slog.Logger
	tries int
	maxBk time.Duration
	sleep func(ctx context.Context, d time.Duration) error // tests may replace it
}

// New makes a client for cfg.
func New(cfg Config) (*Client, error) {
	env := strings.TrimRight(cfg.Environment, "/")
	u, err := url.Parse(env)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("d365: environment %q is not an https URL like https://contoso.operations.dynamics.com", cfg.Environment)
	}
	hc := &http.Client{Timeout: 5 * time.Minute}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("d365: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("d365: ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		hc.Transport = tr
	}
	cred := cfg.Credential
	if cred == nil {
		if cred, err = credential(cfg, hc); err != nil {
			return nil, err
		}
	}
	c := &Client{env: env, hc: hc, cred: cred, scope: env + "/.default", log: cfg.Log,
		tries: cfg.Retries, maxBk: cfg.MaxBackoff, sleep: sleepCtx}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.tries <= 0 {
		c.tries = 5
	}
	if c.maxBk <= 0 {
		c.maxBk = time.Minute
	}
	return c, nil
}

// credential is cfg's Entra ID client credential: a certificate when one
// is given, else the client secret.
func credential(cfg Config, hc *http.Client) (azcore.TokenCredential, error) {
	if cfg.Tenant == "" || cfg.ClientID == "" || cfg.Secret == "" && cfg.Certificate == nil {
		return nil, errors.New("d365: give the tenant, the client id and the client secret (from the environment) or certificate of the Entra ID application")
	}
	var opts azcore.ClientOptions
	opts.Transport = hc
	if cfg.AuthorityHost != "" {
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimRight(cfg.AuthorityHost, "/") + "/"}
	}
	if cfg.Certificate == nil {
		cred, err := azidentity.NewClientSecretCredential(cfg.Tenant, cfg.ClientID, cfg.Secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: cfg.AuthorityHost != ""})
		if err != nil {
			return nil, fmt.Errorf("d365: %w", err)
		}
		return cred, nil
	}
	var pw []byte
	if cfg.CertificatePassword != "" {
		pw = []byte(cfg.CertificatePassword)
	}
	certs, key, err := azidentity.ParseCertificates(cfg.Certificate, pw)
	if err != nil {
		return nil, fmt.Errorf("d365: the certificate: %w (give a PEM file of the certificate and its private key, or a .pfx with its password)", err)
	}
	cred, err := azidentity.NewClientCertificateCredential(cfg.Tenant, cfg.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: cfg.AuthorityHost != ""})
	if err != nil {
		return nil, fmt.Errorf("d365: %w", err)
	}
	return cred, nil
}

// Environment is the environment's URL.
func (c *Client) Environment() string { return c.env }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Error is an answer of D365 that is not a success.
type Error struct {
	Op     string // what was asked, e.g. "ImportFromPackage"
	Status int    // the HTTP status, 0 when there was no answer
	Body   string // the answer's text (its message, when it is OData's error shape)
	Err    error  // the transport's error, when there was no answer
}

func (e *Error) Error() string {
	switch {
	case e.Status == 0:
		return fmt.Sprintf("d365 %s: no answer: %v", e.Op, e.Err)
	case e.Body == "":
		return fmt.Sprintf("d365 %s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("d365 %s: %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), e.Body)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: no answer,
// throttling, a timeout or a server error (outbox.IsTransient).
func (e *Error) Temporary() bool {
	return e.Status == 0 || retryable(e.Status) || e.Status == http.StatusTooManyRequests
}

func retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout, 599:
		return true
	}
	return false
}

// request is one call: its body is made anew for every try.
type request struct {
	op, method, url string
	body            func() (io.Reader, error) // nil: none
	header          http.Header
	size            int64 // the body's length, when body has no Len
	auth            bool  // send the bearer token (not to a SAS URL)
}

// do sends r until it gets an answer that is not throttling or a
// retryable failure, and returns it (the caller closes its body). A 429
// waits its Retry-After (30 s when it says none) without counting as a
// try; 408 and 5xx, and no answer, are tried c.tries more times with
// exponential back-off (or their Retry-After); then they fail as *Error,
// which is Temporary.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	backoff := time.Second
	fresh := false // a new token, not the cached one (after a 401)
	for try := 0; ; {
		resp, err := c.send(ctx, r, fresh)
		var wait time.Duration
		switch {
		case err == nil && resp.StatusCode == http.StatusUnauthorized && r.auth && !fresh:
			// The cached token was revoked or ended early: ask Entra ID
			// for a new one, once.
			drain(resp)
			fresh = true
			c.log.Info("d365: token refused; asking for a new one", "op", r.op)
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			try++
			if try > c.tries {
				return nil, &Error{Op: r.op, Err: err}
			}
			wait, backoff = jitter(backoff), min(2*backoff, c.maxBk)
			c.log.Warn("d365: no answer; trying again", "op", r.op, "in", wait, "err", err)
		case resp.StatusCode == http.StatusTooManyRequests:
			wait = retryAfter(resp.Header.Get("Retry-After"), time.Now(), 30*time.Second)
			drain(resp)
			c.log.Warn("d365: throttled; waiting as Retry-After says", "op", r.op, "retry_after", wait)
		case retryable(resp.StatusCode):
			try++
			if try > c.tries {
				return nil, answerError(r.op, resp)
			}
			wait = retryAfter(resp.Header.Get("Retry-After"), time.Now(), 0)
			if wait == 0 {
				wait = jitter(backoff)
			}
			backoff = min(2*backoff, c.maxBk)
			c.log.Warn("d365: server error; trying again", "op", r.op, "status", resp.StatusCode, "in", wait)
			drain(resp)
		default:
			return resp, nil
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// freshClaims makes azidentity ask Entra ID for a new token rather than
// hand out its cached one (as for a continuous access evaluation
// challenge).
const freshClaims = `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`

// send makes one try of r; fresh asks for a new token.
func (c *Client) send(ctx context.Context, r request, fresh bool) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		b, err := r.body()
		if err != nil {
			return nil, err
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if sized, ok := body.(interface{ Len() int }); ok {
		req.ContentLength = int64(sized.Len())
	} else if r.size > 0 {
		req.ContentLength = r.size // blob storage refuses chunked uploads
	}
	if r.auth {
		opts := policy.TokenRequestOptions{Scopes: []string{c.scope}}
		if fresh {
			opts.Claims = freshClaims
		}
		tok, err := c.cred.GetToken(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("get a token from Entra ID: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
	}
	return c.hc.Do(req)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date; def
// when it has none or can't be read.
func retryAfter(h string, now time.Time, def time.Duration) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return def
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return def
}

// jitter adds up to 250 ms to d, so that clients throttled together do not
// come back together.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(250*time.Millisecond)))
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// answerError is the *Error of an answer that is not a success, with its
// message read from OData's error shape when it has one.
func answerError(op string, resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(b))
	var odata struct {
		Error struct {
			Message    string `json:"message"`
			InnerError struct {
				Message string `json:"message"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &odata) == nil && odata.Error.Message != "" {
		msg = odata.Error.Message
		if in := odata.Error.InnerError.Message; in != "" && in != msg {
			msg += ": " + in
		}
	}
	return &Error{Op: op, Status: resp.StatusCode, Body: msg}
}

// action calls a data management OData action with body and decodes the
// answer's value into out (nil: not read).
func (c *Client) action(ctx context.Context, name string, body any, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, request{op: name, method: http.MethodPost, auth: true,
		url:    c.env + "/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities." + name,
		body:   func() (io.Reader, error) { return bytes.NewReader(data), nil },
		header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}})
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return answerError(name, resp)
	}
	defer resp.Body.Close()
	var answer struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&answer); err != nil {
		return &Error{Op: name, Status: resp.StatusCode, Body: "the answer is not OData JSON: " + err.Error()}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer.Value, out); err != nil {
		return &Error{Op: name, Status: resp.StatusCode, Body: fmt.Sprintf("unexpected value %.200s: %v", answer.Value, err)}
	}
	return nil
}
