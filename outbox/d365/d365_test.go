package d365_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/outbox"
	outd365 "github.com/erpipe/erpipe/outbox/d365"
	"github.com/erpipe/erpipe/transform"
)

// startEmulator runs a D365 emulator for the test and returns it with a
// client of it.
func startEmulator(t *testing.T, opts emulator.Options) (*emulator.Server, *d365.Client) {
	t.Helper()
	if opts.QueueTime == 0 {
		opts.QueueTime = 50 * time.Millisecond
	}
	if opts.ExecuteTime == 0 {
		opts.ExecuteTime = 200 * time.Millisecond
	}
	opts.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	s := emulator.New(opts)
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := d365.New(d365.Config{Environment: s.URL(), AuthorityHost: s.URL(), Tenant: s.Tenant(),
		ClientID: s.ClientID(), Secret: s.ClientSecret(), CAFile: opts.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// customersPackage makes a Customers V3 package with customers-v3 from the
// sample, its first account replaced by first (FAIL... makes the emulator
// refuse that row at staging).
// customersPackage is customers-v3's package of its sample, the sample's
// first accounts (US-001, US-002...) replaced by accounts, in order.
func customersPackage(t *testing.T, accounts ...string) []byte {
	t.Helper()
	tmpl, err := transform.Load("../../templates/customers-v3/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../templates/customers-v3/samples/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range accounts {
		if a != "" {
			data = bytes.Replace(data, fmt.Appendf(nil, "\nUS-%03d,", i+1), []byte("\n"+a+","), 1)
		}
	}
	in := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := tmpl.RunWith(context.Background(), in, t.TempDir(), transform.RunOptions{Time: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)})
	if err != nil || len(res.Outputs) != 1 {
		t.Fatalf("making the package: %v %v", err, res)
	}
	pkg, err := os.ReadFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

func newDest(t *testing.T, c *d365.Client, errDir string) *outd365.Destination {
	t.Helper()
	d, err := outd365.New(outd365.Options{Client: c, DefinitionGroup: "erpipe-customers", LegalEntity: "USMF",
		StateDir: filepath.Join(t.TempDir(), "state"), ErrorDir: errDir, Poll: 50 * time.Millisecond, Wait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func put(d *outd365.Destination, job string, pkg []byte) (string, error) {
	sum := sha256.Sum256(pkg)
	return d.PutMeta(context.Background(), "customers.zip", bytes.NewReader(pkg), int64(len(pkg)),
		map[string]string{outbox.MetaJob: job, outbox.MetaSHA256: hex.EncodeToString(sum[:])})
}

// TestImportOnce: a package is uploaded and imported, the execution is
// awaited, and a second put of the same job's package (a retry, a resume
// after a crash) imports nothing again.
func TestImportOnce(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{})
	d := newDest(t, c, "")
	pkg := customersPackage(t)
	loc, err := put(d, "20261207-080000-aaaaaa", pkg)
	if err != nil {
		t.Fatal(err)
	}
	loc2, err := put(d, "20261207-080000-aaaaaa", pkg)
	if err != nil || loc2 != loc {
		t.Fatalf("the same put again: %q, %v; want %q", loc2, err, loc)
	}
	imports := s.Imports()
	if len(imports) != 1 {
		t.Fatalf("%d imports, want 1", len(imports))
	}
	im := imports[0]
	if im.Status != "Succeeded" || im.DefinitionGroup != "erpipe-customers" || im.LegalEntity != "USMF" || !bytes.Equal(im.Package, pkg) {
		t.Errorf("import %s: %s into %s/%s, package equal: %v", im.ExecutionID, im.Status, im.DefinitionGroup, im.LegalEntity, bytes.Equal(im.Package, pkg))
	}
	if !strings.HasSuffix(loc, "/executions/"+im.ExecutionID) {
		t.Errorf("location %s does not name execution %s", loc, im.ExecutionID)
	}
}

// TestPartlySucceeded: rows D365 refuses make the put a PartialError
// naming the execution, the entity's staging and target counts, the
// staging error file (rows refused at staging) and the target error keys
// file (rows that reached staging but not the target), both fetched into
// the error folder.
func TestPartlySucceeded(t *testing.T) {
	_, c := startEmulator(t, emulator.Options{KeysFileTime: 300 * time.Millisecond})
	errDir := t.TempDir()
	d := newDest(t, c, errDir)
	_, err := put(d, "20261207-080000-bbbbbb", customersPackage(t, "FAIL-001", "TARGETFAIL-002"))
	var partial *outbox.PartialError
	if !errors.As(err, &partial) {
		t.Fatalf("put: %v, want a PartialError", err)
	}
	text := strings.Join(partial.Problems, "\n")
	for _, want := range []string{"PartiallySucceeded", "Customers V3: staging 10 records, 1 with errors", "target 8 records, 1 with errors",
		"staging-errors.csv", "target-error-keys.csv"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems do not say %q:\n%s", want, text)
		}
	}
	for pattern, row := range map[string]string{"customers.*.staging-errors.csv": "FAIL-001", "customers.*.target-error-keys.csv": "TARGETFAIL-002"} {
		files, _ := filepath.Glob(filepath.Join(errDir, pattern))
		if len(files) != 1 {
			t.Errorf("%s: %v", pattern, files)
			continue
		}
		b, _ := os.ReadFile(files[0])
		if !strings.Contains(string(b), row) {
			t.Errorf("%s does not hold %s:\n%s", files[0], row, b)
		}
	}
}

// TestFailedImport: a package D365 cannot read fails the put, permanently,
// with D365's message.
func TestFailedImport(t *testing.T) {
	_, c := startEmulator(t, emulator.Options{})
	d := newDest(t, c, "")
	// A zip without PackageHeader.xml, as people make by hand.
	pkg := customersPackage(t)
	bad := withoutEntry(t, pkg, "PackageHeader.xml")
	_, err := put(d, "20261207-080000-cccccc", bad)
	if err == nil || outbox.IsTransient(err) || !strings.Contains(err.Error(), "PackageHeader.xml") {
		t.Fatalf("put of a package without its header: %v", err)
	}
}

// TestThrottlingStorm: every 429 is waited out as its Retry-After says (in
// seconds and as a date), none counts as a failure, and no request is
// sent before its time.
func TestThrottlingStorm(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{})
	d := newDest(t, c, "")
	s.Throttle(3, time.Second)
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 429, Count: 2, RetryAfter: time.Second, RetryAfterDate: true})
	if _, err := put(d, "20261207-080000-dddddd", customersPackage(t)); err != nil {
		t.Fatal(err)
	}
	if early := s.EarlyRequests(); len(early) != 0 {
		t.Errorf("requests sent before their Retry-After: %+v", early)
	}
	throttled := 0
	for _, r := range s.Requests() {
		if r.Status == 429 {
			throttled++
		}
	}
	if throttled != 5 || len(s.Imports()) != 1 {
		t.Errorf("%d throttled answers, %d imports; want 5 and 1", throttled, len(s.Imports()))
	}
}

// TestTokenEndsMidRun: a token D365 stops taking is replaced by a new one.
func TestTokenEndsMidRun(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{})
	d := newDest(t, c, "")
	if _, err := put(d, "20261207-080000-eeeeee", customersPackage(t)); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	if _, err := put(d, "20261207-080000-ffffff", customersPackage(t)); err != nil {
		t.Fatalf("after the tokens ended: %v", err)
	}
	if n := len(s.Imports()); n != 2 {
		t.Errorf("%d imports, want 2", n)
	}
}

// TestStillImporting: an import that outlasts the put's wait leaves the
// job waiting for D365 (a transient error), and the next put finds it,
// never importing again.
func TestStillImporting(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{ExecuteTime: 3 * time.Second, NotFoundFor: 500 * time.Millisecond})
	d, err := outd365.New(outd365.Options{Client: c, DefinitionGroup: "erpipe-customers", StateDir: t.TempDir(),
		Poll: 100 * time.Millisecond, Wait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pkg := customersPackage(t)
	_, err = put(d, "20261207-080000-gggggg", pkg)
	if !outbox.IsTransient(err) || !strings.Contains(err.Error(), "D365 is importing") {
		t.Fatalf("first put: %v, want a transient 'D365 is importing'", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err = put(d, "20261207-080000-gggggg", pkg)
		if err == nil || !outbox.IsTransient(err) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Imports()); n != 1 {
		t.Errorf("%d imports, want 1", n)
	}
}

// withoutEntry is the zip pkg without its entry name.
func withoutEntry(t *testing.T, pkg []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range zr.File {
		if f.Name == name {
			continue
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestProjectBusy: while another system's import runs in the data project
// (D365 answers DMF2025), the put waits for it (a transient error), asks
// again nothing was recorded for, and imports once the project is free.
func TestProjectBusy(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{ExecuteTime: 1500 * time.Millisecond})
	ctx := context.Background()
	pkg := customersPackage(t)
	blob, err := c.WriteURL(ctx, "other-system")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, blob, func() (io.Reader, error) { return bytes.NewReader(pkg), nil }, int64(len(pkg))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImportFromPackage(ctx, d365.Import{PackageURL: blob, DefinitionGroup: "erpipe-customers", ExecutionID: "other-system-1", Execute: true}); err != nil {
		t.Fatal(err)
	}
	d := newDest(t, c, "")
	_, err = put(d, "20261207-080000-hhhhhh", pkg)
	if !outbox.IsTransient(err) || !strings.Contains(err.Error(), "DMF2025") {
		t.Fatalf("put into a busy project: %v, want a transient error naming DMF2025", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for outbox.IsTransient(err) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		_, err = put(d, "20261207-080000-hhhhhh", pkg)
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Imports()); n != 2 {
		t.Errorf("%d imports, want 2 (the other system's and ours)", n)
	}
}
