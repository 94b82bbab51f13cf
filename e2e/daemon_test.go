package e2e

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const sampleCSV = "../templates/customers-v3/samples/customers.csv"

// TestDaemon drops good, bad, duplicate and slowly written files into a
// running daemon and checks where each one ends, what the outbox holds and
// what the journal says.
func TestDaemon(t *testing.T) {
	ws := newWorkspace(t)
	d := startDaemon(t, ws)
	in := filepath.Join(ws, "inbox", "customers-v3")
	sample := readFile(t, sampleCSV)
	header := customersHeader

	drop(t, in, "good.csv", sample)
	drop(t, in, "good-workbook.xlsx", readFile(t, "../templates/customers-v3/samples/customers-workbook.xlsx"))
	drop(t, in, "broken.xlsx", []byte("PK\x03\x04 this is not a workbook"))
	drop(t, in, "wrongcol.csv", []byte(strings.Replace(header, "Account,", "Acct,", 1)+"\nX1,A,10,EUR,NOR,,,,,,1,30\n"))
	drop(t, in, "badvalue.csv", []byte(header+"\nOK-1,Good AS,10,EUR,NOR,Gate 1,Oslo,0150,a@b.example,1,100.00,30\nBAD-1,Bad AS,10,EUR,NOR,Gate 2,Oslo,0150,c@d.example,2,\"12,5x\",30\n"))
	drop(t, in, "allbad.csv", []byte(header+"\nBAD-2,Bad AS,10,EUROS,NOR,Gate 2,Oslo,0150,c@d.example,2,1.00,30\n"))
	writeFile(t, filepath.Join(in, "empty.csv"), nil)
	writeFile(t, filepath.Join(in, "~$lockfile.xlsx"), []byte("office lock file"))
	writeFile(t, filepath.Join(in, "upload.csv.part"), []byte("partial download"))

	pay := filepath.Join(ws, "inbox", "payments-csv")
	drop(t, pay, "payments.csv", []byte("Reference;Date;Amount\nP-1;31.01.2026;1234,50\nP-2;01.02.2026;0,10\nP-3;28.02.2026;19,99\n"))
	drop(t, pay, "baddate.csv", []byte("Reference;Date;Amount\nP-4;31.02.2026;5,00\nP-5;01.03.2026;7,25\n"))

	// A file written slowly, straight into the inbox, one row every 200ms
	// (the settle window is 1s): it must be taken whole. Its accounts differ
	// from the sample's, so it is no duplicate.
	slow, err := os.Create(filepath.Join(in, "slow.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimRight(strings.ReplaceAll(string(sample), "-", "-S"), "\n"), "\n")
	for _, l := range lines {
		if _, err := slow.WriteString(l); err != nil {
			t.Fatal(err)
		}
		_ = slow.Sync()
		time.Sleep(200 * time.Millisecond)
	}
	slow.WriteString("\n")
	slow.Close()

	byInput := waitJobs(t, ws, 10)
	// Drop the good file again, under another name, once the first has ended.
	drop(t, in, "again.csv", sample)
	byInput = waitJobs(t, ws, 11)

	want := map[string]struct {
		status                  string
		read, written, rejected int
	}{
		"good.csv":           {"Processed", 10, 10, 0},
		"good-workbook.xlsx": {"Processed", 10, 10, 0},
		"slow.csv":           {"Processed", 10, 10, 0},
		"badvalue.csv":       {"ProcessedWithErrors", 2, 1, 1},
		"allbad.csv":         {"Failed", 1, 0, 1},
		"broken.xlsx":        {"Failed", 0, 0, 0},
		"wrongcol.csv":       {"Failed", 0, 0, 0},
		"empty.csv":          {"Failed", 0, 0, 0},
		"again.csv":          {"Duplicate", 0, 0, 0},
		"payments.csv":       {"Processed", 3, 3, 0},
		"baddate.csv":        {"ProcessedWithErrors", 2, 1, 1},
	}
	for name, w := range want {
		j, ok := byInput[name]
		if !ok {
			t.Errorf("%s: no job", name)
			continue
		}
		if j.Status != w.status || j.Read != w.read || j.Written != w.written || j.Rejected != w.rejected {
			t.Errorf("%s: got %s read %d written %d rejected %d; want %s %d %d %d (errors: %q)", name,
				j.Status, j.Read, j.Written, j.Rejected, w.status, w.read, w.written, w.rejected, j.Errors)
		}
	}
	if byInput["again.csv"].DuplicateOf != byInput["good.csv"].ID {
		t.Errorf("again.csv: duplicate_of %q, want good.csv's job %q", byInput["again.csv"].DuplicateOf, byInput["good.csv"].ID)
	}

	// Where the inputs ended.
	if got := files(t, in); strings.Join(got, ",") != "upload.csv.part,~$lockfile.xlsx" {
		t.Errorf("inbox holds %q; want only the temporary files, untouched", got)
	}
	if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 0 {
		t.Errorf("claimed files left behind: %q", got)
	}
	archived := files(t, filepath.Join(ws, "archive", "customers-v3"))
	day := time.Now().Format("2006-01-02")
	for _, name := range []string{"good.csv", "good-workbook.xlsx", "slow.csv", "badvalue.csv", "again.csv"} {
		wantPath := day + "/" + byInput[name].ID + "-" + name
		if !slices.Contains(archived, wantPath) {
			t.Errorf("archive lacks %s; has %q", wantPath, archived)
		}
	}
	errs := files(t, filepath.Join(ws, "errors", "customers-v3"))
	for _, name := range []string{"broken.xlsx", "wrongcol.csv", "empty.csv", "allbad.csv"} {
		for _, suffix := range []string{"", ".error.txt", ".error.json"} {
			if !slices.Contains(errs, name+suffix) {
				t.Errorf("errors/customers-v3 lacks %s; has %q", name+suffix, errs)
			}
		}
	}

	// The reports say what, where and what to do.
	errDir := filepath.Join(ws, "errors", "customers-v3")
	contains(t, "broken.xlsx.error.txt", string(readFile(t, filepath.Join(errDir, "broken.xlsx.error.txt"))),
		"broken.xlsx", "xlsx", "What to do")
	contains(t, "wrongcol.csv.error.txt", string(readFile(t, filepath.Join(errDir, "wrongcol.csv.error.txt"))),
		`"Account"`, "account")
	contains(t, "empty.csv.error.txt", string(readFile(t, filepath.Join(errDir, "empty.csv.error.txt"))), "empty")
	contains(t, "allbad.csv.error.txt", string(readFile(t, filepath.Join(errDir, "allbad.csv.error.txt"))),
		"row 2", "currency", "ISO code")
	// Rows left out are reported where operators look: in errors/.
	badReport := string(readFile(t, filepath.Join(errDir, "badvalue.csv.error.txt")))
	contains(t, "badvalue report", badReport, "badvalue.csv", "row 3", "Credit limit", "credit_limit", "12,5x")
	dateReport := string(readFile(t, filepath.Join(ws, "errors", "payments-csv", "baddate.csv.error.txt")))
	contains(t, "baddate report", dateReport, "row 2", "Date", "31.02.2026", "dd.MM.yyyy")
	if js := string(readFile(t, filepath.Join(errDir, "broken.xlsx.error.json"))); !strings.Contains(js, `"status": "Failed"`) {
		t.Errorf("broken.xlsx.error.json lacks the job status:\n%s", js)
	}

	// What the outbox holds: one package per good input, nothing twice.
	out := files(t, filepath.Join(ws, "outbox", "customers-v3"))
	if strings.Join(out, ",") != "badvalue.zip,good-workbook.zip,good.zip,slow.zip" {
		t.Errorf("outbox/customers-v3 holds %q", out)
	}
	checkPackage(t, filepath.Join(ws, "outbox", "customers-v3", "good.zip"), 10)
	checkPackage(t, filepath.Join(ws, "outbox", "customers-v3", "good-workbook.zip"), 10)
	checkPackage(t, filepath.Join(ws, "outbox", "customers-v3", "badvalue.zip"), 1)
	if got, want := string(readFile(t, filepath.Join(ws, "outbox", "payments-csv", "payments-out.csv"))),
		"REFERENCE,DATE,AMOUNT,AMOUNT_WITH_VAT\nP-1,2026-01-31,1234.50,1543.13\nP-2,2026-02-01,0.10,0.13\nP-3,2026-02-28,19.99,24.99\n"; got != want {
		t.Errorf("payments-out.csv:\n%s\nwant:\n%s", got, want)
	}

	// What erpipe jobs prints.
	table, _, code := erpipe(t, "jobs", "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe jobs: exit %d", code)
	}
	for name, w := range want {
		// ID, the time it started (today: the time of day), pipeline, input, status.
		if !regexp.MustCompile(`(?m)^` + byInput[name].ID + `\s+(\d\d:\d\d:\d\d|[A-Z][a-z]{2} \d\d \d\d:\d\d)\s+\S+\s+` + regexp.QuoteMeta(name) + `\s+` + w.status + `\s`).MatchString(table) {
			t.Errorf("erpipe jobs has no line for %s with status %s:\n%s", name, w.status, table)
		}
	}
	// The same journal as CSV, for a spreadsheet.
	csvOut, _, code := erpipe(t, "jobs", "--csv", "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe jobs --csv: exit %d", code)
	}
	rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil || len(rows) != len(want)+1 || rows[0][0] != "id" || rows[0][6] != "status" {
		t.Errorf("erpipe jobs --csv: %v\n%s", err, csvOut)
	}
	for _, r := range rows[1:] {
		if w, ok := want[r[2]]; ok && r[6] != w.status {
			t.Errorf("jobs --csv: %s has status %s, want %s", r[2], r[6], w.status)
		}
	}
	show, _, code := erpipe(t, "jobs", "show", byInput["good.csv"].ID, "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe jobs show: exit %d", code)
	}
	contains(t, "jobs show", show, "Processed", "good.csv", "customers-v3 1.2.0", "Input sha256:", "good.zip", "10 read, 10 written, 0 rejected")

	// A second daemon on the same workspace refuses to start.
	_, stderr, code := erpipe(t, "run", "--workspace", ws)
	if code == 0 || !strings.Contains(stderr, "already running") {
		t.Errorf("second daemon: exit %d, stderr %q; want a refusal", code, stderr)
	}
	d.stop(t)
}

// checkPackage unzips a customers-v3 package and checks its three files.
func checkPackage(t *testing.T, path string, rows int) {
	t.Helper()
	entries := unzip(t, path)
	var names []string
	for n := range entries {
		names = append(names, n)
	}
	if len(entries) != 3 || entries["Manifest.xml"] == nil || entries["PackageHeader.xml"] == nil || entries["Customers V3.csv"] == nil {
		t.Fatalf("%s holds %q; want Customers V3.csv, Manifest.xml, PackageHeader.xml", path, names)
	}
	manifest := utf16(t, entries["Manifest.xml"])
	contains(t, "Manifest.xml", manifest,
		`<DataManagementPackageManifest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/dynamics/2015/01/DataManagement">`,
		"<EntityName>Customers V3</EntityName>", "<TargetEntity>CustCustomerV3Entity</TargetEntity>",
		"<SourceFormat>CSV-Unicode</SourceFormat>", "<InputFilePath>Customers V3.csv</InputFilePath>",
		"<EntityField>CUSTOMERACCOUNT</EntityField>", "<DefinitionGroupName>customers-v3</DefinitionGroupName>")
	header := utf16(t, entries["PackageHeader.xml"])
	contains(t, "PackageHeader.xml", header, "<PackageType>DefinitionGroup</PackageType>", "<PackageVersion>2</PackageVersion>")
	data := utf16(t, entries["Customers V3.csv"])
	lines := strings.Split(strings.TrimSuffix(data, "\r\n"), "\r\n")
	if len(lines) != rows+1 {
		t.Fatalf("Customers V3.csv has %d lines, want %d (header + rows):\n%s", len(lines), rows+1, data)
	}
	if want := "CUSTOMERACCOUNT,ADDRESSCITY,ADDRESSCOUNTRYREGIONID,ADDRESSDESCRIPTION,ADDRESSLOCATIONROLES,ADDRESSSTREET,ADDRESSZIPCODE,CREDITLIMIT,CUSTOMERGROUPID,DELIVERYMODE,INVOICEACCOUNT,LANGUAGEID,NAMEALIAS,ORGANIZATIONNAME,PARTYTYPE,PAYMENTMETHOD,PAYMENTTERMS,PRIMARYCONTACTEMAIL,PRIMARYCONTACTPHONE,SALESCURRENCYCODE,SALESTAXGROUP"; lines[0] != want {
		t.Errorf("header %q\nwant   %q", lines[0], want)
	}
	if rows == 10 {
		contains(t, "Customers V3.csv", data,
			"NO-1002,Bergen,NOR,Fjord Fisk og Skalldyr AS,Business,Bryggen 4,5003,750000.50,20,,,nb-no,FJORD FISK OG SKALLD,Fjord Fisk og Skalldyr AS,Organization,BANK,Net30,post@fjordfisk.example,+47 55 12 34 56,NOK,NO-HIGH\r\n",
			`FR-3001,Paris,FRA,"Société Générale de Café, SARL",Business,12 rue de la Paix,75002,42000.00,30,,,fr,SOCIÉTÉ GÉNÉRALE DE,"Société Générale de Café, SARL",Organization,SEPA,Net60,compta@cafe-sarl.example,+33 1 42 00 00 00,EUR,EU`+"\r\n",
			"DE-2001,München,DEU,Müller & Söhne GmbH,")
	}
}

// TestCrashRecovery kills the daemon with SIGKILL in the middle of a
// batch, starts it again, and checks that every file ends archived exactly
// once with exactly one result.
func TestCrashRecovery(t *testing.T) {
	ws := newWorkspace(t)
	in := filepath.Join(ws, "inbox", "customers-v3")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	const files_, rows = 16, 20000
	header := customersHeader
	for f := range files_ {
		var b strings.Builder
		b.WriteString(header + "\n")
		for r := range rows {
			fmt.Fprintf(&b, "C%02d-%06d,Customer %d of batch %d,10,EUR,NOR,Gate %d,Oslo,0150,c%d@example.com,+47 %08d,%d.%02d,30\n",
				f, r, r, f, r, r, r, r*10, r%100)
		}
		writeFile(t, filepath.Join(in, fmt.Sprintf("batch-%02d.csv", f)), []byte(b.String()))
	}
	d := startDaemon(t, ws)
	waitFor(t, 60*time.Second, "a few jobs to end", func() bool {
		ended := 0
		for _, j := range listJobs(t, ws) {
			if j.Status == "Processed" {
				ended++
			}
		}
		return ended >= 2
	})
	d.kill(t)
	ended := 0
	for _, j := range listJobs(t, ws) {
		if j.Status == "Processed" {
			ended++
		}
	}
	if ended >= files_ {
		t.Fatalf("every job had ended before the kill; the restart recovers nothing")
	}
	t.Logf("killed with %d of %d files processed", ended, files_)

	d = startDaemon(t, ws)
	byInput := waitJobs(t, ws, files_)
	d.stop(t)

	if len(byInput) != files_ {
		t.Errorf("%d inputs have jobs, want %d", len(byInput), files_)
	}
	for name, j := range byInput {
		if j.Status != "Processed" || j.Written != rows || len(j.Outputs) != 1 {
			t.Errorf("%s: %s, %d written, %d outputs; want Processed, %d, 1 (errors %q)", name, j.Status, j.Written, len(j.Outputs), rows, j.Errors)
		}
	}
	if got := files(t, in); len(got) != 0 {
		t.Errorf("inbox still holds %q", got)
	}
	if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 0 {
		t.Errorf("claimed files left behind: %q", got)
	}
	if got := files(t, filepath.Join(ws, "errors")); len(got) != 0 {
		t.Errorf("errors/ holds %q", got)
	}
	if got := files(t, filepath.Join(ws, "archive", "customers-v3")); len(got) != files_ {
		t.Errorf("archive holds %d files, want %d: %q", len(got), files_, got)
	}
	out := files(t, filepath.Join(ws, "outbox", "customers-v3"))
	if len(out) != files_ {
		t.Errorf("outbox holds %d files, want %d (one per input, none twice): %q", len(out), files_, out)
	}
	for _, o := range out {
		if strings.Contains(o, "(2)") {
			t.Errorf("a result was delivered twice: %s", o)
		}
	}
}
