package excel_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
)

// The smallest workbook Excel accepts, as another tool might write it: a
// shared-strings table, no styles, no theme. Its parts are stored, not
// deflated, so that fuzzed bytes reach the XML.
const (
	minContentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
		`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>` +
		`</Types>`
	minRels = `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
		`</Relationships>`
	minWorkbook = `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`
	minWorkbookRels = `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` +
		`</Relationships>`
	minSharedStrings = `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">` +
		`<si><t>Account</t></si><si><t>Contoso &amp; Co</t></si></sst>`
	minSheet = `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>Amount</t></is></c></row>` +
		`<row r="3"><c r="A3" t="s"><v>1</v></c><c r="B3"><v>12.50</v></c></row>` +
		`<row><c t="str"><v>next</v></c><c><f>1+1</f><v>2</v></c></row>` +
		`</sheetData></worksheet>`
)

// minimalXLSX returns a workbook whose only sheet, "Data", is sheetXML.
func minimalXLSX(t testing.TB, sheetXML []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, part := range []struct {
		name string
		data []byte
	}{
		{"[Content_Types].xml", []byte(minContentTypes)},
		{"_rels/.rels", []byte(minRels)},
		{"xl/workbook.xml", []byte(minWorkbook)},
		{"xl/_rels/workbook.xml.rels", []byte(minWorkbookRels)},
		{"xl/sharedStrings.xml", []byte(minSharedStrings)},
		{"xl/worksheets/sheet1.xml", sheetXML},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: part.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(part.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMinimalWorkbook(t *testing.T) {
	path := filepath.Join(t.TempDir(), "min.xlsx")
	if err := os.WriteFile(path, minimalXLSX(t, []byte(minSheet)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := excel.Open(path, excel.Options{File: "min.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Header(); !reflect.DeepEqual(got, []string{"Account", "Amount"}) {
		t.Errorf("Header = %q", got)
	}
	for _, w := range []formats.Record{
		{Pos: formats.Pos{File: "min.xlsx", Sheet: "Data", Row: 3}, Fields: []string{"Contoso & Co", "12.50"}},
		{Pos: formats.Pos{File: "min.xlsx", Sheet: "Data", Row: 4}, Fields: []string{"next", "2"}},
	} {
		rec, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rec, w) {
			t.Errorf("Read = %+v, want %+v", rec, w)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("Read = %v, want io.EOF", err)
	}
}
