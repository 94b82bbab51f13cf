package azblob_test

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/azblob"
	"github.com/erpipe/erpipe/outbox/outboxtest"
)

// TestConformance runs the outbox conformance suite against Azurite with
// each kind of credential that Azurite checks: a shared key over http
// (with both policies that keep what is stored), a SAS token over http,
// and a connection string over https. Entra ID is in TestEntra.
func TestConformance(t *testing.T) {
	needServers(t)
	for _, tc := range []struct {
		name string
		srv  *server
		cfg  func(t *testing.T, cfg *azblob.Config)
	}{
		{"shared-key", servers[0], func(*testing.T, *azblob.Config) {}},
		{"shared-key-rename", servers[0], func(t *testing.T, cfg *azblob.Config) { cfg.Overwrite = azblob.OverwriteRename }},
		{"sas", servers[0], func(t *testing.T, cfg *azblob.Config) {
			cfg.Credential = azblob.CredentialSAS
			t.Setenv(azblob.EnvSAS, sasToken(t, sas.ContainerPermissions{Read: true, Create: true, Write: true, List: true}, false))
		}},
		{"connection-string", servers[1], func(t *testing.T, cfg *azblob.Config) {
			cfg.Credential, cfg.Account, cfg.Endpoint = azblob.CredentialConnectionString, "", ""
			t.Setenv(azblob.EnvConnectionString, servers[1].ConnectionString())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outboxtest.Run(t, func(t *testing.T) outbox.Destination {
				cfg := config(t, tc.srv)
				tc.cfg(t, &cfg)
				return newDest(t, cfg)
			}, outboxtest.Options{
				Get: func(t *testing.T, d outbox.Destination, loc string) ([]byte, error) {
					o, _ := get(t, tc.srv, loc)
					return o.data, nil
				},
				List: func(t *testing.T, d outbox.Destination) []string { return listNames(t, tc.srv, d.(*azblob.Blob)) },
			})
		})
	}
}
