package azblob_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/erpipe/erpipe/internal/azuritetest"
)

// The tests run against Azurite (MIT), Microsoft's Azure Storage emulator,
// started by TestMain on free loopback ports: once over http and once over
// https with a self-signed certificate, which also takes Entra ID tokens.

const testContainer = "erpipe-test"

// server is one running Azurite.
type server = azuritetest.Server

var (
	servers    []*server // http first, then https with OAuth
	skipReason string    // why server tests are skipped, when they are
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	// Nothing of the developer's Azure setup may reach the code under
	// test: each test gives it exactly the credentials it means.
	for _, k := range []string{"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
		"AZURE_STORAGE_CONNECTION_STRING", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
		"AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE",
		"AZURE_AUTHORITY_HOST", "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_TOKEN_CREDENTIALS", "IDENTITY_ENDPOINT",
		"MSI_ENDPOINT", "AZURE_CONFIG_DIR"} {
		os.Unsetenv(k)
	}
	tmp, err := os.MkdirTemp("", "erpipe-azblob-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	bin, err := azuritetest.Binary()
	if err != nil {
		if azuritetest.Required() {
			fmt.Fprintf(os.Stderr, "FAIL: %v (required because CI or ERPIPE_REQUIRE_AZURITE is set)\n", err)
			return 1
		}
		skipReason = err.Error()
		return m.Run()
	}
	for _, tlsOn := range []bool{false, true} {
		s, err := azuritetest.Start(azuritetest.Options{Dir: filepath.Join(tmp, fmt.Sprint("server-", len(servers))),
			TLS: tlsOn, OAuth: tlsOn, Containers: []string{testContainer}, Bin: bin})
		if s != nil {
			defer s.Stop()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: starting Azurite:", err)
			return 1
		}
		servers = append(servers, s)
	}
	return m.Run()
}

// needServers skips t when Azurite is not installed (and CI is not set).
func needServers(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
