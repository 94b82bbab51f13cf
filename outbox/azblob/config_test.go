package azblob_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/outbox/azblob"
)

// TestNewRefuses: New refuses a configuration it cannot work with, with a
// message that names the setting and says what to do, and never repeats a
// secret. It makes no request, so no server is needed.
func TestNewRefuses(t *testing.T) {
	const key = "c2VjcmV0LWtleS1vZi10aGUtdGVzdC1hY2NvdW50LTAxMjM0NTY3ODk="
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := azblob.Config{Account: "erpacct", Container: "results", Credential: azblob.CredentialSharedKey}
	for _, tc := range []struct {
		name string
		env  map[string]string
		cfg  func(c *azblob.Config)
		want []string // in the message
	}{
		{"no container", nil, func(c *azblob.Config) { c.Container = "" }, []string{"Container", "is empty"}},
		{"bad container", nil, func(c *azblob.Config) { c.Container = "Results_2024" }, []string{"not a container name"}},
		{"bad account", nil, func(c *azblob.Config) { c.Account = "ERP-Account" }, []string{"Account", "not a storage account name"}},
		{"no account", nil, func(c *azblob.Config) { c.Account = "" }, []string{"Account", "AZURE_STORAGE_ACCOUNT"}},
		{"no credential", nil, func(c *azblob.Config) { c.Credential = "" },
			[]string{"Credential", "shared-key", "sas", "entra", "connection-string"}},
		{"unknown credential", nil, func(c *azblob.Config) { c.Credential = "password" }, []string{`"password" is not known`}},
		{"key not set", map[string]string{azblob.EnvKey: ""}, nil,
			[]string{"AZURE_STORAGE_KEY is not set", "access key", "never write it into erpipe.yaml"}},
		{"own variable not set", nil, func(c *azblob.Config) { c.SecretEnv = "ERP_AZURE_KEY" }, []string{"ERP_AZURE_KEY is not set"}},
		{"key not base64", map[string]string{azblob.EnvKey: "not base64!"}, nil, []string{"$AZURE_STORAGE_KEY is not base64"}},
		{"secret file missing", nil, func(c *azblob.Config) { c.SecretFile = filepath.Join(dir, "absent") },
			[]string{"SecretFile", "no such file"}},
		{"secret file empty", nil, func(c *azblob.Config) { c.SecretFile = empty }, []string{"is empty", "access key"}},
		{"file and variable", nil, func(c *azblob.Config) { c.SecretFile, c.SecretEnv = empty, "X" }, []string{"both set"}},
		{"sas without signature", map[string]string{azblob.EnvSAS: "sp=rcw&se=2030-01-01"},
			func(c *azblob.Config) { c.Credential = azblob.CredentialSAS }, []string{"no signature (sig=)"}},
		{"sas in the endpoint", nil, func(c *azblob.Config) { c.Endpoint = "https://erpacct.blob.core.windows.net?sv=1&sig=abc" },
			[]string{"Endpoint", "no query", "AZURE_STORAGE_SAS_TOKEN"}},
		{"endpoint not a URL", nil, func(c *azblob.Config) { c.Endpoint = "erpacct.blob.core.windows.net" }, []string{"http:// or https://"}},
		{"entra over http", nil, func(c *azblob.Config) {
			c.Credential, c.Endpoint = azblob.CredentialEntra, "http://127.0.0.1:10000/erpacct"
		}, []string{"https"}},
		{"entra with a secret variable", nil, func(c *azblob.Config) { c.Credential, c.SecretEnv = azblob.CredentialEntra, "X" },
			[]string{"AZURE_CLIENT_SECRET", "leave secret_env and secret_file out"}},
		{"connection string with an endpoint", map[string]string{azblob.EnvConnectionString: "AccountName=erpacct;AccountKey=" + key},
			func(c *azblob.Config) {
				c.Credential, c.Endpoint = azblob.CredentialConnectionString, "https://x.example"
			},
			[]string{"leave endpoint out"}},
		{"connection string for another account", map[string]string{azblob.EnvConnectionString: "AccountName=other;AccountKey=" + key},
			func(c *azblob.Config) { c.Credential = azblob.CredentialConnectionString }, []string{`account "other"`}},
		{"connection string without key", map[string]string{azblob.EnvConnectionString: "AccountName=erpacct;EndpointSuffix=core.windows.net"},
			func(c *azblob.Config) { c.Credential = azblob.CredentialConnectionString }, []string{"neither AccountKey nor SharedAccessSignature"}},
		{"connection string garbled", map[string]string{azblob.EnvConnectionString: "AccountName=erpacct;" + key[:20]},
			func(c *azblob.Config) { c.Credential = azblob.CredentialConnectionString }, []string{"has no '='"}},
		{"prefix with //", nil, func(c *azblob.Config) { c.Prefix = "a//b" }, []string{"Prefix", "//"}},
		{"prefix with a dot folder", nil, func(c *azblob.Config) { c.Prefix = "out/../x" }, []string{"Prefix", `".."`}},
		{"overwrite", nil, func(c *azblob.Config) { c.Overwrite = "keep" }, []string{"Overwrite", "fail, rename or replace"}},
		{"tier", nil, func(c *azblob.Config) { c.AccessTier = "hot" }, []string{"AccessTier", "Hot, Cool, Cold or Archive"}},
		{"block size", nil, func(c *azblob.Config) { c.BlockSize = 1000 }, []string{"BlockSize"}},
		{"template without name", nil, func(c *azblob.Config) { c.KeyTemplate = "{prefix}{job}" }, []string{"has no {name}"}},
		{"template placeholder", nil, func(c *azblob.Config) { c.KeyTemplate = "{prefix}{nme}" }, []string{"unknown placeholder {nme}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(azblob.EnvAccount, "")
			t.Setenv(azblob.EnvKey, key)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg := ok
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			d, err := azblob.New(t.Context(), cfg)
			if err == nil {
				t.Fatalf("New(%+v) = %v, want an error", cfg, d)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, secret := range []string{key, key[:20]} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows the secret: %v", err)
				}
			}
		})
	}
}

// TestNewAccepts: the account comes from AZURE_STORAGE_ACCOUNT or the
// connection string, the SAS token may be a whole SAS URL, and String
// names account, container and prefix, never the secret.
func TestNewAccepts(t *testing.T) {
	const key = "c2VjcmV0LWtleS1vZi10aGUtdGVzdC1hY2NvdW50LTAxMjM0NTY3ODk="
	const sas = "sp=rcw&st=2025-01-01T00:00:00Z&se=2035-01-01T00:00:00Z&spr=https&sv=2022-11-02&sr=c&sig=c2lnbmF0dXJlLW9mLXRoZS10ZXN0%3D"
	for _, tc := range []struct {
		name string
		env  map[string]string
		cfg  azblob.Config
		want string
	}{
		{"account from the environment", map[string]string{azblob.EnvAccount: "envacct", azblob.EnvKey: key},
			azblob.Config{Container: "results", Prefix: "/d365/customers/", Credential: azblob.CredentialSharedKey},
			"azblob://envacct/results/d365/customers"},
		{"sas url", map[string]string{azblob.EnvSAS: "https://erpacct.blob.core.windows.net/results?" + sas},
			azblob.Config{Account: "erpacct", Container: "results", Credential: azblob.CredentialSAS}, "azblob://erpacct/results"},
		{"sas with ?", map[string]string{azblob.EnvSAS: "?" + sas},
			azblob.Config{Account: "erpacct", Container: "results", Credential: azblob.CredentialSAS}, "azblob://erpacct/results"},
		{"connection string", map[string]string{azblob.EnvConnectionString: "DefaultEndpointsProtocol=https;AccountName=csacct;AccountKey=" + key + ";EndpointSuffix=core.windows.net"},
			azblob.Config{Container: "results", Credential: azblob.CredentialConnectionString}, "azblob://csacct/results"},
		{"connection string with a SAS", map[string]string{azblob.EnvConnectionString: "BlobEndpoint=http://127.0.0.1:10000/devacct;SharedAccessSignature=" + sas},
			azblob.Config{Container: "results", Credential: azblob.CredentialConnectionString}, "azblob://devacct/results"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{azblob.EnvAccount, azblob.EnvKey, azblob.EnvSAS, azblob.EnvConnectionString} {
				t.Setenv(k, tc.env[k])
			}
			d, err := azblob.New(t.Context(), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if d.String() != tc.want {
				t.Errorf("String() = %q, want %q", d.String(), tc.want)
			}
		})
	}
}
