package dmf_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/xuri/excelize/v2"
)

// readAll reads every record of entity i, failing the test on any error.
func readAll(t *testing.T, p *dmf.Package, i int) ([]string, []formats.Record) {
	t.Helper()
	r, err := p.Open(i)
	if err != nil {
		t.Fatalf("Open(%d): %v", i, err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	var recs []formats.Record
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(rec.Fields) != len(r.Header()) {
			t.Fatalf("record %q has %d fields, header %q has %d", rec.Fields, len(rec.Fields), r.Header(), len(r.Header()))
		}
		recs = append(recs, rec)
	}
	return r.Header(), recs
}

func fields(recs []formats.Record) [][]string {
	var out [][]string
	for _, r := range recs {
		out = append(out, r.Fields)
	}
	return out
}

func openPackage(t *testing.T, path string) *dmf.Package {
	t.Helper()
	p, err := dmf.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	p.TempDir = t.TempDir()
	return p
}

func TestReadMicrosoftSample(t *testing.T) {
	p := openPackage(t, filepath.Join("testdata", "usmf_asset-major-types-01.zip"))
	wantHeader := dmf.Header{
		Description:    "Asset-Major-Types",
		ManifestType:   "Microsoft.Dynamics.AX.Framework.Tools.DataManagement.Serialization.DataManagementPackageManifest",
		PackageType:    "DefinitionGroup",
		PackageVersion: 1,
	}
	if p.Header != wantHeader {
		t.Errorf("Header %+v, want %+v", p.Header, wantHeader)
	}
	if p.DefinitionGroupName != "Asset-Major-Types" || p.Description != "Asset-Major-Types" {
		t.Errorf("DefinitionGroupName %q, Description %q", p.DefinitionGroupName, p.Description)
	}
	if len(p.Entities) != 1 {
		t.Fatalf("%d entities, want 1", len(p.Entities))
	}
	e := p.Entities[0]
	want := dmf.Entity{Name: "Fixed asset major type", Columns: []string{"DESCRIPTION", "MAJORTYPEID"}, SourceFormat: dmf.Excel, ExecutionUnit: 1, Level: 1, Sequence: 1}
	if !equalEntity(e.Entity, want) || e.InputFilePath != "Fixed asset major type.xlsx" || e.ExcelSheetName != "" {
		t.Errorf("entity %+v, want %+v in Fixed asset major type.xlsx", e, want)
	}
	if !p.HasData(0) {
		t.Fatal("HasData(0) = false")
	}

	r, err := p.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h := r.Header(); !slices.Equal(h, []string{"MAJORTYPEID", "DESCRIPTION"}) {
		t.Errorf("header %q, want the sheet's order MAJORTYPEID, DESCRIPTION", h)
	}
	first, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.FieldPos(1).String(), `usmf_asset-major-types-01.zip/Fixed asset major type.xlsx: sheet "Fixed_asset_major_type" row 2 column B`; got != want {
		t.Errorf("FieldPos(1) = %s, want %s", got, want)
	}
	rows := [][]string{first.Fields}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rec.Fields)
		if rec.Pos.Row != len(rows)+1 {
			t.Errorf("row %q at sheet row %d, want %d", rec.Fields, rec.Pos.Row, len(rows)+1)
		}
	}
	wantRows := [][]string{
		{"COMP", "Computer hardware"}, {"DEV_LAND", "Developed Land"}, {"LEASE_BUILD", "Leased Buildings"},
		{"NEW_TECH", "New Technology Items"}, {"OBS_COMP", "Obsolete Computer Items"}, {"OFFICE", "Office Items"},
		{"OWN_BUILD", "Owned Buildings"}, {"PATENTS", "Patents"}, {"PRODUCTION", "Production Related Items"},
		{"VAC_LAND", "Vacant"}, {"VEHICLES", "Vehicles"},
	}
	if !slices.EqualFunc(rows, wantRows, slices.Equal) {
		t.Errorf("rows %q\nwant %q", rows, wantRows)
	}
}

func equalEntity(a, b dmf.Entity) bool {
	return a.Name == b.Name && a.Target == b.Target && slices.Equal(a.Columns, b.Columns) &&
		a.SourceFormat == b.SourceFormat && a.ExecutionUnit == b.ExecutionUnit &&
		a.Level == b.Level && a.Sequence == b.Sequence
}

// trickyRows hold what data files must carry unchanged.
var trickyRows = [][]string{
	{"1", "plain", "1000.50"},
	{"2", "comma, \"quotes\" and 'apostrophes'", "-0.000001"},
	{"3", "two\nlines", ""},
	{"4", " leading and trailing spaces ", "0"},
	{"5", "tab\there & <angle> brackets", "12345678901234567890.12"},
	{"6", "Ünïcödé ÆØÅ 中文 😀", "1"},
	{"7", "", ""},
	{"8", strings.Repeat("long ", 2000), "=1+1"},
}

func TestRoundTrip(t *testing.T) {
	formatsUnderTest := []string{dmf.CSVUnicode, dmf.CSV, dmf.XMLElement, dmf.XMLAttribute, dmf.Excel}
	for _, format := range formatsUnderTest {
		for _, single := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s single=%v", format, single), func(t *testing.T) {
				main := dmf.Entity{
					Name: "General journal", Target: "LedgerJournalEntity",
					Columns:      []string{"LINENUMBER", "TEXT", "DEBITAMOUNT"},
					SourceFormat: format, ExecutionUnit: 2, Level: 3, Sequence: 4,
				}
				entities := []dmf.Entity{main}
				rows := [][][]string{trickyRows}
				if !single {
					entities = append(entities, dmf.Entity{Name: "Currencies", Columns: []string{"CURRENCYCODE"}})
					rows = append(rows, [][]string{{"EUR"}, {""}, {"NOK"}})
				}
				p := openPackage(t, writePackage(t, dmf.Options{DefinitionGroup: "Journal import", Description: "round trip"}, entities, rows))
				if p.DefinitionGroupName != "Journal import" || p.Description != "round trip" || p.Header.Description != "Journal import" || p.Header.PackageVersion != 2 {
					t.Errorf("package %q %q, header %+v", p.DefinitionGroupName, p.Description, p.Header)
				}
				if len(p.Entities) != len(entities) {
					t.Fatalf("%d entities, want %d", len(p.Entities), len(entities))
				}
				// Currencies sorts first: unit 1 before 2.
				got := slices.Clone(p.Entities)
				if !single {
					got[0], got[1] = got[1], got[0]
				}
				for i, e := range entities {
					wantE := e
					if wantE.SourceFormat == "" {
						wantE.SourceFormat = dmf.CSVUnicode
					}
					wantE.ExecutionUnit, wantE.Level, wantE.Sequence = max(wantE.ExecutionUnit, 1), max(wantE.Level, 1), max(wantE.Sequence, 1)
					if !equalEntity(got[i].Entity, wantE) {
						t.Errorf("entity %d: %+v, want %+v", i, got[i].Entity, wantE)
					}
					if got[i].InputFilePath != dmf.DataFileName(e) {
						t.Errorf("entity %d: InputFilePath %q, want %q", i, got[i].InputFilePath, dmf.DataFileName(e))
					}
				}
				for k := range p.Entities {
					i := slices.IndexFunc(entities, func(e dmf.Entity) bool { return e.Name == p.Entities[k].Name })
					header, recs := readAll(t, p, k)
					if !slices.Equal(header, entities[i].Columns) {
						t.Errorf("%s: header %q, want %q", entities[i].Name, header, entities[i].Columns)
					}
					if got := fields(recs); !slices.EqualFunc(got, rows[i], slices.Equal) {
						t.Errorf("%s: rows\n got %q\nwant %q", entities[i].Name, got, rows[i])
					}
				}
			})
		}
	}
}

// manifestWith builds a manifest with one entity per block; each block is
// the inside of a DataManagementPackageEntityData element.
func manifestWith(rootAttrs string, blocks ...string) string {
	var b strings.Builder
	b.WriteString("<DataManagementPackageManifest" + rootAttrs + "><DefinitionGroupName>G</DefinitionGroupName><PackageEntityList>")
	for _, bl := range blocks {
		b.WriteString("<DataManagementPackageEntityData>" + bl + "</DataManagementPackageEntityData>")
	}
	b.WriteString("</PackageEntityList></DataManagementPackageManifest>")
	return b.String()
}

const nsAttrs = ` xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/dynamics/2015/01/DataManagement"`

const header = `<DataManagementPackageHeader` + nsAttrs + `><Description>G</Description><PackageType>DefinitionGroup</PackageType><PackageVersion>2</PackageVersion></DataManagementPackageHeader>`

// vendorsBlock lists its elements out of order, as a hand-edited manifest
// might.
const vendorsBlock = `<SourceFormat>CSV-Unicode</SourceFormat><InputFilePath>Vendors V2.csv</InputFilePath>
	<EntityMapList><EntityMap><XMLField>VENDORACCOUNTNUMBER</XMLField><EntityField>VENDORACCOUNTNUMBER</EntityField></EntityMap>
	<EntityMap><EntityField>NAME</EntityField><XMLField>NAME</XMLField></EntityMap></EntityMapList>
	<EntityName>Vendors V2</EntityName><TargetEntity>VendVendorV2Entity</TargetEntity>
	<SequenceInLevel> 5 </SequenceInLevel><LevelInExecutionUnit>4</LevelInExecutionUnit><ExecutionUnit>3</ExecutionUnit>`

var vendorsWant = dmf.Entity{Name: "Vendors V2", Target: "VendVendorV2Entity", Columns: []string{"VENDORACCOUNTNUMBER", "NAME"},
	SourceFormat: dmf.CSVUnicode, ExecutionUnit: 3, Level: 4, Sequence: 5}

const vendorsCSV = "VENDORACCOUNTNUMBER,NAME\r\nV-1,Contoso\r\nV-2,\"Fabrikam, Inc.\"\r\n"

func TestReaderTolerance(t *testing.T) {
	indented := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n" + strings.ReplaceAll(manifestWith(nsAttrs, vendorsBlock), "><", ">\r\n\t<")
	cases := []struct {
		name    string
		entries []string
		header  dmf.Header
	}{
		{"UTF-16 LE with BOM, D365 style", []string{"Manifest.xml", toUTF16LE(manifestWith(nsAttrs, vendorsBlock)), "PackageHeader.xml", toUTF16LE(header), "Vendors V2.csv", toUTF16LE(vendorsCSV)},
			dmf.Header{Description: "G", PackageType: "DefinitionGroup", PackageVersion: 2}},
		{"indented UTF-8 with a declaration, RIS style", []string{"Vendors V2.csv", vendorsCSV, "Manifest.xml", indented, "PackageHeader.xml", header},
			dmf.Header{Description: "G", PackageType: "DefinitionGroup", PackageVersion: 2}},
		{"UTF-16 BE with BOM", []string{"Manifest.xml", toUTF16BE(manifestWith(nsAttrs, vendorsBlock), true), "Vendors V2.csv", vendorsCSV}, dmf.Header{}},
		{"UTF-16 BE without BOM, declared", []string{"Manifest.xml", toUTF16BE(`<?xml version="1.0" encoding="utf-16"?>`+manifestWith(nsAttrs, vendorsBlock), false), "Vendors V2.csv", vendorsCSV}, dmf.Header{}},
		{"UTF-16 LE without BOM", []string{"Manifest.xml", toUTF16LE(manifestWith(nsAttrs, vendorsBlock))[2:], "Vendors V2.csv", vendorsCSV}, dmf.Header{}},
		{"UTF-8 BOM, no namespace", []string{"Manifest.xml", "\xEF\xBB\xBF" + manifestWith("", vendorsBlock), "Vendors V2.csv", vendorsCSV}, dmf.Header{}},
		{"declared windows-1252", []string{"Manifest.xml", `<?xml version="1.0" encoding="windows-1252"?>` + manifestWith("", vendorsBlock), "Vendors V2.csv", vendorsCSV}, dmf.Header{}},
		{"names in other case, data file in a folder", []string{"MANIFEST.XML", manifestWith(nsAttrs, vendorsBlock), "packageheader.xml", header, "export/VENDORS v2.CSV", vendorsCSV},
			dmf.Header{Description: "G", PackageType: "DefinitionGroup", PackageVersion: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := openPackage(t, buildZip(t, tc.entries...))
			if p.Header != tc.header {
				t.Errorf("Header %+v, want %+v", p.Header, tc.header)
			}
			if p.DefinitionGroupName != "G" || len(p.Entities) != 1 {
				t.Fatalf("DefinitionGroupName %q, %d entities", p.DefinitionGroupName, len(p.Entities))
			}
			if !equalEntity(p.Entities[0].Entity, vendorsWant) {
				t.Errorf("entity %+v, want %+v", p.Entities[0].Entity, vendorsWant)
			}
			header, recs := readAll(t, p, 0)
			if !slices.Equal(header, vendorsWant.Columns) {
				t.Errorf("header %q", header)
			}
			if got, want := fields(recs), [][]string{{"V-1", "Contoso"}, {"V-2", "Fabrikam, Inc."}}; !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("rows %q, want %q", got, want)
			}
		})
	}
}

func TestEntityWithoutData(t *testing.T) {
	path := buildZip(t, "Manifest.xml", manifestWith(nsAttrs,
		vendorsBlock,
		`<EntityName>Currencies</EntityName><InputFilePath>Currencies.csv</InputFilePath><SourceFormat>CSV-Unicode</SourceFormat>`,
		`<EntityName>Units</EntityName><SourceFormat>CSV-Unicode</SourceFormat>`,
	), "Vendors V2.csv", vendorsCSV)
	p := openPackage(t, path)
	if got := []bool{p.HasData(0), p.HasData(1), p.HasData(2)}; !slices.Equal(got, []bool{true, false, false}) {
		t.Errorf("HasData = %v, want [true false false]", got)
	}
	_, err := p.Open(1)
	if !errors.Is(err, dmf.ErrNoDataFile) || !strings.Contains(err.Error(), `entity "Currencies" (Currencies.csv)`) {
		t.Errorf("Open(1): %v, want ErrNoDataFile naming the entity", err)
	}
	if _, err := p.Open(3); err == nil || !strings.Contains(err.Error(), "entity index 3 is out of range") {
		t.Errorf("Open(3): %v", err)
	}
}

func TestReadCSVEncodings(t *testing.T) {
	const text = "CODE,NAME\r\nA,Åse\r\nB,\"multi\r\nline\"\r\nC,last"
	lf := strings.ReplaceAll(text, "\r\n", "\n")
	cases := map[string]string{
		"UTF-8":                 text,
		"UTF-8 LF":              lf,
		"UTF-8 BOM":             "\xEF\xBB\xBF" + text,
		"UTF-16 LE BOM":         toUTF16LE(text),
		"UTF-16 LE BOM LF":      toUTF16LE(lf),
		"UTF-16 LE without BOM": toUTF16LE(text)[2:],
		"UTF-16 BE BOM":         toUTF16BE(text, true),
		"UTF-16 BE without BOM": toUTF16BE(text, false),
	}
	block := `<EntityName>Codes</EntityName><InputFilePath>Codes.csv</InputFilePath><SourceFormat>CSV</SourceFormat>`
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p := openPackage(t, buildZip(t, "Manifest.xml", manifestWith(nsAttrs, block), "Codes.csv", data))
			header, recs := readAll(t, p, 0)
			if !slices.Equal(header, []string{"CODE", "NAME"}) {
				t.Errorf("header %q", header)
			}
			want := [][]string{{"A", "Åse"}, {"B", "multi\nline"}, {"C", "last"}}
			if got := fields(recs); !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("rows %q, want %q", got, want)
			}
			var lines []int
			for _, r := range recs {
				lines = append(lines, r.Pos.Row)
			}
			if !slices.Equal(lines, []int{2, 3, 5}) {
				t.Errorf("record lines %v, want [2 3 5]", lines)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	notZip := filepath.Join(t.TempDir(), "not.zip")
	if err := os.WriteFile(notZip, []byte("PK but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		path string
		want string
		is   error
	}{
		{"not a zip", notZip, "not.zip is not a readable zip", nil},
		{"missing file", filepath.Join(t.TempDir(), "nope.zip"), "nope.zip is not a readable zip", os.ErrNotExist},
		{"no manifest", buildZip(t, "Customers.csv", "A\r\n"), "not a D365 data package", dmf.ErrNoManifest},
		{"zip slip", buildZip(t, "Manifest.xml", manifestWith(""), "../evil.csv", "x"), `entry "../evil.csv" points outside the package`, nil},
		{"zip slip, backslash", buildZip(t, "Manifest.xml", manifestWith(""), `..\evil.csv`, "x"), `points outside`, nil},
		{"absolute entry", buildZip(t, "Manifest.xml", manifestWith(""), "/etc/evil", "x"), `points outside`, nil},
		{"drive letter", buildZip(t, "Manifest.xml", manifestWith(""), "C:/evil", "x"), `points outside`, nil},
		{"manifest not XML", buildZip(t, "Manifest.xml", "PK\x03\x04"), "Manifest.xml is not readable XML", nil},
		{"empty manifest", buildZip(t, "Manifest.xml", ""), "Manifest.xml is empty", nil},
		{"wrong root", buildZip(t, "Manifest.xml", "<DataManagementPackageHeader/>"), "the root element is <DataManagementPackageHeader>, want <DataManagementPackageManifest>", nil},
		{"bad number", buildZip(t, "Manifest.xml", manifestWith("", "<EntityName>X</EntityName><ExecutionUnit>one</ExecutionUnit>")), `entity 1 ("X"): ExecutionUnit "one" is not a whole number`, nil},
		{"bad header version", buildZip(t, "Manifest.xml", manifestWith(""), "PackageHeader.xml", "<DataManagementPackageHeader><PackageVersion>two</PackageVersion></DataManagementPackageHeader>"), `PackageVersion "two" is not a whole number`, nil},
		{"unknown encoding", buildZip(t, "Manifest.xml", `<?xml version="1.0" encoding="x-klingon"?><DataManagementPackageManifest/>`), `unknown encoding "x-klingon"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := dmf.Open(tc.path)
			if err == nil {
				p.Close()
				t.Fatalf("Open succeeded, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dmf: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestReadDataErrors(t *testing.T) {
	csvBlock := `<EntityName>Codes</EntityName><InputFilePath>Codes.csv</InputFilePath><SourceFormat>CSV-Unicode</SourceFormat>`
	xmlBlock := `<EntityName>Codes</EntityName><InputFilePath>Codes.xml</InputFilePath><SourceFormat>XML-Attribute</SourceFormat>` +
		`<EntityMapList><EntityMap><XMLField>A</XMLField></EntityMap><EntityMap><XMLField>B</XMLField></EntityMap></EntityMapList>`
	cases := []struct {
		name     string
		block    string
		file     string
		data     string
		rows     [][]string // read before the error
		pos      string     // formats.ParseError position, "" for an error from Open
		want     string
		thenRows [][]string // read after the error, when reading goes on
	}{
		{"CSV field count", csvBlock, "Codes.csv", "A,B\r\n1,2\r\n3\r\n4,5\r\n", [][]string{{"1", "2"}},
			"pkg.zip/Codes.csv: row 3", "the row has 1 fields but the header has 2", [][]string{{"4", "5"}}},
		{"CSV bare quote", csvBlock, "Codes.csv", "A,B\r\n1,2\r\n3,x\"y\r\n", [][]string{{"1", "2"}},
			"pkg.zip/Codes.csv: row 3", `bare " in non-quoted-field (character 4); enclose the value in double quotes`, nil},
		{"CSV empty", csvBlock, "Codes.csv", "", nil, "", "pkg.zip/Codes.csv: the data file is empty: it has no header row", nil},
		{"XML unknown field", xmlBlock, "Codes.xml", "<Document>\n<T A=\"1\" B=\"2\"/>\n<T A=\"3\" Z=\"4\"/>\n<T B=\"5\"/></Document>", [][]string{{"1", "2"}},
			"pkg.zip/Codes.xml: row 3", "field Z is not a column of the entity", [][]string{{"", "5"}}},
		{"XML cut short", xmlBlock, "Codes.xml", "<Document><T A=\"1\" B=\"2\"/><T A=\"3\">", [][]string{{"1", "2"}},
			"pkg.zip/Codes.xml: row 1", "unexpected EOF; the file is not well-formed XML", nil},
		{"XML no root", xmlBlock, "Codes.xml", "<?xml version=\"1.0\"?>", nil,
			"pkg.zip/Codes.xml", "the data file has no root element", nil},
		{"unknown format", `<EntityName>Codes</EntityName><InputFilePath>Codes.dat</InputFilePath><SourceFormat>Fixed</SourceFormat>`, "Codes.dat", "x", nil,
			"", `pkg.zip/Codes.dat: unknown SourceFormat "Fixed" and file type`, nil},
		{"EXCEL not a workbook", `<EntityName>Codes</EntityName><InputFilePath>Codes.xlsx</InputFilePath><SourceFormat>EXCEL</SourceFormat>`, "Codes.xlsx", "not a zip", nil,
			"", "pkg.zip/Codes.xlsx: the data file is not a readable xlsx workbook", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			zip := buildZip(t, "Manifest.xml", manifestWith(nsAttrs, tc.block), tc.file, tc.data)
			pkg := filepath.Join(filepath.Dir(zip), "pkg.zip")
			if err := os.Rename(zip, pkg); err != nil {
				t.Fatal(err)
			}
			p := openPackage(t, pkg)
			if tc.pos == "" {
				_, err := p.Open(0)
				if err == nil || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
					t.Errorf("Open: %v, want %q", err, tc.want)
				}
				return
			}
			r, err := p.Open(0)
			if err != nil {
				var pe *formats.ParseError
				if !errors.As(err, &pe) || pe.Pos.String() != tc.pos || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Open: %v, want a ParseError at %s with %q", err, tc.pos, tc.want)
				}
				return
			}
			defer r.Close()
			var rows [][]string
			for {
				rec, err := r.Read()
				if err == nil {
					rows = append(rows, rec.Fields)
					continue
				}
				var pe *formats.ParseError
				if !errors.As(err, &pe) || pe.Pos.String() != tc.pos || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Read: %v, want a ParseError at %s with %q", err, tc.pos, tc.want)
				}
				break
			}
			if !slices.EqualFunc(rows, tc.rows, slices.Equal) {
				t.Errorf("rows before the error %q, want %q", rows, tc.rows)
			}
			var then [][]string
			for {
				rec, err := r.Read()
				if err != nil {
					break
				}
				then = append(then, rec.Fields)
			}
			if !slices.EqualFunc(then, tc.thenRows, slices.Equal) {
				t.Errorf("rows after the error %q, want %q", then, tc.thenRows)
			}
		})
	}
}

// TestReadXMLShapes reads XML data files as other tools write them.
func TestReadXMLShapes(t *testing.T) {
	cases := []struct {
		name, block, data string
		header            []string
		rows              [][]string
	}{
		{"columns from the manifest, any case, mixed shapes",
			`<EntityMapList><EntityMap><XMLField>ID</XMLField></EntityMap><EntityMap><XMLField>NAME</XMLField></EntityMap></EntityMapList>`,
			"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Document xmlns=\"urn:x\">\n  <T id=\"1\"><NAME>One</NAME></T>\n  <T><ID>2</ID><!-- c --><name><![CDATA[Two & <more>]]></name></T>\n  <T/>\n</Document>",
			[]string{"ID", "NAME"}, [][]string{{"1", "One"}, {"2", "Two & <more>"}, {"", ""}}},
		{"no mapping: columns as found", ``,
			`<Document><T A="1"/><T B="2" A="3"/><T><C>4</C></T></Document>`,
			[]string{"A", "B", "C"}, [][]string{{"1"}, {"3", "2"}, {"", "", "4"}}},
		{"UTF-16 with declaration", `<EntityMapList><EntityMap><XMLField>A</XMLField></EntityMap></EntityMapList>`,
			toUTF16LE(`<?xml version="1.0" encoding="utf-16"?><Document><T A="ÆØÅ"/></Document>`),
			[]string{"A"}, [][]string{{"ÆØÅ"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			block := `<EntityName>T</EntityName><InputFilePath>T.xml</InputFilePath><SourceFormat>XML-Element</SourceFormat>` + tc.block
			p := openPackage(t, buildZip(t, "Manifest.xml", manifestWith("", block), "T.xml", tc.data))
			r, err := p.Open(0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var rows [][]string
			for {
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, rec.Fields)
			}
			if !slices.Equal(r.Header(), tc.header) {
				t.Errorf("header %q, want %q", r.Header(), tc.header)
			}
			if !slices.EqualFunc(rows, tc.rows, slices.Equal) {
				t.Errorf("rows %q, want %q", rows, tc.rows)
			}
		})
	}
}

// TestReadExcelShapes reads workbooks as people edit them: blank rows, a
// sheet chosen by ExcelSheetName, values past the header.
func TestReadExcelShapes(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	if _, err := f.NewSheet("Units"); err != nil {
		t.Fatal(err)
	}
	for cell, v := range map[string]any{
		"A1":       "Other sheet",
		"Units!A2": "UNITSYMBOL", "Units!B2": "DECIMALPRECISION",
		"Units!A3": "kg", "Units!B3": 2,
		"Units!A5": "pcs",
		"Units!A6": "m", "Units!B6": 1, "Units!C6": "stray",
		"Units!A7": "l", "Units!B7": 0.5,
	} {
		sheet, ref := "Sheet1", cell
		if s, c, ok := strings.Cut(cell, "!"); ok {
			sheet, ref = s, c
		}
		if err := f.SetCellValue(sheet, ref, v); err != nil {
			t.Fatal(err)
		}
	}
	xlsx := filepath.Join(t.TempDir(), "u.xlsx")
	if err := f.SaveAs(xlsx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	block := `<EntityName>Units</EntityName><InputFilePath>Units.xlsx</InputFilePath><SourceFormat>EXCEL</SourceFormat><ExcelSheetName>units$</ExcelSheetName>`
	p := openPackage(t, buildZip(t, "Manifest.xml", manifestWith("", block), "Units.xlsx", string(data)))
	r, err := p.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h := r.Header(); !slices.Equal(h, []string{"UNITSYMBOL", "DECIMALPRECISION"}) {
		t.Errorf("header %q", h)
	}
	type result struct {
		pos    string
		fields []string
		err    string
	}
	var got []result
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			got = append(got, result{err: err.Error()})
			continue
		}
		got = append(got, result{pos: rec.Pos.String(), fields: rec.Fields})
	}
	want := []result{
		{pos: `built.zip/Units.xlsx: sheet "Units" row 3`, fields: []string{"kg", "2"}},
		{pos: `built.zip/Units.xlsx: sheet "Units" row 5`, fields: []string{"pcs", ""}},
		{err: `built.zip/Units.xlsx: sheet "Units" row 6 column C: the row has a value beyond the last header column B; remove it or add a header`},
		{pos: `built.zip/Units.xlsx: sheet "Units" row 7`, fields: []string{"l", "0.5"}},
	}
	if !slices.EqualFunc(got, want, func(a, b result) bool {
		return a.pos == b.pos && a.err == b.err && slices.Equal(a.fields, b.fields)
	}) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestReaderTempFiles checks that reading EXCEL data leaves nothing behind.
func TestReaderTempFiles(t *testing.T) {
	path := writePackage(t, dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{countries(dmf.Excel)}, [][][]string{countryRows})
	p, err := dmf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p.TempDir = dir
	r, err := p.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("%d files in TempDir while reading, want the copy of the workbook", len(left))
	}
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	assertEmptyDir(t, dir)
}
