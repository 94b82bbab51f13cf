package azblob

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// The kinds of credential, for Config.Credential.
const (
	// CredentialSharedKey signs requests with the account's name and one
	// of its two access keys (base64), read from AZURE_STORAGE_KEY.
	CredentialSharedKey = "shared-key"
	// CredentialSAS appends a shared access signature, read from
	// AZURE_STORAGE_SAS_TOKEN, to every request. It needs the read,
	// create and write permissions (sp=rcw) on the container.
	CredentialSAS = "sas"
	// CredentialEntra gets OAuth tokens from Microsoft Entra ID through
	// azidentity's DefaultAzureCredential: a client secret or certificate
	// from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or
	// AZURE_CLIENT_CERTIFICATE_PATH), workload identity, a managed
	// identity, or the Azure CLI's login. The identity needs the role
	// Storage Blob Data Contributor on the container.
	CredentialEntra = "entra"
	// CredentialConnectionString reads a connection string (account,
	// endpoint and key or SAS) from AZURE_STORAGE_CONNECTION_STRING.
	CredentialConnectionString = "connection-string"
)

// The environment variables secrets are read from by default, the names
// the Azure CLI and SDKs use.
const (
	EnvAccount          = "AZURE_STORAGE_ACCOUNT"
	EnvKey              = "AZURE_STORAGE_KEY"
	EnvSAS              = "AZURE_STORAGE_SAS_TOKEN"
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	envClientSecret     = "AZURE_CLIENT_SECRET"
)

var defaultSecretEnv = map[string]string{
	CredentialSharedKey:        EnvKey,
	CredentialSAS:              EnvSAS,
	CredentialConnectionString: EnvConnectionString,
}

// credential is what New made of Config's credential settings.
type credential struct {
	kind     string
	account  string // the account name, also for a connection string
	endpoint string // the blob service URL, no trailing slash
	key      string // shared key (base64), for shared-key
	sas      string // SAS token without '?', for sas
	entra    azcore.TokenCredential
	source   string   // where the secret came from, for hints: "$AZURE_STORAGE_KEY"
	secrets  []string // what must never be shown: key, token, signature...
}

// redact replaces the credential's secrets in s.
func (cr *credential) redact(s string) string { return redact(s, cr.secrets) }

// loadCredential reads the secret that c's Credential needs, from the
// environment or SecretFile, and works out the account and endpoint.
func (c *Config) loadCredential(hc *http.Client) (*credential, error) {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("azblob: %s: %s", field, fmt.Sprintf(format, args...))
	}
	cr := &credential{kind: c.Credential, account: c.Account}
	if cr.account == "" && c.Credential != CredentialConnectionString {
		cr.account = os.Getenv(EnvAccount)
	}
	switch c.Credential {
	case CredentialSharedKey, CredentialSAS, CredentialConnectionString:
		secret, source, err := c.readSecret()
		if err != nil {
			return nil, err
		}
		cr.source = source
		cr.secrets = append(cr.secrets, secret)
		switch c.Credential {
		case CredentialSharedKey:
			cr.key = secret
		case CredentialSAS:
			sas, err := parseSAS(secret, source)
			if err != nil {
				return nil, err
			}
			cr.sas = sas
			cr.secrets = append(cr.secrets, sasSignatures(sas)...)
		case CredentialConnectionString:
			cs, err := parseConnectionString(secret, source)
			if err != nil {
				return nil, err
			}
			if c.Account != "" && c.Account != cs.account {
				return nil, bad("Account", "is %q but the connection string in %s is for account %q; leave account out or make them agree",
					c.Account, source, cs.account)
			}
			if c.Endpoint != "" {
				return nil, bad("Endpoint", "is set, but with credential %s the connection string in %s gives the endpoint; leave endpoint out",
					CredentialConnectionString, source)
			}
			cr.account, cr.endpoint, cr.key, cr.sas = cs.account, cs.endpoint, cs.key, cs.sas
			if cs.key != "" {
				cr.secrets = append(cr.secrets, cs.key)
			}
			if cs.sas != "" {
				cr.secrets = append(cr.secrets, sasSignatures(cs.sas)...)
			}
		}
	case CredentialEntra:
		if c.SecretEnv != "" || c.SecretFile != "" {
			return nil, bad("SecretEnv", "credential %s reads its secrets the Azure SDK's way (AZURE_TENANT_ID, AZURE_CLIENT_ID, "+
				"AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH, workload or managed identity); leave secret_env and secret_file out", CredentialEntra)
		}
		opts := &azidentity.DefaultAzureCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Transport: hc},
			DisableInstanceDiscovery: c.DisableInstanceDiscovery,
		}
		tc, err := azidentity.NewDefaultAzureCredential(opts)
		if err != nil {
			return nil, bad("Credential", "%s: %v", CredentialEntra, err)
		}
		cr.entra = tc
		cr.source = "Microsoft Entra ID (DefaultAzureCredential)"
		if s := os.Getenv(envClientSecret); s != "" {
			cr.secrets = append(cr.secrets, s)
		}
	case "":
		return nil, bad("Credential", "is empty; say how to sign in: %s (AZURE_STORAGE_KEY), %s (AZURE_STORAGE_SAS_TOKEN), "+
			"%s (Microsoft Entra ID) or %s (AZURE_STORAGE_CONNECTION_STRING)",
			CredentialSharedKey, CredentialSAS, CredentialEntra, CredentialConnectionString)
	default:
		return nil, bad("Credential", "%q is not known; use %s, %s, %s or %s", c.Credential,
			CredentialSharedKey, CredentialSAS, CredentialEntra, CredentialConnectionString)
	}
	if cr.account == "" {
		return nil, bad("Account", "is empty; name the storage account (account: in erpipe.yaml, or %s)", EnvAccount)
	}
	if err := checkAccount(cr.account); err != nil {
		return nil, bad("Account", "%v", err)
	}
	if cr.endpoint == "" {
		cr.endpoint = c.Endpoint
	}
	if cr.endpoint == "" {
		cr.endpoint = "https://" + cr.account + ".blob.core.windows.net"
	}
	cr.endpoint = strings.TrimRight(cr.endpoint, "/")
	if cr.kind == CredentialEntra && strings.HasPrefix(cr.endpoint, "http://") {
		return nil, bad("Endpoint", "%s is http; credential %s sends tokens, which Azure (and Azurite) take only over https", cr.endpoint, CredentialEntra)
	}
	return cr, nil
}

// readSecret reads the secret from SecretFile, or else from the
// environment variable SecretEnv (default by Credential). It returns the
// secret and where it came from, for messages.
func (c *Config) readSecret() (string, string, error) {
	if c.SecretFile != "" && c.SecretEnv != "" {
		return "", "", fmt.Errorf("azblob: SecretFile and SecretEnv are both set; keep one")
	}
	if c.SecretFile != "" {
		b, err := os.ReadFile(c.SecretFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", "", fmt.Errorf("azblob: SecretFile %s: %v", c.SecretFile, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", "", fmt.Errorf("azblob: SecretFile %s is empty; write the %s into it", c.SecretFile, secretWhat(c.Credential))
		}
		return s, c.SecretFile, nil
	}
	env := c.SecretEnv
	if env == "" {
		env = defaultSecretEnv[c.Credential]
	}
	s := strings.TrimSpace(os.Getenv(env))
	if s == "" {
		return "", "", fmt.Errorf("azblob: credential %s: the environment variable %s is not set; set it to the %s "+
			"(or name another variable with secret_env, or a file with secret_file); never write it into erpipe.yaml",
			c.Credential, env, secretWhat(c.Credential))
	}
	return s, "$" + env, nil
}

func secretWhat(kind string) string {
	switch kind {
	case CredentialSharedKey:
		return "storage account's access key"
	case CredentialSAS:
		return "SAS token"
	default:
		return "storage account's connection string"
	}
}

// parseSAS returns the query of a SAS token, which may be given with a
// leading '?' or as a whole SAS URL (as the Azure portal shows it).
func parseSAS(s, source string) (string, error) {
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		if _, q, ok := strings.Cut(s, "?"); ok {
			s = q
		}
	}
	s = strings.TrimPrefix(s, "?")
	q, err := url.ParseQuery(s)
	if err != nil || q.Get("sig") == "" {
		return "", fmt.Errorf("azblob: the SAS token in %s has no signature (sig=); give the token as the Azure portal "+
			"or az storage container generate-sas prints it: sp=rcw&se=...&sig=...", source)
	}
	return s, nil
}

// sasSignatures returns the secret parts of a SAS token as they may show
// in text: the token, and its signature raw and escaped.
func sasSignatures(sas string) []string {
	out := []string{sas}
	if q, err := url.ParseQuery(sas); err == nil {
		if sig := q.Get("sig"); sig != "" {
			out = append(out, sig, url.QueryEscape(sig))
		}
	}
	return out
}

// connectionString is what erpipe uses of a storage connection string.
type connectionString struct {
	account, endpoint, key, sas string
}

// parseConnectionString parses "DefaultEndpointsProtocol=https;
// AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net" (or
// with BlobEndpoint= and SharedAccessSignature=). Errors never repeat it.
func parseConnectionString(s, source string) (connectionString, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("azblob: the connection string in %s: %s", source, fmt.Sprintf(format, args...))
	}
	kv := map[string]string{}
	for part := range strings.SplitSeq(strings.TrimRight(s, ";"), ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return connectionString{}, bad("a part has no '='; copy it again from the Azure portal (Access keys)")
		}
		kv[strings.ToLower(k)] = v
	}
	if kv["usedevelopmentstorage"] != "" {
		return connectionString{}, bad("UseDevelopmentStorage is not supported; give AccountName, AccountKey and BlobEndpoint")
	}
	var cs connectionString
	cs.key, cs.sas = kv["accountkey"], strings.TrimPrefix(kv["sharedaccesssignature"], "?")
	cs.account = kv["accountname"]
	if ep := kv["blobendpoint"]; ep != "" {
		if err := checkEndpoint(ep); err != nil {
			return connectionString{}, bad("BlobEndpoint: %v", err)
		}
		cs.endpoint = strings.TrimRight(ep, "/")
		if cs.account == "" {
			cs.account = accountOf(cs.endpoint)
		}
	} else if cs.account != "" {
		proto, suffix := kv["defaultendpointsprotocol"], kv["endpointsuffix"]
		if proto == "" {
			proto = "https"
		}
		if suffix == "" {
			suffix = "core.windows.net"
		}
		cs.endpoint = proto + "://" + cs.account + ".blob." + suffix
	}
	switch {
	case cs.account == "":
		return connectionString{}, bad("it has no AccountName (nor a BlobEndpoint that names the account)")
	case cs.endpoint == "":
		return connectionString{}, bad("it has no AccountName or BlobEndpoint")
	case cs.key == "" && cs.sas == "":
		return connectionString{}, bad("it has neither AccountKey nor SharedAccessSignature")
	case cs.key != "" && kv["accountname"] == "":
		return connectionString{}, bad("it has an AccountKey but no AccountName")
	}
	if cs.sas != "" && cs.key == "" {
		if _, err := parseSAS(cs.sas, source); err != nil {
			return connectionString{}, err
		}
	}
	return cs, nil
}

// accountOf returns the account an endpoint names: the first label of
// "https://account.blob.core.windows.net", or the first path segment of
// "http://127.0.0.1:10000/account" (Azurite).
func accountOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		first, _, _ := strings.Cut(p, "/")
		return first
	}
	first, _, _ := strings.Cut(u.Hostname(), ".")
	return first
}

// checkAccount checks a storage account name: 3 to 24 lowercase letters
// and digits.
func checkAccount(a string) error {
	if len(a) < 3 || len(a) > 24 {
		return fmt.Errorf("%q is not a storage account name (3 to 24 lowercase letters and digits)", a)
	}
	for _, r := range a {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return fmt.Errorf("%q is not a storage account name (3 to 24 lowercase letters and digits)", a)
		}
	}
	return nil
}

// checkContainer checks a container name: 3 to 63 lowercase letters,
// digits and single hyphens, starting and ending with a letter or digit.
func checkContainer(c string) error {
	ok := len(c) >= 3 && len(c) <= 63 && c[0] != '-' && c[len(c)-1] != '-' && !strings.Contains(c, "--")
	for _, r := range c {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%q is not a container name (3 to 63 lowercase letters, digits and single hyphens, "+
			"starting and ending with a letter or digit)", c)
	}
	return nil
}

// checkEndpoint checks an endpoint: an http or https URL with a host and
// nothing that could carry credentials.
func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a URL: %v", err)
	}
	switch {
	case u.User != nil:
		return errors.New("the endpoint carries credentials (user:password@); remove them")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: use an http:// or https:// URL", u.Redacted())
	case u.Host == "":
		return fmt.Errorf("%q has no host", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: an endpoint has no query or fragment; a SAS token goes into %s, not into the endpoint",
			u.Scheme+"://"+u.Host+u.EscapedPath(), EnvSAS)
	}
	return nil
}

// containerClient makes the SDK's client for the container.
func (cr *credential) containerClient(containerName string, opts *container.ClientOptions) (*container.Client, error) {
	u := cr.endpoint + "/" + url.PathEscape(containerName)
	switch {
	case cr.entra != nil:
		return container.NewClient(u, cr.entra, opts)
	case cr.key != "":
		key, err := container.NewSharedKeyCredential(cr.account, cr.key)
		if err != nil {
			return nil, fmt.Errorf("azblob: the access key in %s is not base64 (copy key1 or key2 from the account's Access keys)", cr.source)
		}
		return container.NewClientWithSharedKeyCredential(u, key, opts)
	default:
		return container.NewClientWithNoCredential(u+"?"+cr.sas, opts)
	}
}

// clientOptions are the SDK options: erpipe's HTTP client and retries.
func clientOptions(hc *http.Client, maxAttempts int) *container.ClientOptions {
	retries := int32(maxAttempts - 1)
	if retries == 0 {
		retries = -1 // azcore takes 0 for its default of 3
	}
	return &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc,
		Retry: policy.RetryOptions{
			MaxRetries:    retries,
			RetryDelay:    retryDelay,
			MaxRetryDelay: maxRetryAfter,
		},
		Telemetry: policy.TelemetryOptions{ApplicationID: "erpipe"},
	}}
}
