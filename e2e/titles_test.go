package e2e

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// titleSample is the customers-v3 sample as rows of cells, its third
// customer's currency made wrong.
func titleSample(t *testing.T) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(readFile(t, "../templates/customers-v3/samples/customers.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows[3][3] = "EURO"
	return rows
}

// TestTitleRowsTransform runs erpipe transform on exports with a title
// above the header: a CSV file with a title and a blank line, and a
// workbook with the title merged across the columns and each run of a
// customer group merged down. The header is found, the job says which
// rows were skipped and how to say so in the template, the rows are
// imported with their values (merged cells as Excel shows them), and the
// rejected row is named by its row in the file. The package is the one
// the same rows make without a title.
func TestTitleRowsTransform(t *testing.T) {
	rows := titleSample(t)
	dir := t.TempDir()

	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.csv")
	writeFile(t, plain, b.Bytes())
	titleCSV := filepath.Join(dir, "title.csv")
	writeFile(t, titleCSV, append([]byte("Customer list exported 2026-12-01,,,\r\n,,,\r\n"), b.Bytes()...))
	out := t.TempDir()
	// Exit 1: a row is rejected.
	if stdout, stderr, code := erpipe(t, "transform", "-t", "customers-v3", "--out", out, plain); code != 1 || strings.Contains(stderr, "header") {
		t.Fatalf("without a title: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	want := utf16(t, unzip(t, filepath.Join(out, "plain.zip"))["Customers V3.csv"])

	f := excelize.NewFile()
	defer f.Close()
	f.SetCellValue("Sheet1", "A1", "Customer list exported 2026-12-01")
	last, _ := excelize.ColumnNumberToName(len(rows[0]))
	if err := f.MergeCell("Sheet1", "A1", last+"1"); err != nil {
		t.Fatal(err)
	}
	group := -1
	for i, h := range rows[0] {
		if h == "Customer group" {
			group = i
		}
	}
	for i, row := range rows {
		cells := make([]any, len(row))
		for j, v := range row {
			cells[j] = v
		}
		if i > 1 && row[group] == rows[i-1][group] {
			cells[group] = nil // merged into the cell above
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+3)
		if err := f.SetSheetRow("Sheet1", cell, &cells); err != nil {
			t.Fatal(err)
		}
	}
	col, _ := excelize.ColumnNumberToName(group + 1)
	for start := 1; start < len(rows); {
		end := start
		for end+1 < len(rows) && rows[end+1][group] == rows[start][group] {
			end++
		}
		if end > start {
			if err := f.MergeCell("Sheet1", col+strconv.Itoa(start+3), col+strconv.Itoa(end+3)); err != nil {
				t.Fatal(err)
			}
		}
		start = end + 1
	}
	titleXLSX := filepath.Join(dir, "title.xlsx")
	if err := f.SaveAs(titleXLSX); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		input, key, rejected string
	}{
		{titleCSV, "input.csv.header_row", `title.csv: row 6 column 4 ("Currency")`},
		{titleXLSX, "input.xlsx.header_row", `title.xlsx: sheet "Sheet1" row 6 column D ("Currency")`},
	} {
		t.Run(filepath.Ext(tc.input), func(t *testing.T) {
			out := t.TempDir()
			stdout, stderr, code := erpipe(t, "transform", "-t", "customers-v3", "--out", out, tc.input)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (a row rejected)\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			name := filepath.Base(tc.input)
			contains(t, "stdout", stdout, "10 read, 9 written, 1 rejected")
			contains(t, "stderr", stderr,
				name+`: `+map[bool]string{true: `sheet "Sheet1" `}[strings.HasSuffix(name, ".xlsx")]+
					`row 3: warning: the header is on row 3; rows 1-2 were skipped: "Customer list exported 2026-12-01". Fix: set `+tc.key+`: 3 in the template to say so`,
				tc.rejected)
			stem := strings.TrimSuffix(name, filepath.Ext(name))
			checkPackage(t, filepath.Join(out, stem+".zip"), 9)
			// Every customer has its group, merged or not.
			if got := utf16(t, unzip(t, filepath.Join(out, stem+".zip"))["Customers V3.csv"]); got != want {
				t.Errorf("Customers V3.csv:\n%s\nwant, as without a title:\n%s", got, want)
			}
		})
	}
}
