package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFixedWidth runs fixed-width files through the daemon both ways: a
// payment list dropped into the built-in nacha-ach pipeline becomes a
// NACHA ACH file (94-character records, controls, blocked to 10 lines);
// that file dropped into a workspace template that reads fixed-width
// (ach-entries) gives its entries back as CSV; and the same file with one
// amount changed is refused whole, at the batch total that no longer adds
// up.
func TestFixedWidth(t *testing.T) {
	ws := newWorkspace(t)
	writeFile(t, filepath.Join(ws, "templates", "ach-entries.yaml"), readFile(t, "testdata/templates/ach-entries.yaml"))
	d := startDaemonEnv(t, ws, nil, "the inboxes", func(*daemon) bool {
		_, err1 := os.Stat(filepath.Join(ws, "inbox", "nacha-ach"))
		_, err2 := os.Stat(filepath.Join(ws, "inbox", "ach-entries"))
		return err1 == nil && err2 == nil
	})
	defer d.stop(t)

	drop(t, filepath.Join(ws, "inbox", "nacha-ach"), "payments.csv", readFile(t, "../templates/nacha-ach/samples/payments.csv"))
	jobs := waitJobs(t, ws, 1)
	if j := jobs["payments.csv"]; j.Status != "Processed" || j.Written != 4 {
		t.Fatalf("nacha-ach job: %+v", j)
	}
	ach := readFile(t, filepath.Join(ws, "outbox", "nacha-ach", "payments.ach"))
	lines := strings.Split(strings.TrimSuffix(string(ach), "\r\n"), "\r\n")
	if len(lines) != 20 {
		t.Fatalf("the ACH file has %d lines, want 20 (two blocks):\n%s", len(lines), ach)
	}
	for i, l := range lines {
		if len(l) != 94 {
			t.Errorf("line %d is %d characters long: %q", i+1, len(l), l)
		}
	}
	// The file control, after 4 entries with an addenda record each: 2
	// batches, 2 blocks, 8 entries and addenda, the entry hash, no debits,
	// 53,500.40 of credits; then 6 lines of 9s.
	if want := "9000002000002000000080007900976000000000000000005350040"; !strings.HasPrefix(lines[13], want) {
		t.Errorf("file control %q, want %s...", lines[13], want)
	}
	if lines[19] != strings.Repeat("9", 94) {
		t.Errorf("the last line %q, want 94 9s", lines[19])
	}

	drop(t, filepath.Join(ws, "inbox", "ach-entries"), "payments.ach", ach)
	tampered := strings.Replace(string(ach), "0000125000", "0000125001", 1)
	drop(t, filepath.Join(ws, "inbox", "ach-entries"), "tampered.ach", []byte(tampered))
	jobs = waitJobs(t, ws, 3)
	if j := jobs["payments.ach"]; j.Status != "Processed" || j.Read != 4 || j.Written != 4 {
		t.Fatalf("ach-entries job: %+v", j)
	}
	got := string(readFile(t, filepath.Join(ws, "outbox", "ach-entries", "payments.csv")))
	contains(t, "the entries read back", got,
		"Company,Effective date,Transaction code,Routing number,Account,Amount,Name,Description",
		"1234567890,260302,22,021000021,123456789,1250.00,CONTOSO OFFICE SUPPLY,INVOICE 2026-0141",
		"1234567890,260302,32,026009593,0004455667788,48230.50,NORTHWIND TRADERS,INVOICE 88121",
		"1234567890,260309,22,021000021,123456789,899.90,CONTOSO OFFICE SUPPLY,INVOICE 2026-0187")
	j := jobs["tampered.ach"]
	if j.Status != "Failed" {
		t.Fatalf("tampered file: %+v", j)
	}
	contains(t, "the tampered file's error", strings.Join(j.Errors, "\n"),
		`row 9 column 33: batch_control.total_credit is "000005260050", but adding up entry.amount over its batch_header gives 52600.51`)
	if _, err := os.Stat(filepath.Join(ws, "outbox", "ach-entries", "tampered.csv")); err == nil {
		t.Error("the tampered file's entries were published")
	}
}
