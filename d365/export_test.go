package d365

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/formats/dmf"
)

// trialBalance is an exported package of one entity, as erpipe writes it.
func trialBalance(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := dmf.NewWriter(&buf, dmf.Options{DefinitionGroup: "Trial balance export"}, []dmf.Entity{{
		Name: "Trial balance", Target: "LedgerTrialBalanceEntity", Columns: []string{"MAINACCOUNT", "CLOSINGBALANCE"},
	}})
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

// exportEmulator runs an emulator with an export data project and the
// default recurring export job.
func exportEmulator(t *testing.T, opts emulator.Options) (*emulator.Server, *Client) {
	t.Helper()
	opts.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	opts.QueueTime, opts.ExecuteTime = 30*time.Millisecond, 100*time.Millisecond
	s := emulator.New(opts)
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := New(Config{Environment: s.URL(), AuthorityHost: s.URL(), Tenant: s.Tenant(), ClientID: s.ClientID(),
		Secret: s.ClientSecret(), CAFile: opts.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// TestExportToPackage: an export runs to its end, then its package is
// downloaded from the URL GetExportedPackageUrl hands out; before the end
// the URL is "".
func TestExportToPackage(t *testing.T) {
	pkg := trialBalance(t)
	_, c := exportEmulator(t, emulator.Options{ExportPackages: map[string][]byte{"Trial balance export": pkg}})
	ctx := context.Background()
	id, err := c.ExportToPackage(ctx, Export{DefinitionGroup: "Trial balance export", PackageName: "tb", ExecutionID: "erpipe-x-1", LegalEntity: "USMF"})
	if err != nil || id != "erpipe-x-1" {
		t.Fatalf("ExportToPackage: %q, %v", id, err)
	}
	u, err := c.ExportedPackageURL(ctx, id)
	if err != nil || u != "" {
		t.Errorf("before the export ended: %q, %v; want no URL yet", u, err)
	}
	var st ExecutionStatus
	for deadline := time.Now().Add(10 * time.Second); !st.Final() && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st, err = c.Status(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if st != StatusSucceeded {
		t.Fatalf("status %s", st)
	}
	if u, err = c.ExportedPackageURL(ctx, id); err != nil || u == "" {
		t.Fatalf("after the end: %q, %v", u, err)
	}
	var got bytes.Buffer
	if err := c.Download(ctx, u, &got, 1<<20); err != nil || !bytes.Equal(got.Bytes(), pkg) {
		t.Errorf("downloaded %q, %v", got.Bytes(), err)
	}
	_, err = c.ExportToPackage(ctx, Export{DefinitionGroup: "No such project", ExecutionID: "erpipe-x-2", LegalEntity: "USMF"})
	if err == nil || !strings.Contains(err.Error(), "No such project") {
		t.Errorf("an unknown project: %v", err)
	}
}

// TestDequeueAck: dequeue answers the oldest file (204 as nil when none
// waits), its DownloadLocation is fetched also when D365 writes it as
// http://, an un-acked message comes back after the visibility timeout
// with a new PopReceipt, and an ack with the old one is refused while the
// latest is taken.
func TestDequeueAck(t *testing.T) {
	s, c := exportEmulator(t, emulator.Options{HTTPDownloadLocation: true, VisibilityTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	act := emulator.DefaultActivities[1].ID
	if m, err := c.Dequeue(ctx, act); m != nil || err != nil {
		t.Fatalf("an empty queue: %+v, %v", m, err)
	}
	data := []byte("ACCOUNT,AMOUNT\r\n1000,12.50\r\n")
	id, err := s.Publish(act, "tb.csv", data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Dequeue(ctx, act)
	if err != nil || m == nil || !strings.EqualFold(m.CorrelationID, id) || !strings.HasPrefix(m.DownloadLocation, "http://") {
		t.Fatalf("dequeue: %+v, %v", m, err)
	}
	var got bytes.Buffer
	if err := c.Download(ctx, m.DownloadLocation, &got, 1<<20); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("download: %q, %v", got.Bytes(), err)
	}
	if again, err := c.Dequeue(ctx, act); again != nil || err != nil {
		t.Errorf("within the visibility timeout: %+v, %v; want nothing", again, err)
	}
	time.Sleep(250 * time.Millisecond)
	again, err := c.Dequeue(ctx, act)
	if err != nil || again == nil || again.CorrelationID != m.CorrelationID || again.PopReceipt == m.PopReceipt {
		t.Fatalf("after the visibility timeout: %+v, %v", again, err)
	}
	if err := c.Ack(ctx, act, m); err == nil || !strings.Contains(err.Error(), "PopReceipt") {
		t.Errorf("an ack with the first PopReceipt: %v", err)
	}
	if err := c.Ack(ctx, act, again); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if m, err := c.Dequeue(ctx, act); m != nil || err != nil {
		t.Errorf("after the ack: %+v, %v", m, err)
	}
	if msgs := s.Messages(); len(msgs) != 1 || !msgs[0].Acked {
		t.Errorf("the emulator has %+v", msgs)
	}
}
