package dmf_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// customers is the CSV-Unicode entity of the golden packages. It comes
// second in manifest order (level 20), though first in the slice.
var customers = dmf.Entity{
	Name:    "Customers V3",
	Target:  "CustCustomerV3Entity",
	Columns: []string{"CUSTOMERACCOUNT", "ORGANIZATIONNAME", "CREDITLIMIT"},
	Level:   20,
}

var customerRows = [][]string{
	{"US-001", "Contoso, Ltd.", "1000.50"},
	{"US-002", `Fabrikam "Europe"`, "0"},
	{"US-003", "Line 1\nLine 2", ""},
	{"DE-004", "Müller & Söhne <GmbH>", "-12.345"},
	{"DE-005", " padded ", "7"},
}

// countries is the other entity, written in each format in turn.
func countries(format string) dmf.Entity {
	return dmf.Entity{
		Name:          "Country/regions",
		Target:        "LogisticsAddressCountryRegionEntity",
		Columns:       []string{"COUNTRYREGION", "DESCRIPTION", "ISOCODE"},
		SourceFormat:  format,
		ExecutionUnit: 1,
		Level:         10,
		Sequence:      10,
	}
}

var countryRows = [][]string{
	{"NOR", "Norway", "NO"},
	{"SWE", "Sweden\tSverige", "SE"},
	{"X&Y", `"quoted" <tag> 'apos'`, ""},
}

var otherFormats = []struct {
	format string
	file   string // data file name of countries
	golden string // golden of that data file; "" for EXCEL
}{
	{dmf.CSV, "Countryregions.csv", "data_csv.golden"},
	{dmf.XMLElement, "Countryregions.xml", "data_xml_element.golden"},
	{dmf.XMLAttribute, "Countryregions.xml", "data_xml_attribute.golden"},
	{dmf.Excel, "Countryregions.xlsx", ""},
}

func goldenPackage(t *testing.T, format string) string {
	return writePackage(t, dmf.Options{DefinitionGroup: "Customers and countries"},
		[]dmf.Entity{customers, countries(format)}, [][][]string{customerRows, countryRows})
}

func TestGolden(t *testing.T) {
	for _, tc := range otherFormats {
		t.Run(tc.format, func(t *testing.T) {
			files, data := zipEntries(t, goldenPackage(t, tc.format))
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
			}
			want := []string{tc.file, "Customers V3.csv", "Manifest.xml", "PackageHeader.xml"}
			if !slices.Equal(names, want) {
				t.Fatalf("entries %q, want %q", names, want)
			}
			checkGolden(t, "manifest_"+strings.ToLower(tc.format)+".xml.utf16", data["Manifest.xml"])
			checkGolden(t, "header.xml.utf16", data["PackageHeader.xml"])
			checkGolden(t, "data_csv_unicode.golden.utf16", data["Customers V3.csv"])
			if tc.golden != "" {
				checkGolden(t, tc.golden, data[tc.file])
			}
		})
	}
}

// TestMatchesMicrosoftSample writes the package of Microsoft's 2017 sample
// and compares Manifest.xml and PackageHeader.xml byte for byte, after
// taking out what PackageVersion 2 adds.
func TestMatchesMicrosoftSample(t *testing.T) {
	_, sample := zipEntries(t, filepath.Join("testdata", "usmf_asset-major-types-01.zip"))
	path := writePackage(t, dmf.Options{DefinitionGroup: "Asset-Major-Types"},
		[]dmf.Entity{{Name: "Fixed asset major type", Columns: []string{"DESCRIPTION", "MAJORTYPEID"}, SourceFormat: dmf.Excel}},
		[][][]string{{{"Computer hardware", "COMP"}}})
	files, got := zipEntries(t, path)
	if files[0].Name != "Fixed asset major type.xlsx" {
		t.Errorf("first entry %q, want the data file", files[0].Name)
	}

	manifest := fromUTF16(t, got["Manifest.xml"])
	for _, v2 := range []string{
		"<Disable>false</Disable>",
		`<QueryFilter i:nil="true" />`,
		"<TargetEntity />",
		`<ProjectCategory>0</ProjectCategory><RulesData i:nil="true" />`,
	} {
		if !strings.Contains(manifest, v2) {
			t.Errorf("manifest lacks %s", v2)
		}
		manifest = strings.Replace(manifest, v2, "", 1)
	}
	manifest = strings.Replace(manifest, "<ExcelSheetName>Fixed_asset_major_type$</ExcelSheetName>", "<ExcelSheetName />", 1)
	if b := []byte(toUTF16LE(manifest)); !bytes.Equal(b, sample["Manifest.xml"]) {
		t.Errorf("manifest, v2 parts removed, differs from the sample\n got: %s\nwant: %s", manifest, fromUTF16(t, sample["Manifest.xml"]))
	}

	header := strings.Replace(fromUTF16(t, got["PackageHeader.xml"]), "<PackageVersion>2</PackageVersion>", "<PackageVersion>1</PackageVersion>", 1)
	if b := []byte(toUTF16LE(header)); !bytes.Equal(b, sample["PackageHeader.xml"]) {
		t.Errorf("header differs from the sample\n got: %s\nwant: %s", header, fromUTF16(t, sample["PackageHeader.xml"]))
	}
}

func TestZipLayout(t *testing.T) {
	cases := []struct {
		name     string
		entities []dmf.Entity
		rows     [][][]string
		want     []string
	}{
		{"one CSV-Unicode entity streamed", []dmf.Entity{customers}, [][][]string{customerRows},
			[]string{"Customers V3.csv", "Manifest.xml", "PackageHeader.xml"}},
		{"one EXCEL entity", []dmf.Entity{countries(dmf.Excel)}, [][][]string{countryRows},
			[]string{"Countryregions.xlsx", "Manifest.xml", "PackageHeader.xml"}},
		{"one XML entity, no rows", []dmf.Entity{countries(dmf.XMLElement)}, [][][]string{nil},
			[]string{"Countryregions.xml", "Manifest.xml", "PackageHeader.xml"}},
		{"three entities sorted by unit, level, sequence", []dmf.Entity{
			{Name: "C", Columns: []string{"X"}, ExecutionUnit: 2},
			{Name: "B", Columns: []string{"X"}, Level: 2},
			{Name: "A", Columns: []string{"X"}, Level: 2},
			{Name: "D", Columns: []string{"X"}, Sequence: 1},
		}, [][][]string{{{"c"}}, {{"b"}}, {{"a"}}, {{"d"}}},
			[]string{"D.csv", "B.csv", "A.csv", "C.csv", "Manifest.xml", "PackageHeader.xml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files, _ := zipEntries(t, writePackage(t, dmf.Options{DefinitionGroup: "G"}, tc.entities, tc.rows))
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
				if strings.ContainsAny(f.Name, `/\`) || f.FileInfo().IsDir() {
					t.Errorf("entry %q is in a folder or is one", f.Name)
				}
				if f.Method != zip.Deflate {
					t.Errorf("entry %q has method %d, want Deflate", f.Name, f.Method)
				}
				if f.CreatorVersion>>8 != 0 {
					t.Errorf("entry %q was made on system %d, want 0 (MS-DOS)", f.Name, f.CreatorVersion>>8)
				}
				if !f.Modified.Equal(fixedTime) {
					t.Errorf("entry %q modified %v, want %v", f.Name, f.Modified, fixedTime)
				}
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("entries %q, want %q", names, tc.want)
			}
		})
	}
}

// TestDocumentShape checks what D365 writes: UTF-16 LE with BOM, no
// declaration, one line, the namespaces, and elements in alphabetical
// order at every level.
func TestDocumentShape(t *testing.T) {
	for _, tc := range otherFormats {
		_, data := zipEntries(t, goldenPackage(t, tc.format))
		for _, name := range []string{"Manifest.xml", "PackageHeader.xml"} {
			b := data[name]
			if !bytes.HasPrefix(b, []byte{0xFF, 0xFE, '<', 0}) {
				t.Errorf("%s %s does not start with a UTF-16 LE BOM and '<': % x", tc.format, name, b[:min(len(b), 4)])
			}
			text := fromUTF16(t, b)
			if strings.ContainsAny(text, "\r\n") || strings.Contains(text, "<?xml") {
				t.Errorf("%s %s has a line break or an XML declaration", tc.format, name)
			}
			for _, ns := range []string{`xmlns:i="http://www.w3.org/2001/XMLSchema-instance"`, `xmlns="http://schemas.microsoft.com/dynamics/2015/01/DataManagement"`} {
				if !strings.Contains(text, ns) {
					t.Errorf("%s %s lacks %s", tc.format, name, ns)
				}
			}
			checkAlphabetical(t, name, text)
		}
	}
}

// checkAlphabetical walks an XML document and fails when the children of
// an element are not in alphabetical order (repeats allowed).
func checkAlphabetical(t *testing.T, name, text string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(text))
	type level struct {
		path string
		last string
		n    int
	}
	stack := []level{{path: name}}
	elements := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			elements++
			top := &stack[len(stack)-1]
			if tok.Name.Local < top.last {
				t.Errorf("%s: in %s, <%s> comes after <%s>", name, top.path, tok.Name.Local, top.last)
			}
			top.last = tok.Name.Local
			top.n++
			stack = append(stack, level{path: top.path + "/" + tok.Name.Local})
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if elements < 5 {
		t.Errorf("%s: only %d elements walked", name, elements)
	}
}

func TestExcelDataFile(t *testing.T) {
	e := countries(dmf.Excel)
	e.Name = "Address and contact information purpose" // longer than 30
	path := writePackage(t, dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{e}, [][][]string{countryRows})
	_, data := zipEntries(t, path)
	xlsx := filepath.Join(t.TempDir(), "data.xlsx")
	if err := os.WriteFile(xlsx, data["Address and contact information purpose.xlsx"], 0o644); err != nil {
		t.Fatal(err)
	}
	const sheet = "Address_and_contact_informatio"
	if !strings.Contains(fromUTF16(t, data["Manifest.xml"]), "<ExcelSheetName>"+sheet+"$</ExcelSheetName>") {
		t.Errorf("manifest lacks ExcelSheetName %s$", sheet)
	}

	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{sheet}) {
		t.Errorf("sheets %q, want [%q]", got, sheet)
	}
	names := f.GetDefinedName()
	if len(names) != 1 || names[0].Name != sheet || names[0].RefersTo != "'"+sheet+"'!$A$1:$C$1" {
		t.Errorf("defined names %+v, want %s = '%s'!$A$1:$C$1", names, sheet, sheet)
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	want := append([][]string{e.Columns}, countryRows...)
	want[3] = want[3][:2] // GetRows drops trailing empty cells
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows %q, want %q", rows, want)
	}

	// Every cell is an inline string; there is no shared string table.
	zr, err := zip.OpenReader(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if strings.Contains(strings.ToLower(zf.Name), "sharedstrings") {
			t.Errorf("workbook has %s", zf.Name)
		}
		if zf.Name != "xl/worksheets/sheet1.xml" {
			continue
		}
		rc, _ := zf.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if cells, inline := bytes.Count(b, []byte("<c ")), bytes.Count(b, []byte(`t="inlineStr"`)); cells != 12 || inline != cells {
			t.Errorf("sheet has %d cells, %d inline strings; want 12 and 12", cells, inline)
		}
	}
}

func TestNewWriterRefuses(t *testing.T) {
	ok := dmf.Entity{Name: "Customers V3", Columns: []string{"A"}}
	cases := []struct {
		name     string
		opts     dmf.Options
		entities []dmf.Entity
		want     []string // substrings of the error
	}{
		{"no definition group", dmf.Options{}, []dmf.Entity{ok}, []string{"DefinitionGroup is empty"}},
		{"no entities", dmf.Options{DefinitionGroup: "G"}, nil, []string{"at least one entity"}},
		{"no name", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Columns: []string{"A"}}}, []string{"entity 1", "Name is empty"}},
		{"no columns", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "X"}}, []string{`entity 1 ("X")`, "Columns is empty"}},
		{"duplicate column", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "X", Columns: []string{"A", "B", "a"}}}, []string{`column "a" appears twice (columns 1 and 3)`}},
		{"blank column", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "X", Columns: []string{"A", " "}}}, []string{"column 2 has no name"}},
		{"unknown format", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "X", Columns: []string{"A"}, SourceFormat: "TSV"}},
			[]string{`unknown SourceFormat "TSV"`, "CSV-Unicode, CSV, XML-Element, XML-Attribute, EXCEL"}},
		{"same file name", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{ok, {Name: "Customers/V3", Columns: []string{"A"}}, {Name: "customers v3", Columns: []string{"A"}}},
			[]string{`entity 3 ("customers v3"): its data file "customers v3.csv" has the same name as the one of entity 1 ("Customers V3")`}},
		{"same label, different format", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{ok, {Name: "Customers V3", Columns: []string{"A"}, SourceFormat: dmf.Excel}},
			[]string{`entity 2 ("Customers V3"): entity 1 has the same label`}},
		{"valid", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{ok, {Name: "Customers V2", Target: "T", Columns: []string{"A", "XMLFIELD"}, SourceFormat: dmf.XMLElement}}, nil},
		{"reserved file name", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "Manifest", Target: "T", Columns: []string{"A"}, SourceFormat: dmf.XMLElement}},
			[]string{`"Manifest.xml", which is reserved`}},
		{"label of only forbidden characters", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "//", Columns: []string{"A"}}}, []string{"nothing is left of the label"}},
		{"XML without target", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "X", Columns: []string{"A"}, SourceFormat: dmf.XMLAttribute}}, []string{"Target is empty"}},
		{"XML column not a name", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "X", Target: "T", Columns: []string{"1A"}, SourceFormat: dmf.XMLElement}}, []string{`column "1A" is not usable as an XML name`}},
		{"control character in label", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "X\x01", Columns: []string{"A"}}}, []string{"U+0001"}},
		{"negative level", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "X", Columns: []string{"A"}, Level: -1}}, []string{"must not be negative"}},
		{"sheet name not a defined name", dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{{Name: "1099 vendors", Columns: []string{"A"}, SourceFormat: dmf.Excel}},
			[]string{`entity 1 ("1099 vendors"): sheet name "1099_vendors" can't be an Excel defined name`}},
		{"several problems at once", dmf.Options{}, []dmf.Entity{{Name: "X"}, {Columns: []string{"A"}}}, []string{"DefinitionGroup is empty", "Columns is empty", "Name is empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := dmf.NewWriter(io.Discard, dmf.Options{DefinitionGroup: tc.opts.DefinitionGroup, TempDir: dir}, tc.entities)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("NewWriter: %v", err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				w.Close()
				t.Fatalf("NewWriter succeeded, want an error with %q", tc.want)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			assertEmptyDir(t, dir)
		})
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("temporary file %s left behind", e.Name())
	}
}

func TestWriteRefusesRow(t *testing.T) {
	entities := []dmf.Entity{
		{Name: "Plain", Columns: []string{"A", "B"}},
		{Name: "Xml", Target: "T", Columns: []string{"A"}, SourceFormat: dmf.XMLElement},
		{Name: "Sheet", Columns: []string{"A"}, SourceFormat: dmf.Excel},
	}
	cases := []struct {
		name   string
		entity int
		values []string
		want   string
	}{
		{"too few values", 0, []string{"a"}, `entity "Plain" row 2: 1 values for 2 columns`},
		{"invalid UTF-8", 0, []string{"a", "\xff"}, `entity "Plain" row 2 column 2 (B): the value is not valid UTF-8`},
		{"control character in XML", 1, []string{"a\x0bb"}, `entity "Xml" row 1 column 1 (A): character U+000B at byte 2 is not allowed in XML`},
		{"control character in EXCEL", 2, []string{"\x00"}, `entity "Sheet" row 1 column 1 (A): character U+0000`},
		{"cell too long", 2, []string{strings.Repeat("x", 32768)}, "32768 characters are more than an Excel cell holds"},
		{"index out of range", 3, []string{"a"}, "entity index 3 is out of range; the package has 3 entities"},
	}
	var out bytes.Buffer
	w, err := dmf.NewWriter(&out, dmf.Options{DefinitionGroup: "G", TempDir: t.TempDir()}, entities)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(0, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		err := w.Write(tc.entity, tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Write error %v, want %q", tc.name, err, tc.want)
		}
	}
	// The refused rows left the writer usable, and wrote nothing.
	if err := w.Write(0, []string{"c", "\x0b allowed in CSV"}); err != nil {
		t.Fatal(err)
	}
	if w.Rows(0) != 2 || w.Rows(1) != 0 || w.Rows(2) != 0 {
		t.Errorf("rows %d %d %d, want 2 0 0", w.Rows(0), w.Rows(1), w.Rows(2))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(0, []string{"a", "b"}); !errors.Is(err, dmf.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// failWriter fails once more than n bytes have been written to it.
type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

// TestTempFilesRemoved checks that spooled data is removed on Close, also
// when writing the package fails.
func TestTempFilesRemoved(t *testing.T) {
	entities := []dmf.Entity{customers, countries(dmf.Excel), countries(dmf.XMLAttribute)}
	entities[2].Name = "Countries"
	for _, limit := range []int{1 << 30, 100, 0} {
		dir := t.TempDir()
		w, err := dmf.NewWriter(&failWriter{n: limit}, dmf.Options{DefinitionGroup: "G", TempDir: dir}, entities)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range customerRows {
			if err := w.Write(0, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range countryRows {
			if err := w.Write(1, r); err != nil {
				t.Fatal(err)
			}
			if err := w.Write(2, r); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := os.ReadDir(dir); len(n) != 2 {
			t.Errorf("%d temporary files while writing, want 2 (one per text entity)", len(n))
		}
		err = w.Close()
		if limit == 1<<30 && err != nil {
			t.Errorf("Close: %v", err)
		}
		if limit < 1<<30 && !errors.Is(err, errDiskFull) {
			t.Errorf("Close with a failing writer: %v, want %v", err, errDiskFull)
		}
		assertEmptyDir(t, dir)
	}
}

// TestSingleEntityWriteError checks that with one entity, streamed straight
// into the zip, a failing writer fails Write and the error sticks.
func TestSingleEntityWriteError(t *testing.T) {
	w, err := dmf.NewWriter(&failWriter{n: 200}, dmf.Options{DefinitionGroup: "G", TempDir: t.TempDir()}, []dmf.Entity{customers})
	if err != nil {
		t.Fatal(err)
	}
	row := []string{"US-001", strings.Repeat("long name ", 100), "1"}
	var werr error
	for i := 0; i < 1000 && werr == nil; i++ {
		werr = w.Write(0, row)
	}
	if !errors.Is(werr, errDiskFull) {
		t.Fatalf("Write: %v, want %v", werr, errDiskFull)
	}
	if err := w.Write(0, row); !errors.Is(err, errDiskFull) {
		t.Errorf("Write after failure: %v, want the same error", err)
	}
	if err := w.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close: %v, want %v", err, errDiskFull)
	}
}

func TestDataFileNameAndSheetName(t *testing.T) {
	cases := []struct {
		label, format, file, sheet string
	}{
		{"Customers V3", "", "Customers V3.csv", "Customers_V3"},
		{"Country/regions", dmf.Excel, "Countryregions.xlsx", "Country_regions"},
		{`a\b:c*d?e"f<g>h|i`, dmf.CSV, "abcdefghi.csv", `a_b_c_d_e"f<g>h|i`},
		{"Postal codes V3", dmf.XMLAttribute, "Postal codes V3.xml", "Postal_codes_V3"},
		{"Address and contact information purpose", dmf.Excel, "Address and contact information purpose.xlsx", "Address_and_contact_informatio"},
		{"[Ledger]", dmf.XMLElement, "[Ledger].xml", "_Ledger_"},
		{"'Quoted'", dmf.CSVUnicode, "'Quoted'.csv", "_Quoted_"},
		{"Ünïcödé ÆØÅ label that is longer", dmf.Excel, "Ünïcödé ÆØÅ label that is longer.xlsx", "Ünïcödé_ÆØÅ_label_that_is_long"},
		{"X", "TSV", "", "X"},
		{"///", dmf.CSV, "", "___"},
	}
	for _, tc := range cases {
		if got := dmf.DataFileName(dmf.Entity{Name: tc.label, SourceFormat: tc.format}); got != tc.file {
			t.Errorf("DataFileName(%q, %q) = %q, want %q", tc.label, tc.format, got, tc.file)
		}
		if got := dmf.SheetName(tc.label); got != tc.sheet {
			t.Errorf("SheetName(%q) = %q, want %q", tc.label, got, tc.sheet)
		}
	}
}

type stringer struct{}

func (stringer) String() string { return "via String" }

func TestFormatValue(t *testing.T) {
	ts := time.Date(2011, 1, 31, 0, 0, 0, 0, time.UTC)
	big := decimal.RequireFromString("12345678901234567890.000001")
	cases := []struct {
		v    any
		want string
	}{
		{nil, ""},
		{"as is, 1,5", "as is, 1,5"},
		{ts, "2011-01-31 00:00:00"},
		{time.Date(2024, 12, 31, 23, 59, 58, 999, time.FixedZone("CET", 3600)), "2024-12-31 23:59:58"},
		{decimal.RequireFromString("1.3357400000000000"), "1.3357400000000000"}, // the scale is kept
		{decimal.RequireFromString("750000.50"), "750000.50"},
		{decimal.RequireFromString("-0.5"), "-0.5"},
		{decimal.New(5, 10), "50000000000"},
		{decimal.New(5, -12), "0.000000000005"},
		{big, "12345678901234567890.000001"},
		{true, "Yes"},
		{false, "No"},
		{0, "0"},
		{-42, "-42"},
		{int64(9007199254740993), "9007199254740993"},
		{stringer{}, "via String"},
		{[]int{1}, "[1]"},
	}
	for _, tc := range cases {
		if got := dmf.FormatValue(tc.v); got != tc.want {
			t.Errorf("FormatValue(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
