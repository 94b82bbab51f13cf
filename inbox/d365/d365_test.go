package d365

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/formats/dmf"
)

// start runs an emulator and returns a client of it.
func start(t *testing.T, opts emulator.Options) (*emulator.Server, *d365.Client) {
	t.Helper()
	opts.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	opts.QueueTime, opts.ExecuteTime = 20*time.Millisecond, 80*time.Millisecond
	s := emulator.New(opts)
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := d365.New(d365.Config{Environment: s.URL(), AuthorityHost: s.URL(), Tenant: s.Tenant(), ClientID: s.ClientID(),
		Secret: s.ClientSecret(), CAFile: opts.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// ledgerCSV is the data file of the test package's ledger entity.
const ledgerCSV = "ACCOUNT,AMOUNT\r\n1000,12.50\r\n2000,-12.50\r\n"

// ledgerPackage is an exported package of two entities; Vendors has no
// rows, so its data file is left out as D365 does.
func ledgerPackage(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := dmf.NewWriter(&buf, dmf.Options{DefinitionGroup: "Ledger export"}, []dmf.Entity{
		{Name: "Ledger lines", Target: "LedgerLineEntity", Columns: []string{"ACCOUNT", "AMOUNT"}, SourceFormat: dmf.CSV},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]string{{"1000", "12.50"}, {"2000", "-12.50"}} {
		if err := w.Write(0, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExport(t *testing.T) {
	pkg := ledgerPackage(t)
	s, c := start(t, emulator.Options{ExportPackages: map[string][]byte{"Ledger export": pkg}})
	ctx := context.Background()
	opts := ExportOptions{Client: c, DefinitionGroup: "Ledger export", LegalEntity: "USMF", Poll: 20 * time.Millisecond}

	t.Run("the package", func(t *testing.T) {
		dir := t.TempDir()
		opts := opts
		opts.ExecutionID = "erpipe-test-package"
		got, err := Export(ctx, opts, dir, "ledger-2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(got); filepath.Base(got) != "ledger-2026-11.zip" || !bytes.Equal(b, pkg) {
			t.Errorf("%s: %d bytes, want the exported package", got, len(b))
		}
		if names := list(t, dir); !slices.Equal(names, []string{"ledger-2026-11.zip"}) {
			t.Errorf("the folder holds %q", names)
		}
	})
	t.Run("an entity's data file, its bytes as exported", func(t *testing.T) {
		dir := t.TempDir()
		opts := opts
		opts.ExecutionID, opts.Entity = "erpipe-test-entity", "ledger LINES"
		got, err := Export(ctx, opts, dir, "ledger")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := dmf.OpenReader(bytes.NewReader(pkg), int64(len(pkg)), "p.zip")
		r, _, _ := p.DataFile(0)
		var want bytes.Buffer
		want.ReadFrom(r)
		if b, _ := os.ReadFile(got); filepath.Base(got) != "Ledger lines.csv" || !bytes.Equal(b, want.Bytes()) {
			t.Errorf("%s holds %q, want %q", got, b, want.Bytes())
		}
		if names := list(t, dir); !slices.Equal(names, []string{"Ledger lines.csv"}) {
			t.Errorf("the folder holds %q (the package is removed)", names)
		}
	})
	t.Run("an entity the package does not have", func(t *testing.T) {
		opts := opts
		opts.ExecutionID, opts.Entity = "erpipe-test-missing", "Vendors"
		_, err := Export(ctx, opts, t.TempDir(), "ledger")
		if err == nil || !strings.Contains(err.Error(), `no entity "Vendors"; it has "Ledger lines"`) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("an unknown data project", func(t *testing.T) {
		opts := opts
		opts.ExecutionID, opts.DefinitionGroup = "erpipe-test-unknown", "Nothing"
		_, err := Export(ctx, opts, t.TempDir(), "x")
		if err == nil || !strings.Contains(err.Error(), `export data project "Nothing"`) || !strings.Contains(err.Error(), "not found") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("an export started before is followed, not started again", func(t *testing.T) {
		opts := opts
		opts.ExecutionID = "erpipe-test-again"
		if _, err := c.ExportToPackage(ctx, d365.Export{DefinitionGroup: "Ledger export", ExecutionID: opts.ExecutionID, LegalEntity: "USMF"}); err != nil {
			t.Fatal(err)
		}
		before := exports(s)
		if _, err := Export(ctx, opts, t.TempDir(), "again"); err != nil {
			t.Fatal(err)
		}
		if n := exports(s) - before; n != 0 {
			t.Errorf("%d more ExportToPackage calls, want none", n)
		}
	})
	t.Run("an export that outlasts the wait", func(t *testing.T) {
		opts := opts
		opts.ExecutionID, opts.Wait = "erpipe-test-slow", 30*time.Millisecond
		_, err := Export(ctx, opts, t.TempDir(), "slow")
		if err == nil || !strings.Contains(err.Error(), "did not end within") {
			t.Errorf("err %v", err)
		}
	})
}

// exports counts the ExportToPackage requests the emulator had.
func exports(s *emulator.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if strings.HasSuffix(strings.SplitN(r.Path, "?", 2)[0], "/ExportToPackage") {
			n++
		}
	}
	return n
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestPoller: every file on the queue ends in the inbox once, under a
// name of its correlation id and kind, and is acknowledged; a file that
// was put into the inbox by a poller that died before its ack is only
// acknowledged when it comes back.
func TestPoller(t *testing.T) {
	s, c := start(t, emulator.Options{HTTPDownloadLocation: true, VisibilityTimeout: 100 * time.Millisecond})
	act := emulator.DefaultActivities[1].ID
	ctx := context.Background()
	pkg := ledgerPackage(t)
	ids := map[string]string{}
	for name, data := range map[string][]byte{"ledger.zip": pkg, "lines.csv": []byte(ledgerCSV), "doc.xml": []byte("\xef\xbb\xbf<?xml version=\"1.0\"?><a/>")} {
		id, err := s.Publish(act, name, data)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = strings.ToLower(id)
	}
	inbox, state := t.TempDir(), t.TempDir()
	p := &Poller{Client: c, ActivityID: act, Dir: inbox, StateDir: state}

	// A poller that died between putting the first file into the inbox
	// and acknowledging it.
	m, err := c.Dequeue(ctx, act)
	if err != nil || m == nil {
		t.Fatalf("dequeue: %v %v", m, err)
	}
	first := strings.ToLower(m.CorrelationID)
	if _, err := p.take(ctx, &d365.Message{CorrelationID: "../x", DownloadLocation: m.DownloadLocation}); err == nil {
		t.Error("a correlation id with a path in it was taken")
	}
	if err := p.fetch(ctx, m, first); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, first), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // the visibility timeout

	n, err := p.Drain(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Drain: %d new files, %v; want the 2 not taken before", n, err)
	}
	want := []string{"d365-" + ids["doc.xml"] + ".xml", "d365-" + ids["ledger.zip"] + ".zip", "d365-" + ids["lines.csv"] + ".csv"}
	slices.Sort(want)
	if got := list(t, inbox); !slices.Equal(got, want) {
		t.Errorf("the inbox holds %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(inbox, "d365-"+ids["ledger.zip"]+".zip")); !bytes.Equal(b, pkg) {
		t.Error("the package in the inbox is not the one exported")
	}
	for _, m := range s.Messages() {
		if !m.Acked || m.Dequeues > 2 {
			t.Errorf("message %s: acked %v after %d dequeues", m.ID, m.Acked, m.Dequeues)
		}
	}
	if n, err := p.Drain(ctx); n != 0 || err != nil {
		t.Errorf("a second Drain: %d, %v", n, err)
	}
}

// TestPollerFaults: a queue that cannot be read is an error of Drain, and
// the poller goes on at its next round; a download that fails leaves
// nothing in the inbox and the message unacknowledged.
func TestPollerFaults(t *testing.T) {
	s, c := start(t, emulator.Options{VisibilityTimeout: 50 * time.Millisecond})
	act := emulator.DefaultActivities[1].ID
	ctx := context.Background()
	if _, err := s.Publish(act, "lines.csv", []byte(ledgerCSV)); err != nil {
		t.Fatal(err)
	}
	inbox := t.TempDir()
	p := &Poller{Client: c, ActivityID: act, Dir: inbox, StateDir: t.TempDir(), Every: 20 * time.Millisecond}
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 400, Count: 1})
	if _, err := p.Drain(ctx); err == nil {
		t.Error("Drain with a refused dequeue: no error")
	}
	// The dequeue answers, the download is refused.
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 0, Count: 1})
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 404, Count: 1})
	_, err := p.Drain(ctx)
	var e *d365.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "download") {
		t.Errorf("Drain with a refused download: %v", err)
	}
	if got := list(t, inbox); len(got) != 0 {
		t.Errorf("the inbox holds %q after a failed download", got)
	}
	run, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- p.Run(run) }()
	deadline := time.Now().Add(5 * time.Second)
	for m := s.Messages(); !m[0].Acked && time.Now().Before(deadline); m = s.Messages() {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if got := list(t, inbox); len(got) != 1 || !strings.HasSuffix(got[0], ".csv") {
		t.Errorf("the inbox holds %q", got)
	}
	if m := s.Messages(); len(m) != 1 || !m[0].Acked {
		t.Errorf("the queue: %+v", m)
	}
}
