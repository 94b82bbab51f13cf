package emulator_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/internal/azuritetest"
)

// TestAzureBlobs: with its blobs in Azurite, the emulator hands out URLs
// of Azure Storage itself: a package is uploaded to Azurite with the SAS
// of GetAzureWriteUrl, imported from there, its staging error file and an
// export downloaded from Azurite; an expired SAS is refused by Azurite,
// and the client says so (ErrSASExpired).
func TestAzureBlobs(t *testing.T) {
	srv := azuritetest.New(t, azuritetest.Options{Containers: []string{"dmf"}})
	hc, err := srv.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	store, err := emulator.NewAzureBlobs(srv.Endpoint, azuritetest.Account, azuritetest.Key, "dmf", hc)
	if err != nil {
		t.Fatal(err)
	}
	export := customers(t, []string{"US-9", "Exported", "10"})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	s := emulator.New(emulator.Options{CAFile: ca, Blobs: store, QueueTime: 20 * time.Millisecond, ExecuteTime: 50 * time.Millisecond,
		SASLifetime: 2 * time.Second, ExportPackages: map[string][]byte{"Customer export": export}})
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := d365.New(d365.Config{Environment: s.URL(), AuthorityHost: s.URL(), Tenant: s.Tenant(), ClientID: s.ClientID(),
		Secret: s.ClientSecret(), CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pkg := customers(t, []string{"US-1", "Contoso", "10"}, []string{"FAIL-2", "Bad", "10"})
	open := func() (io.Reader, error) { return bytes.NewReader(pkg), nil }

	u, err := c.WriteURL(ctx, "erpipe-azurite-1")
	if err != nil || !strings.HasPrefix(u, srv.Endpoint+"/dmf/") {
		t.Fatalf("GetAzureWriteUrl: %q, %v; want a URL of Azurite's container", u, err)
	}
	if err := c.Upload(ctx, u, open, int64(len(pkg))); err != nil {
		t.Fatal(err)
	}
	id, err := c.ImportFromPackage(ctx, d365.Import{PackageURL: u, DefinitionGroup: "erpipe-customers", ExecutionID: "erpipe-azurite-1", Execute: true, LegalEntity: "USMF"})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitFinal(t, c, id); st != d365.StatusPartiallySucceeded {
		t.Fatalf("import: %s", st)
	}
	eu, err := c.StagingErrorFileURL(ctx, id, "Customers V3")
	if err != nil || !strings.HasPrefix(eu, srv.Endpoint+"/dmf/") {
		t.Fatalf("staging error file URL %q, %v", eu, err)
	}
	var errFile bytes.Buffer
	if err := c.Download(ctx, eu, &errFile, 1<<20); err != nil || !strings.Contains(errFile.String(), "FAIL-2") {
		t.Errorf("staging error file from Azurite: %q, %v", errFile.String(), err)
	}
	box, err := srv.Container("dmf")
	if err != nil {
		t.Fatal(err)
	}
	blobs := 0
	for pager := box.NewListBlobsFlatPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		blobs += len(page.Segment.BlobItems)
	}
	if blobs < 2 {
		t.Errorf("Azurite holds %d blobs; want the package and the error file", blobs)
	}

	// An export, downloaded from Azurite.
	eid, err := c.ExportToPackage(ctx, d365.Export{DefinitionGroup: "Customer export", ExecutionID: "erpipe-azurite-export", LegalEntity: "USMF"})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitFinal(t, c, eid); st != d365.StatusSucceeded {
		t.Fatalf("export: %s", st)
	}
	pu, err := c.ExportedPackageURL(ctx, eid)
	var got bytes.Buffer
	if err != nil || c.Download(ctx, pu, &got, 1<<20) != nil || !bytes.Equal(got.Bytes(), export) {
		t.Errorf("the exported package from Azurite (%q, %v): %d bytes", pu, err, got.Len())
	}

	// A SAS that has expired.
	u, err = c.WriteURL(ctx, "erpipe-azurite-late")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := c.Upload(ctx, u, open, int64(len(pkg))); !errors.Is(err, d365.ErrSASExpired) {
		t.Errorf("an upload with an expired SAS: %v, want ErrSASExpired", err)
	}
}

func waitFinal(t *testing.T, c *d365.Client, id string) d365.ExecutionStatus {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		st, err := c.Status(context.Background(), id)
		if err == nil && st.Final() {
			return st
		}
	}
	t.Fatalf("execution %s did not end", id)
	return ""
}
