package e2e

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// The files people really export, made from the customers-v3 sample: the
// same ten customers (with é, ü, ø, ß in them) in the encodings and
// dialects of Excel, LibreOffice and ERPs on European machines.

// sampleRows is the customers-v3 sample as rows of cells.
func sampleRows(t *testing.T) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(readFile(t, "../templates/customers-v3/samples/customers.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// writeCSV writes rows with delimiter comma, and with decimal commas in
// the credit limit column when decimalComma is set.
func writeCSV(t *testing.T, rows [][]string, comma rune, decimalComma bool) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = comma
	limit := -1
	for i, h := range rows[0] {
		if h == "Credit limit" {
			limit = i
		}
	}
	for i, r := range rows {
		r = append([]string(nil), r...)
		if decimalComma && i > 0 {
			r[limit] = strings.Replace(r[limit], ".", ",", 1)
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return b.Bytes()
}

func encode(t *testing.T, e encoding.Encoding, b []byte) []byte {
	t.Helper()
	out, err := e.NewEncoder().Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// titledWorkbook is the sample as a workbook as finance users make them:
// a title merged across the columns, the header on row 3, and the
// customer group written once per run of equal groups, merged down.
func titledWorkbook(t *testing.T, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Customers"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	set := func(col, row int, v any) {
		cell, _ := excelize.CoordinatesToCellName(col, row)
		if err := f.SetCellValue(sheet, cell, v); err != nil {
			t.Fatal(err)
		}
	}
	set(1, 1, "Customer list exported 2026-12-01")
	last, _ := excelize.CoordinatesToCellName(len(rows[0]), 1)
	if err := f.MergeCell(sheet, "A1", last); err != nil {
		t.Fatal(err)
	}
	group := 2 // "Customer group", column C
	for i, r := range rows {
		row := i + 3
		for c, v := range r {
			if i > 0 && c == group && rows[i-1][c] == v && i > 1 {
				continue // merged into the cell above
			}
			set(c+1, row, v)
		}
	}
	for i := 1; i < len(rows); {
		j := i
		for j+1 < len(rows) && rows[j+1][group] == rows[i][group] {
			j++
		}
		if j > i {
			if err := f.MergeCell(sheet, "C"+strconv.Itoa(i+3), "C"+strconv.Itoa(j+3)); err != nil {
				t.Fatal(err)
			}
		}
		i = j + 1
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAwkwardFiles drops files in the shapes people export into a running
// daemon: each is processed with the sample's values, or refused whole
// with one message; nothing is imported in part.
func TestAwkwardFiles(t *testing.T) {
	rows := sampleRows(t)
	comma := writeCSV(t, rows, ',', false)
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(`settle: 300ms
rescan: 500ms
builtin_pipelines: false
pipelines:
  - name: customers
    template: customers-v3
    legacy_encoding: windows-1252   # what Excel's "CSV (Comma delimited)" writes here
  - name: strict
    template: customers-v3          # no legacy encoding: such files are refused whole
`))
	good := map[string][]byte{
		"excel-utf8-bom.csv":             append([]byte("\xef\xbb\xbf"), comma...),
		"excel-cp1252.csv":               encode(t, charmap.Windows1252, comma),
		"erp-iso-8859-1.csv":             encode(t, charmap.ISO8859_1, bytes.ReplaceAll(comma, []byte("\n"), []byte("\r\n"))), // not the bytes of the cp1252 file
		"utf16le-no-bom.csv":             encode(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), comma),
		"utf16be-bom.csv":                encode(t, unicode.UTF16(unicode.BigEndian, unicode.UseBOM), comma),
		"semicolon-decimal.csv":          encode(t, charmap.Windows1252, writeCSV(t, rows, ';', true)),
		"tab-separated.txt":              writeCSV(t, rows, '\t', false),
		"title-row.csv":                  append([]byte("Customer list exported 2026-12-01\n\n"), comma...),
		"titled-merged.xlsx":             titledWorkbook(t, rows),
		"libreoffice-from-csv.xlsx":      readFile(t, "testdata/awkward/libreoffice-from-csv.xlsx"),
		"libreoffice-titled-merged.xlsx": readFile(t, "testdata/awkward/libreoffice-titled-merged.xlsx"),
	}
	refused := map[string]string{
		"excel-cp1252.csv": "legacy_encoding", // in strict: say how to read it
	}
	d := startDaemonEnv(t, ws, nil, "the inboxes", func(*daemon) bool {
		_, err := os.Stat(filepath.Join(ws, "inbox", "strict"))
		return err == nil
	})
	for name, data := range good {
		drop(t, filepath.Join(ws, "inbox", "customers"), name, data)
	}
	for name := range refused {
		drop(t, filepath.Join(ws, "inbox", "strict"), name, good[name])
	}
	var list []reloadJob
	waitFor(t, 60*time.Second, "every file's job to end", func() bool {
		list = reloadJobs(t, ws)
		if len(list) < len(good)+len(refused) {
			return false
		}
		for _, j := range list {
			if j.Status == "Processing" || j.Status == "Enqueued" {
				return false
			}
		}
		return true
	})
	for _, j := range list {
		switch j.Pipeline {
		case "customers":
			if j.Status != "Processed" {
				out, _, _ := erpipe(t, "jobs", "show", j.ID, "--workspace", ws)
				t.Errorf("%s: %s, want Processed:\n%s", j.Input, j.Status, out)
				continue
			}
			base := strings.TrimSuffix(j.Input, filepath.Ext(j.Input))
			t.Run(j.Input, func(t *testing.T) { checkPackage(t, filepath.Join(ws, "outbox", "customers", base+".zip"), 10) })
		case "strict":
			if j.Status != "Failed" {
				t.Errorf("strict/%s: %s, want Failed (refused whole)", j.Input, j.Status)
			}
			report := string(readFile(t, filepath.Join(ws, "errors", "strict", j.Input+".error.txt")))
			if !strings.Contains(report, refused[j.Input]) {
				t.Errorf("strict/%s: the report does not say %q:\n%s", j.Input, refused[j.Input], report)
			}
			if entries, _ := os.ReadDir(filepath.Join(ws, "outbox", "strict")); len(entries) != 0 {
				t.Errorf("strict/%s: something was delivered for a refused file", j.Input)
			}
		}
	}
	d.stop(t)
}
