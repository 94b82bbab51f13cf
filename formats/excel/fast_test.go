package excel_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
)

// The sheet scanner (scan.go, fast.go) must give exactly what excelize
// gives: these tests read the same sheets both ways and compare every
// call of the iterator (Next, then Columns), and every record and error
// of the Reader.

// corpus lists the workbooks of the repository: the templates' samples
// and test data, the end-to-end tests' (LibreOffice 7.4 files among
// them) and testdata/corpus (see its README.md).
func corpus(t testing.TB) []string {
	t.Helper()
	var list []string
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(strings.ToLower(d.Name()), ".xlsx") {
			list = append(list, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 15 {
		t.Fatalf("only %d workbooks in the corpus", len(list))
	}
	return list
}

// fallsBack lists the corpus's workbooks the scanner leaves to excelize,
// and why.
var fallsBack = map[string]string{}

// compareTraces reads the sheet both ways and fails on any difference;
// it returns how the scanner read it.
func compareTraces(t *testing.T, path, sheet string) string {
	t.Helper()
	slow, _, err := excel.RowsTrace(path, sheet, false, 2_000_000)
	if err != nil {
		t.Fatalf("%s, %s: excelize: %v", path, sheet, err)
	}
	fast, how, err := excel.RowsTrace(path, sheet, true, 2_000_000)
	if err != nil {
		t.Fatalf("%s, %s: scanner: %v", path, sheet, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		for i := 0; i < max(len(fast), len(slow)); i++ {
			var f, s string
			if i < len(fast) {
				f = fast[i]
			}
			if i < len(slow) {
				s = slow[i]
			}
			if f != s {
				t.Fatalf("%s, sheet %s, call %d (%s):\nscanner:  %s\nexcelize: %s", path, sheet, i+1, how, f, s)
			}
		}
	}
	return how
}

func TestScannerCorpus(t *testing.T) {
	cells := 0
	for _, path := range corpus(t) {
		sheets, err := excel.Sheets(path)
		if err != nil {
			t.Logf("%s: %v (left out)", path, err)
			continue
		}
		for _, sheet := range sheets {
			how := compareTraces(t, path, sheet)
			if how != "" && fallsBack[filepath.Base(path)] == "" {
				t.Errorf("%s, sheet %s: the scanner fell back to excelize (%s)", path, sheet, how)
			}
			tr, _, _ := excel.RowsTrace(path, sheet, true, 2_000_000)
			cells += len(tr)
		}
	}
	t.Logf("%d rows compared", cells)
}

// readAll reads every record and error of the sheet with the Reader.
func readAll(t *testing.T, path string, opts excel.Options) (out []string, how string) {
	t.Helper()
	r, err := excel.Open(path, opts)
	if err != nil {
		return []string{"open: " + err.Error()}, ""
	}
	defer r.Close()
	how = excel.FallBack(r)
	out = append(out, fmt.Sprintf("header %d %q above %v", r.HeaderRow(), r.Header(), r.Above()))
	var last error
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		out = append(out, fmt.Sprintf("%+v %v", rec, err))
		if err != nil {
			if last != nil && err.Error() == last.Error() {
				break
			}
			last = err
		}
	}
	how = excel.FallBack(r)
	if err := r.Close(); err != nil {
		out = append(out, "close: "+err.Error())
	}
	return out, how
}

// compareReaders reads the workbook with the scanner and with excelize.
func compareReaders(t *testing.T, path string, opts excel.Options) string {
	t.Helper()
	was := excel.SetFast(false)
	slow, _ := readAll(t, path, opts)
	excel.SetFast(true)
	fast, how := readAll(t, path, opts)
	excel.SetFast(was)
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("%s %+v: the Reader with the scanner (%s) gives\n%s\nwith excelize\n%s", path, opts, how,
			strings.Join(fast, "\n"), strings.Join(slow, "\n"))
	}
	return how
}

func TestScannerReaderCorpus(t *testing.T) {
	for _, path := range corpus(t) {
		sheets, err := excel.Sheets(path)
		if err != nil {
			compareReaders(t, path, excel.Options{File: filepath.Base(path)})
			continue
		}
		for i := range sheets {
			for _, header := range []int{0, 1, 2, 3} {
				compareReaders(t, path, excel.Options{File: filepath.Base(path), SheetIndex: i + 1, HeaderRow: header})
			}
		}
	}
}

// workbook returns a workbook whose only sheet, "Data", is sheetXML, with
// the shared strings sst (none when empty), stored so that the bytes
// are those given.
func workbook(t testing.TB, sheetXML, sst string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	rels := minWorkbookRels
	parts := []struct{ name, data string }{
		{"[Content_Types].xml", minContentTypes},
		{"_rels/.rels", minRels},
		{"xl/workbook.xml", minWorkbook},
		{"xl/_rels/workbook.xml.rels", rels},
		{"xl/worksheets/sheet1.xml", sheetXML},
	}
	if sst != "" {
		parts = append(parts, struct{ name, data string }{"xl/sharedStrings.xml", sst})
	}
	for _, part := range parts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: part.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, part.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	ns      = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	richSST = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<sst ` + ns + ` count="6" uniqueCount="6">` +
		`<si><t>Account</t></si>` +
		`<si><t xml:space="preserve">  Contoso &amp; Co  </t></si>` +
		`<si><r><rPr><b/><sz val="11"/><color theme="1"/><rFont val="Calibri"/></rPr><t>Rich </t></r><r><t xml:space="preserve">text</t></r></si>` +
		`<si><t>tab_x0009_escaped_x005F_x0041_</t><rPh sb="0" eb="1"><t>ignored</t></rPh><phoneticPr fontId="1"/></si>` +
		`<si><t/></si>` +
		`<si><t>line&#13;&#10;two` + "\r\n" + `three</t></si>` +
		`</sst>`
)

// sheetRows wraps rows in a worksheet.
func sheetRows(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet ` + ns + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<dimension ref="A1:C3"/><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>` +
		`<sheetData>` + rows + `</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`
}

var scannerCases = []struct {
	name  string
	sheet string
	sst   string
	fast  bool
}{
	{"shared strings", sheetRows(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row>` +
		`<row r="2"><c r="A2" t="s"><v> 1 </v></c><c r="B2" t="s"><v>99</v></c><c r="C2" t="s"><v>-1</v></c><c r="D2" t="s"><v>x</v></c><c r="E2" t="s"><v></v></c><c r="F2" t="s"><f>A1</f><v>77</v></c></row>`), richSST, true},
	{"no shared strings part", sheetRows(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1</v></c></row>`), "", true},
	{"inline strings", sheetRows(`<row r="1"><c r="A1" t="inlineStr"><is><t>plain</t></is></c><c r="B1" t="inlineStr"><is><t xml:space="preserve"> spaced </t></is></c>` +
		`<c r="C1" t="inlineStr"><is><r><rPr><b val="1"/><i/><sz val="10.5"/><color rgb="FF0000FF" tint="-0.25"/><family val="2"/><charset val="0"/><u val="single"/><vertAlign val="superscript"/><scheme val="minor"/></rPr><t>rich</t></r><r><t> run</t><t>last t wins</t></r></is></c>` +
		`<c r="D1" t="inlineStr"><is><t>first</t><t>second</t></is></c><c r="E1" t="inlineStr"><is/></c><c r="F1" t="inlineStr"><v>raw v</v></c>` +
		`<c r="G1" t="inlineStr"><is><t>_x0041__x005F_x0042_</t></is></c><c r="H1"><is><t>not inline</t></is><v>5</v></c></row>`), "", true},
	{"numbers", sheetRows(`<row r="1"><c r="A1"><v>1</v></c><c r="B1" t="n"><v>-0.5</v></c><c r="C1"><v>1.5E-7</v></c><c r="D1"><v>12345678901234567890</v></c><c r="E1"><v> 3 </v></c><c r="F1"><v>0.1000</v></c><c r="G1"><v>1e+300</v></c><c r="H1" s="3"><v>45321.5</v></c></row>`), "", true},
	{"booleans errors dates strings", sheetRows(`<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c><c r="C1" t="e"><v>#N/A</v></c><c r="D1" t="e"><v>#DIV/0!</v></c><c r="E1" t="d"><v>2024-01-30T00:00:00Z</v></c><c r="F1" t="str"><v>_x0041_ str</v></c><c r="G1" s="14"><v>45321</v></c></row>`), "", true},
	{"formulas", sheetRows(`<row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="str"><f aca="false">"a"&amp;"b"</f><v>ab</v></c><c r="C1"><f t="shared" ref="C1:C3" si="0">A1*2</f><v>4</v></c><c r="D1"><f>NA()</f></c><c r="E1" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="F1"><f ca="1"/></c></row>` +
		`<row r="2"><c r="C2"><f t="shared" si="0"/><v>4</v></c></row>`), "", true},
	{"empty and sparse", sheetRows(`<row r="1"><c r="A1" s="1"/><c r="C1"><v>c</v></c><c r="E1" s="2"></c></row><row r="2"/><row r="4" spans="1:3"><c r="B4"><v></v></c></row><row r="7"><c r="Z7"><v>z</v></c></row><row r="8"></row>`), "", true},
	{"no r attributes", sheetRows(`<row><c><v>1</v></c><c><v>2</v></c><c r="E1"><v>5</v></c><c><v>6</v></c></row><row><c t="inlineStr"><is><t>b</t></is></c></row><row r="5"><c/><c><v>x</v></c></row><row><c><v>6</v></c></row>`), "", true},
	{"entities and references", sheetRows(`<row r="1"><c r="A1" t="inlineStr"><is><t>&lt;&gt;&amp;&apos;&quot; &#65;&#x42;&#x1F600; &#xD800; tab&#9;</t></is></c><c r="B1" t="inlineStr"><is><t>a` + "\r\n" + `b` + "\r" + `c</t></is></c><c r="C1" t="inlineStr"><is><t><![CDATA[<cdata> & ]]></t></is></c><c r="D1" t="inlineStr"><is><t>été 😀 日本</t></is></c><c r="E1" t="str"><v>v&#13;</v></c></row>`), "", true},
	{"prefixes", `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>pre</x:t></x:is></x:c><x:c r="B1"><x:v>1</x:v></x:c></x:row><x:row r="2"><x:c r="A2" t="s"><x:v>0</x:v></x:c></x:row></x:sheetData></x:worksheet>`, richSST, true},
	{"attributes", sheetRows(`<row r='1' spans="1:2" ht="15" customHeight="1" x14ac:dyDescent="0.25" xmlns:x14ac="urn:x"><c r = 'A1' s="0" t = "n" ><v>1</v></c><c r="B1"t="str"><v>no space</v></c><c r="b1" t="str"><v>lower</v></c><c r="$C$1" t="str"><v>dollars</v></c></row>`), "", true},
	{"wide row", sheetRows(`<row r="1"><c r="A1"><v>a</v></c><c r="XFD1"><v>last</v></c></row><row r="2">` + strings.Repeat(`<c><v>9</v></c>`, 3000) + `</row>`), "", true},
	{"white space and comments before rows", "\ufeff" + `<?xml version="1.0" encoding="utf-8"?>` + "\n<!-- made by hand -->\n" + `<worksheet ` + ns + `>` + "\n  <sheetData>\n    " + `<row r="1">` + "\n      " + `<c r="A1"><v>1</v></c>` + "\n    </row>\n  </sheetData>\n</worksheet>\n", "", true},
	{"no rows", sheetRows(``), "", true},
	{"empty sheetData", `<worksheet ` + ns + `><sheetData/></worksheet>`, "", true},
	{"mergeCells after", sheetRows(`<row r="1"><c r="A1"><v>1</v></c></row>`) + `<!-- trailing -->`, "", true},

	// What the scanner leaves to excelize.
	{"rows out of order", sheetRows(`<row r="2"><c r="A2"><v>2</v></c></row><row r="1"><c r="A1"><v>1</v></c></row>`), "", false},
	{"cells out of order", sheetRows(`<row r="1"><c r="C1"><v>3</v></c><c r="A1"><v>1</v></c></row>`), "", true},
	{"comment in a row", sheetRows(`<row r="1"><!-- x --><c r="A1"><v>1</v></c></row>`), "", false},
	{"element in a cell", sheetRows(`<row r="1"><c r="A1"><extLst/><v>1</v></c></row>`), "", false},
	{"bad cell reference", sheetRows(`<row r="1"><c r="1A"><v>1</v></c></row>`), "", false},
	{"bad style", sheetRows(`<row r="1"><c r="A1" s="x"><v>1</v></c><c r="B1"><v>2</v></c></row>`), "", false},
	{"bad row number", sheetRows(`<row r="x"><c r="A1"><v>1</v></c></row>`), "", false},
	{"row past the last", sheetRows(`<row r="1048577"><c r="A1"><v>1</v></c></row>`), "", false},
	{"unknown entity", sheetRows(`<row r="1"><c r="A1" t="str"><v>&nbsp;</v></c></row>`), "", false},
	{"mismatched tags", sheetRows(`<row r="1"><c r="A1"><v>1</c></v></row><row r="2"><c r="A2"><v>2</v></c></row>`), "", false},
	{"truncated", sheetRows(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2`)[:len(sheetRows(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2`))-120], "", false},
	{"invalid UTF-8", sheetRows(`<row r="1"><c r="A1" t="str"><v>a` + "\xff" + `</v></c></row>`), "", false},
	{"control character", sheetRows(`<row r="1"><c r="A1" t="str"><v>a` + "\x01" + `</v></c></row>`), "", false},
	{"row after sheetData", sheetRows(`<row r="1"><c r="A1"><v>1</v></c></row>`)[:0] + `<worksheet ` + ns + `><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><extLst><row r="5"><c r="A5"><v>5</v></c></row></extLst></worksheet>`, "", false},
	{"bad run property", sheetRows(`<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><b val="maybe"/></rPr><t>x</t></r></is></c><c r="B1"><v>2</v></c></row>`), "", false},
	{"bad formula index", sheetRows(`<row r="1"><c r="A1"><f si="x">1</f><v>1</v></c><c r="B1"><v>2</v></c></row>`), "", false},
	{"other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><worksheet ` + ns + `><sheetData><row r="1"><c r="A1" t="str"><v>caf` + "\xe9" + `</v></c></row></sheetData></worksheet>`, "", false},
	{"strict namespace shared strings", sheetRows(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`), `<sst xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><si><t>strict</t></si></sst>`, false},
	{"bad shared strings", sheetRows(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`), `<sst ` + ns + `><si><t>unclosed</si></sst>`, false},
}

// TestScannerCells: every kind of cell, read as excelize reads it; the
// last column says whether the scanner reads the sheet itself.
func TestScannerCells(t *testing.T) {
	for _, c := range scannerCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "book.xlsx")
			if err := os.WriteFile(path, workbook(t, c.sheet, c.sst), 0o644); err != nil {
				t.Fatal(err)
			}
			how := compareTraces(t, path, "Data")
			if fast := how == ""; fast != c.fast {
				t.Errorf("read by the scanner: %v (%s), want %v", fast, how, c.fast)
			}
			compareReaders(t, path, excel.Options{File: "book.xlsx"})
		})
	}
}

// TestScannerFallsBack: a sheet the scanner stops reading half way is
// read on by excelize from the same row, with the same records and
// errors, and the Reader says it fell back.
func TestScannerFallsBack(t *testing.T) {
	rows := `<row r="1"><c r="A1" t="inlineStr"><is><t>Account</t></is></c><c r="B1" t="inlineStr"><is><t>Amount</t></is></c></row>`
	for i := 2; i < 2000; i++ {
		rows += fmt.Sprintf(`<row r="%d"><c r="A%d" t="inlineStr"><is><t>C-%d</t></is></c><c r="B%d"><v>%d.5</v></c></row>`, i, i, i, i, i)
	}
	rows += `<row r="2000"><c r="A2000" t="str"><v>odd<!-- a comment --></v></c><c r="C2000"><v>beyond</v></c></row><row r="2001"><c r="A2001"><v>last</v></c></row>`
	path := filepath.Join(t.TempDir(), "book.xlsx")
	if err := os.WriteFile(path, workbook(t, sheetRows(rows), ""), 0o644); err != nil {
		t.Fatal(err)
	}
	how := compareReaders(t, path, excel.Options{File: "book.xlsx"})
	if !strings.HasPrefix(how, "fell back: ") || !strings.Contains(how, "markup in text") {
		t.Errorf("FallBack = %q, want a fall back for the comment", how)
	}
	r, err := excel.Open(path, excel.Options{File: "book.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if how := excel.FallBack(r); how != "" {
		t.Errorf("FallBack after Open = %q, want the scanner", how)
	}
	n := 0
	var perr *formats.ParseError
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil && !(errorsAs(err, &perr) && perr.Pos.Row == 2000 && perr.Pos.Col == 3) {
			t.Fatalf("Read: %v", err)
		}
		n++
		_ = rec
	}
	if n != 2000 {
		t.Errorf("%d records, want 2000", n)
	}
}

// TestScannerExcelizeBooks: workbooks excelize writes, with every kind
// of value, and a large one that spans many of the scanner's buffers.
func TestScannerExcelizeBooks(t *testing.T) {
	dir := t.TempDir()
	rows := map[int][]any{1: {"Account", "Amount", "Date", "Flag", "Note"}}
	for i := 2; i < 30000; i++ {
		rows[i] = []any{fmt.Sprintf("C-%05d", i), float64(i) / 8, i%7 == 0, strings.Repeat("é&<", i%5), -i}
	}
	path := book(t, dir, sheet{"Big", rows})
	if how := compareTraces(t, path, "Big"); how != "" {
		t.Errorf("the scanner fell back: %s", how)
	}
	compareReaders(t, path, excel.Options{File: "book.xlsx"})
}

func errorsAs(err error, target **formats.ParseError) bool {
	pe, ok := err.(*formats.ParseError)
	if ok {
		*target = pe
	}
	return ok
}

// FuzzScanner compares the scanner with excelize on fuzzed sheets (and
// shared strings): every call of the iterator must give the same, and
// the Reader the same records and errors; and the scanner must give the
// same with a tiny buffer filled 3 bytes at a time.
func FuzzScanner(f *testing.F) {
	for _, c := range scannerCases {
		if len(c.sheet) < 4096 { // the fuzzer would spend its time minimising
			f.Add([]byte(c.sheet), c.sst != "")
		}
	}
	f.Add([]byte(minSheet), true)
	f.Fuzz(func(t *testing.T, sheetXML []byte, withSST bool) {
		sst := ""
		if withSST {
			sst = richSST
		}
		path := filepath.Join(t.TempDir(), "book.xlsx")
		if err := os.WriteFile(path, workbook(t, string(sheetXML), sst), 0o644); err != nil {
			t.Fatal(err)
		}
		slow, _, err := excel.RowsTrace(path, "Data", false, 5000)
		if err != nil {
			return // excelize can't open it: nor does the Reader
		}
		fast, how, err := excel.RowsTrace(path, "Data", true, 5000)
		if err != nil {
			t.Fatalf("scanner: %v", err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("the scanner (%s) gives\n%s\nexcelize\n%s", how, strings.Join(fast, "\n"), strings.Join(slow, "\n"))
		}
		if len(slow) < 5000 {
			compareReaders(t, path, excel.Options{File: "book.xlsx"})
		}
		if len(sheetXML) < 64<<10 { // cut by the ends of a small buffer
			whole := excel.ScanTrace(sheetXML, []byte(sst), 1<<20, 0)
			if cut := excel.ScanTrace(sheetXML, []byte(sst), 16, 3); !reflect.DeepEqual(cut, whole) {
				t.Fatalf("read 3 bytes at a time:\n%s\nat once:\n%s", strings.Join(cut, "\n"), strings.Join(whole, "\n"))
			}
		}
	})
}

// TestScannerBufferEnds: the scanner gives the same whatever the size of
// its buffer and of the reads of the inflated sheet, so that a row, a tag,
// an entity or a character cut by the end of the buffer is read again
// whole: every sheet of TestScannerCells, read one byte at a time (a few
// at a time for the large ones) into buffers that start small, against
// the same read at once.
func TestScannerBufferEnds(t *testing.T) {
	for _, c := range scannerCases {
		want := excel.ScanTrace([]byte(c.sheet), []byte(c.sst), 1<<20, 0)
		chunk := 1
		if len(c.sheet) > 8<<10 {
			chunk = 997
		}
		for _, size := range []int{16, 100, 4096} {
			got := excel.ScanTrace([]byte(c.sheet), []byte(c.sst), size, chunk)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, buffer %d, %d bytes at a time:\n%s\nat once:\n%s", c.name, size,
					chunk, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
}

// TestScannerLargeSharedStrings: a table of shared strings larger than
// excelize's UnzipXMLSizeLimit (16 MiB unpacked), which excelize reads
// from a temporary file in its own way, is read as excelize reads it.
func TestScannerLargeSharedStrings(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 17 MB workbook")
	}
	var sst strings.Builder
	sst.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sst ` + ns + `>`)
	const n = 600_000
	for i := 0; i < n; i++ {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&sst, `<si><t>string %d</t></si>`, i)
		case 1:
			fmt.Fprintf(&sst, `<si><r><rPr><b/></rPr><t>rich</t></r><r><t xml:space="preserve"> %d</t></r></si>`, i)
		case 2:
			fmt.Fprintf(&sst, `<si><t>_x0041_ &amp; %d</t><rPh sb="0" eb="1"><t>x</t></rPh></si>`, i)
		default:
			sst.WriteString(`<si><t/></si>`)
		}
	}
	sst.WriteString(`</sst>`)
	if sst.Len() <= 16<<20 {
		t.Fatalf("the table is only %d bytes", sst.Len())
	}
	var rows strings.Builder
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&rows, `<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d" t="s"><v>%d</v></c><c r="C%d" t="s"><v>%d</v></c></row>`,
			i, i, i*2999%n, i, n-i, i, n+i)
	}
	path := filepath.Join(t.TempDir(), "book.xlsx")
	if err := os.WriteFile(path, workbook(t, sheetRows(rows.String()), sst.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if how := compareTraces(t, path, "Data"); how != "" {
		t.Errorf("the scanner did not read the sheet: %s", how)
	}
}

// workbookTrace reads a sheet with OpenWorkbook, or with excelize, as the
// DMF reader does: Next, then Columns with opts.
func workbookTrace(t *testing.T, path, sheet string, fast bool, opts ...excelize.Options) (trace []string, how string) {
	t.Helper()
	was := excel.SetFast(fast)
	defer excel.SetFast(was)
	w, err := excel.OpenWorkbook(path, excelize.Options{TmpDir: t.TempDir()})
	if err != nil {
		return []string{"open: " + err.Error()}, ""
	}
	defer w.Close()
	trace = append(trace, fmt.Sprint(w.Sheets()))
	rows, err := w.Rows(sheet)
	if err != nil {
		return append(trace, "rows: "+err.Error()), ""
	}
	defer rows.Close()
	for rows.Next() {
		cols, err := rows.Columns(opts...)
		trace = append(trace, fmt.Sprintf("%q %v", cols, err))
	}
	return append(trace, fmt.Sprint("end ", rows.Error())), excel.HowRows(rows)
}

// TestWorkbookRows: OpenWorkbook reads what excelize reads, raw values
// by the scanner and formatted ones by excelize.
func TestWorkbookRows(t *testing.T) {
	for _, path := range corpus(t) {
		sheets, err := excel.Sheets(path)
		if err != nil {
			continue
		}
		for _, sheet := range append(sheets, "No such sheet") {
			for _, opts := range [][]excelize.Options{{{RawCellValue: true}}, nil} {
				fast, how := workbookTrace(t, path, sheet, true, opts...)
				slow, _ := workbookTrace(t, path, sheet, false, opts...)
				if raw := opts != nil; raw && how != "" && sheet != "No such sheet" {
					t.Errorf("%s, sheet %s: raw values not read by the scanner (%s)", path, sheet, how)
				}
				if !reflect.DeepEqual(fast, slow) {
					t.Errorf("%s, sheet %s, options %+v:\n%s\nexcelize:\n%s", path, sheet, opts,
						strings.Join(fast, "\n"), strings.Join(slow, "\n"))
				}
			}
		}
	}
}

// TestScannerLeavesOutPictures: excelize's copy of a workbook holds
// neither its sheets (stubs) nor its shared strings nor its pictures,
// which it would keep in memory for nothing.
func TestScannerLeavesOutPictures(t *testing.T) {
	f := excelize.NewFile()
	f.SetCellStr("Sheet1", "A1", "Account")
	f.SetCellStr("Sheet1", "A2", "C-1")
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	if err := f.AddPictureFromBytes("Sheet1", "C3", &excelize.Picture{Extension: ".png", File: pic.Bytes()}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "book.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	parts := excel.StubParts(path)
	if len(parts) == 0 {
		t.Fatal("the scanner does not open the workbook")
	}
	for _, p := range parts {
		if strings.HasPrefix(p, "xl/media/") || p == "xl/sharedStrings.xml" ||
			strings.HasPrefix(p, "xl/worksheets/sheet") && !strings.HasSuffix(p, "(stub)") {
			t.Errorf("excelize's copy holds %s: %q", p, parts)
		}
	}
	compareReaders(t, path, excel.Options{File: "book.xlsx"})
	if how := compareTraces(t, path, "Sheet1"); how != "" {
		t.Errorf("the scanner fell back: %s", how)
	}
}
