package xml_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/xml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var camtFields = []string{
	"NtryRef", "Amt", "Amt/@Ccy", "CdtDbtInd", "BookgDt/Dt", "NtryDtls/TxDtls/Refs/EndToEndId", "NtryDtls/TxDtls/RmtInf/Ustrd",
}

// dump reads everything from r and renders records and field positions, one
// record a line, for golden files.
func dump(t *testing.T, r *xml.Reader) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "header %q\n", r.Header())
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
			break
		}
		fmt.Fprintf(&b, "%s:", rec.Pos)
		for i, v := range rec.Fields {
			p := r.FieldPos(i)
			if p.Col != i+1 || p.File != rec.Pos.File {
				t.Errorf("FieldPos(%d) = %+v", i, p)
			}
			fmt.Fprintf(&b, " %q@%d", v, p.Row)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestCamt053(t *testing.T) {
	for _, record := range []string{"Document/BkToCstmrStmt/Stmt/Ntry", "//Ntry", "//Stmt/Ntry", "/Document/BkToCstmrStmt/Stmt/Ntry"} {
		t.Run(record, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "camt053.xml"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := xml.NewReader(f, xml.Options{File: "camt053.xml", Record: record, Fields: camtFields})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "camt053.golden", dump(t, r))
		})
	}
}

type readTest struct {
	name   string
	input  string
	record string
	fields []string
	want   []formats.Record
	lines  [][]int // FieldPos rows per record, if checked
	err    string  // an error expected after the records
	errRow int
}

var readTests = []readTest{{
	name:   "nested repeated elements: the first match wins",
	input:  "<a>\n<r><x><y>1</y></x><x><y>2</y><z>3</z></x></r>\n</a>",
	record: "a/r",
	fields: []string{"x/y", "x/z"},
	want:   []formats.Record{{Pos: formats.Pos{Row: 2}, Fields: []string{"1", "3"}}},
}, {
	name:   "a record path at any depth, with nested records",
	input:  "<a><r>1<r>2</r></r><b><c><r>3</r></c></b></a>",
	record: "//r",
	fields: []string{"."},
	want: []formats.Record{
		{Pos: formats.Pos{Row: 1}, Fields: []string{"12"}},
		{Pos: formats.Pos{Row: 1}, Fields: []string{"3"}},
	},
}, {
	name:   "any depth with a parent step",
	input:  "<a><s><r>1</r></s><t><r>2</r></t><u><s><r>3</r></s></u></a>",
	record: "//s/r",
	fields: []string{"."},
	want: []formats.Record{
		{Pos: formats.Pos{Row: 1}, Fields: []string{"1"}},
		{Pos: formats.Pos{Row: 1}, Fields: []string{"3"}},
	},
}, {
	name:   "absolute path: same names elsewhere do not match",
	input:  "<a><b><r>1</r></b><c><b><r>x</r></b></c><b><r>2</r></b></a>",
	record: "a/b/r",
	fields: []string{"."},
	want: []formats.Record{
		{Pos: formats.Pos{Row: 1}, Fields: []string{"1"}},
		{Pos: formats.Pos{Row: 1}, Fields: []string{"2"}},
	},
}, {
	name: "namespaces with prefixes are ignored, in the file and in paths",
	input: `<ns2:Document xmlns:ns2="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08" xmlns:x="urn:x">` + "\n" +
		`<ns2:Ntry x:id="7"><ns2:Amt Ccy="EUR" xmlns:ns3="urn:y">5.00</ns2:Amt><x:Amt>other</x:Amt></ns2:Ntry>` + "\n" +
		`</ns2:Document>`,
	record: "ns2:Document/Ntry",
	fields: []string{"Amt", "ns9:Amt/@Ccy", "@id", "Amt/@ns3"},
	want:   []formats.Record{{Pos: formats.Pos{Row: 2}, Fields: []string{"5.00", "EUR", "7", ""}}},
}, {
	name:   "missing fields are empty and placed at the record",
	input:  "<a>\n<r id=\"1\">\n<x>v</x>\n</r>\n<r>\n</r>\n</a>",
	record: "a/r",
	fields: []string{"x", "y", "@id", "x/@q"},
	want: []formats.Record{
		{Pos: formats.Pos{Row: 2}, Fields: []string{"v", "", "1", ""}},
		{Pos: formats.Pos{Row: 5}, Fields: []string{"", "", "", ""}},
	},
	lines: [][]int{{3, 2, 2, 2}, {5, 5, 5, 5}},
}, {
	name:   "an attribute missing on the first element is taken from the next",
	input:  "<a><r><x>1</x><x q=\"2\">3</x></r></a>",
	record: "a/r",
	fields: []string{"x/@q", "x"},
	want:   []formats.Record{{Pos: formats.Pos{Row: 1}, Fields: []string{"2", "1"}}},
}, {
	name:   "text: entities, CDATA, mixed content, spaces kept, self-closing",
	input:  "<a><r><t>A &amp; B &#x20AC;</t><c><![CDATA[<raw>]]></c><m>x<b>y</b>z</m><s> sp </s><e/></r></a>",
	record: "a/r",
	fields: []string{"t", "c", "m", "s", "e", "text()", "./t"},
	want:   []formats.Record{{Pos: formats.Pos{Row: 1}, Fields: []string{"A & B €", "<raw>", "xyz", " sp ", "", "A & B €<raw>xyz sp ", "A & B €"}}},
}, {
	name:   "a start tag on several lines is at the line of its <",
	input:  "<a>\n  <r\n    id=\"1\">\n    <x\n      q=\"2\">v</x>\n  </r>\n</a>\n",
	record: "a/r",
	fields: []string{"@id", "x/@q", "x"},
	want:   []formats.Record{{Pos: formats.Pos{Row: 2}, Fields: []string{"1", "2", "v"}}},
	lines:  [][]int{{2, 4, 4}},
}, {
	name:   "no records",
	input:  "<?xml version=\"1.0\"?>\n<!-- c --><a><b/></a>\n",
	record: "a/r",
	fields: []string{"x"},
}, {
	name:   "the same field twice",
	input:  "<a><r><x>1</x></r></a>",
	record: "//r",
	fields: []string{"x", "x"},
	want:   []formats.Record{{Pos: formats.Pos{Row: 1}, Fields: []string{"1", "1"}}},
}, {
	name:   "a tag closed by another",
	input:  "<a>\n<r><x>1</x></r>\n<r><x>2</y></r>\n</a>",
	record: "a/r",
	fields: []string{"x"},
	want:   []formats.Record{{Pos: formats.Pos{Row: 2}, Fields: []string{"1"}}},
	err:    "element <x> opened on line 3 is closed by </y>",
	errRow: 3,
}, {
	name:   "a tag closed by another while skipping",
	input:  "<a>\n<b>\n<c></d>\n</b>\n</a>",
	record: "a/r",
	fields: []string{"x"},
	err:    "the XML is not well-formed: element <c> opened on line 3 is closed by </d>; fix the file near this line",
	errRow: 3,
}, {
	name:   "cut off",
	input:  "<a>\n<r><x>1</x></r>\n<r><x>2",
	record: "a/r",
	fields: []string{"x"},
	want:   []formats.Record{{Pos: formats.Pos{Row: 2}, Fields: []string{"1"}}},
	err:    "the file ends before element <x> opened on line 3 is closed; it may be cut off",
	errRow: 3,
}, {
	name:   "cut off inside a tag",
	input:  "<a>\n<r><x q=\"1",
	record: "a/r",
	fields: []string{"x"},
	err:    "it may be cut off",
	errRow: 2,
}, {
	name:   "bad character",
	input:  "<a>\n<r>\n<x>1 & 2</x></r></a>",
	record: "a/r",
	fields: []string{"x"},
	err:    "the XML is not well-formed: invalid character entity & (no semicolon); fix the file near this line",
	errRow: 3,
}, {
	name:   "invalid UTF-8",
	input:  "<a>\n<r><x>M\xfcller</x></r></a>",
	record: "a/r",
	fields: []string{"x"},
	err:    "the file is probably not UTF-8: save it as UTF-8, or name its encoding in the XML declaration",
	errRow: 2,
}, {
	name:   "unknown declared encoding",
	input:  "<?xml version=\"1.0\" encoding=\"x-klingon\"?><a/>",
	record: "a/r",
	fields: []string{"x"},
	err:    `the XML declaration names encoding "x-klingon", which erpipe can't read; save the file as UTF-8`,
	errRow: 1,
}}

func TestReader(t *testing.T) {
	for _, tt := range readTests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := xml.NewReader(strings.NewReader(tt.input), xml.Options{File: "in.xml", Record: tt.record, Fields: tt.fields})
			if err != nil {
				if tt.err != "" && len(tt.want) == 0 {
					checkErr(t, err, tt.err, tt.errRow)
					return
				}
				t.Fatalf("NewReader: %v", err)
			}
			if got := r.Header(); !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("Header = %q, want %q", got, tt.fields)
			}
			for i, w := range tt.want {
				rec, err := r.Read()
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				w.Pos.File = "in.xml"
				if !reflect.DeepEqual(rec, w) {
					t.Errorf("Read = %+v %q, want %+v %q", rec.Pos, rec.Fields, w.Pos, w.Fields)
				}
				if i < len(tt.lines) {
					for j, line := range tt.lines[i] {
						if got, want := r.FieldPos(j), (formats.Pos{File: "in.xml", Row: line, Col: j + 1}); got != want {
							t.Errorf("record %d: FieldPos(%d) = %+v, want %+v", i, j, got, want)
						}
					}
				}
			}
			_, err = r.Read()
			if tt.err == "" {
				if err != io.EOF {
					t.Errorf("last Read: %v, want io.EOF", err)
				}
				return
			}
			checkErr(t, err, tt.err, tt.errRow)
			if _, again := r.Read(); again != err {
				t.Errorf("Read after the error = %v, want the same error", again)
			}
		})
	}
}

func checkErr(t *testing.T, err error, text string, row int) {
	t.Helper()
	var pe *formats.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *formats.ParseError", err, err)
	}
	if pe.Pos != (formats.Pos{File: "in.xml", Row: row}) {
		t.Errorf("error at %+v, want row %d", pe.Pos, row)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("error:\n got %v\nwant it to say %s", err, text)
	}
}

func TestNewReaderErrors(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		record string
		err    string
		row    int
		is     error
	}{
		{"no bytes", "", "a/r", "in.xml: the file is empty", 0, xml.ErrEmpty},
		{"BOM only", "\uFEFF", "a/r", "the file is empty", 0, xml.ErrEmpty},
		{"white space, declaration and comments", "\n <?xml version=\"1.0\"?>\n<!-- nothing -->\n", "a/r", "the file is empty", 0, xml.ErrEmpty},
		{"UTF-16 BOM and spaces", "\xFF\xFE \x00\n\x00", "a/r", "the file is empty", 0, xml.ErrEmpty},
		{"not XML", "Account,Name\nC-1,Contoso\n", "a/r", "in.xml: row 1: this is not XML: it starts with text", 1, nil},
		{"root differs from the record path", "<?xml version=\"1.0\"?>\n<Document><Stmt/></Document>", "BkToCstmrStmt/Stmt/Ntry",
			`in.xml: row 2: the root element is <Document>, but the record path "BkToCstmrStmt/Stmt/Ntry" starts with <BkToCstmrStmt>`, 2, nil},
		{"end tag first", "</a>", "a/r", "</a> closes an element that was never opened", 1, nil},
		{"unknown XML version", "<?xml version=\"0\"?><a/>", "a/r", `the XML is not well-formed: unsupported version "0"; only version 1.0 is supported`, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := xml.NewReader(strings.NewReader(tt.input), xml.Options{File: "in.xml", Record: tt.record, Fields: []string{"x"}})
			checkErr(t, err, tt.err, tt.row)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error is not %v", tt.is)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	for _, opts := range []xml.Options{
		{Record: "", Fields: []string{"x"}},
		{Record: "//", Fields: []string{"x"}},
		{Record: "a//b", Fields: []string{"x"}},
		{Record: "a/r[1]", Fields: []string{"x"}},
		{Record: "a/@id", Fields: []string{"x"}},
		{Record: "a/r", Fields: []string{""}},
		{Record: "a/r", Fields: []string{"/a/x"}},
		{Record: "a/r", Fields: []string{"x//y"}},
		{Record: "a/r", Fields: []string{"@"}},
		{Record: "a/r", Fields: []string{"@id/x"}},
		{Record: "a/r", Fields: []string{"../../x"}},
		{Record: "//r", Fields: []string{"../x"}},
		{Record: "a/r", Fields: []string{".."}},
		{Record: "a/r", Fields: []string{"x[y]"}},
		{Record: "a/r", Fields: []string{"x[=1]"}},
		{Record: "a/r", Fields: []string{"x[y=1"}},
		{Record: "a/r", Fields: []string{"x[2]"}},
	} {
		_, err := xml.NewReader(strings.NewReader("<a/>"), opts)
		var pe *formats.ParseError
		if err == nil || errors.As(err, &pe) {
			t.Errorf("%+v: err = %v, want an options error", opts, err)
		}
	}
}

func TestEncodings(t *testing.T) {
	const doc = "<?xml version=\"1.0\" encoding=\"%s\"?>\n<a>\n<r><n>Müller &amp; Søn €</n></r>\n</a>\n"
	utf16 := func(s string, e unicode.Endianness, bom unicode.BOMPolicy) []byte {
		b, err := unicode.UTF16(e, bom).NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	win := func(label string) []byte {
		b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(fmt.Sprintf(doc, label)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name  string
		input []byte
	}{
		{"UTF-8", []byte(fmt.Sprintf(doc, "UTF-8"))},
		{"UTF-8 with BOM", []byte("\uFEFF" + fmt.Sprintf(doc, "utf-8"))},
		{"UTF-8 without declaration", []byte("<a>\n\n<r><n>Müller &amp; Søn €</n></r></a>")},
		{"UTF-16 LE with BOM", utf16(fmt.Sprintf(doc, "UTF-16"), unicode.LittleEndian, unicode.UseBOM)},
		{"UTF-16 BE with BOM", utf16(fmt.Sprintf(doc, "UTF-16"), unicode.BigEndian, unicode.UseBOM)},
		{"UTF-16 LE without BOM", utf16(fmt.Sprintf(doc, "UTF-16"), unicode.LittleEndian, unicode.IgnoreBOM)},
		{"UTF-16 BE without BOM", utf16(fmt.Sprintf(doc, "UTF-16"), unicode.BigEndian, unicode.IgnoreBOM)},
		{"UTF-8 labelled UTF-16", []byte(fmt.Sprintf(doc, "UTF-16"))},
		{"windows-1252", win("windows-1252")},
		{"ISO-8859-1 (read as windows-1252, as browsers do)", win("ISO-8859-1")},
		{"ISO-8859-15", mustISO885915(t, fmt.Sprintf(doc, "ISO-8859-15"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.xml")
			if err := os.WriteFile(path, tt.input, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := xml.NewReader(f, xml.Options{File: "in.xml", Record: "a/r", Fields: []string{"n"}})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			want := formats.Record{Pos: formats.Pos{File: "in.xml", Row: 3}, Fields: []string{"Müller & Søn €"}}
			if !reflect.DeepEqual(rec, want) {
				t.Errorf("Read = %+v, want %+v", rec, want)
			}
			if _, err := r.Read(); err != io.EOF {
				t.Errorf("last Read: %v", err)
			}
		})
	}
}

func mustISO885915(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.ISO8859_15.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecordsAreKept(t *testing.T) {
	r, err := xml.NewReader(bytes.NewReader([]byte("<a><r><x>1</x></r><r><x>2</x></r></a>")), xml.Options{Record: "a/r", Fields: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.Read()
	second, _ := r.Read()
	if first.Fields[0] != "1" || second.Fields[0] != "2" {
		t.Errorf("records changed after later reads: %q %q", first.Fields, second.Fields)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadErrorIsNotParseError(t *testing.T) {
	errDisk := errors.New("input/output error")
	r, err := xml.NewReader(&failingReader{data: []byte("<a><r><x>1</x></r><r>"), err: errDisk}, xml.Options{File: "in.xml", Record: "a/r", Fields: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	_, err = r.Read()
	var pe *formats.ParseError
	if !errors.Is(err, errDisk) || errors.As(err, &pe) {
		t.Errorf("err = %v, want the read error, not a ParseError", err)
	}
}

// TestAroundAndConditions: "../" fields take values from the elements
// around the record (reset with each of them), and a step with a
// condition counts only when its condition holds.
func TestAroundAndConditions(t *testing.T) {
	doc := `<D><S><Acct>A1</Acct>
<Bal><Tp>PRCD</Tp><Amt>1</Amt></Bal>
<Bal><Tp>OPBD</Tp><Amt Ccy="EUR">10</Amt></Bal>
<Bal><Tp>CLBD</Tp><Amt>15</Amt></Bal>
<N><Amt>5</Amt><Dtl><Ref>r1</Ref></Dtl></N>
<N><Amt>-2</Amt></N>
</S>
<S><Bal><Tp>CLBD</Tp><Amt>3</Amt></Bal>
<N><Amt>3</Amt></N></S></D>`
	r, err := xml.NewReader(strings.NewReader(doc), xml.Options{File: "s.xml", Record: "D/S/N",
		Fields: []string{"Amt", "../Acct", "../Bal[Tp=OPBD]/Amt", "../Bal[Tp=OPBD]/Amt/@Ccy", "../Bal[Tp=CLBD]/Amt", "Dtl/Ref", "../../S/Acct"}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"5", "A1", "10", "EUR", "15", "r1", "A1"},
		{"-2", "A1", "10", "EUR", "15", "", "A1"},
		{"3", "", "", "", "3", "", "A1"}, // the first S/Acct of D
	}
	for i, w := range want {
		rec, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rec.Fields, "|") != strings.Join(w, "|") {
			t.Errorf("record %d = %q, want %q", i, rec.Fields, w)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("after the last record: %v", err)
	}
}

// TestHostileEntities: a document declaring entities (XXE, "billion
// laughs") is refused, never expanded or fetched.
func TestHostileEntities(t *testing.T) {
	for name, doc := range map[string]string{
		"xxe": `<?xml version="1.0"?><!DOCTYPE D [<!ENTITY x SYSTEM "file:///etc/passwd">]><D><N><Amt>&x;</Amt></N></D>`,
		"laughs": `<?xml version="1.0"?><!DOCTYPE D [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">` +
			`<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><D><N><Amt>&c;</Amt></N></D>`,
	} {
		t.Run(name, func(t *testing.T) {
			r, err := xml.NewReader(strings.NewReader(doc), xml.Options{File: "h.xml", Record: "D/N", Fields: []string{"Amt"}})
			if err == nil {
				_, err = r.Read()
			}
			var pe *formats.ParseError
			if !errors.As(err, &pe) || strings.Contains(err.Error(), "root:") || strings.Contains(err.Error(), "lol") {
				t.Errorf("got %v, want a parse error", err)
			}
		})
	}
}

// TestRecordAlternatives: a step of the record path may name alternatives,
// so that invoices and credit notes are read by one template.
func TestRecordAlternatives(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`<Invoice><ID>1</ID><InvoiceLine><Q>2</Q></InvoiceLine><InvoiceLine><Q>3</Q></InvoiceLine></Invoice>`, "1 2|1 3|"},
		{`<CreditNote><ID>9</ID><CreditNoteLine><Q>4</Q></CreditNoteLine></CreditNote>`, "9 4|"},
		{`<Order><ID>9</ID><InvoiceLine><Q>4</Q></InvoiceLine></Order>`, "error"},
	} {
		r, err := xml.NewReader(strings.NewReader(tc.doc), xml.Options{File: "d.xml", Record: "Invoice|CreditNote/InvoiceLine|CreditNoteLine", Fields: []string{"../ID", "Q"}})
		if err != nil {
			if tc.want != "error" {
				t.Errorf("%s: %v", tc.doc, err)
			}
			continue
		}
		var got strings.Builder
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				got.WriteString("error")
				break
			}
			got.WriteString(strings.Join(rec.Fields, " ") + "|")
		}
		if got.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.doc, got.String(), tc.want)
		}
	}
	for _, bad := range []string{"Invoice|/Line", "a/|b"} {
		if _, err := xml.NewReader(strings.NewReader("<a/>"), xml.Options{Record: bad, Fields: []string{"x"}}); err == nil {
			t.Errorf("record %q: no error", bad)
		}
	}
}

// TestOptionalRecordSteps: with Ntry/NtryDtls?/TxDtls?, every TxDtls is a
// record, and an Ntry without any is a record of its own.
func TestOptionalRecordSteps(t *testing.T) {
	doc := `<Doc><Stmt>
<Ntry><Amt>10</Amt><NtryDtls><TxDtls><Amt>4</Amt><Ref>a</Ref></TxDtls><TxDtls><Amt>6</Amt><Ref>b</Ref></TxDtls></NtryDtls></Ntry>
<Ntry><Amt>7</Amt></Ntry>
<Ntry><Amt>8</Amt><NtryDtls><Btch><NbOfTxs>3</NbOfTxs></Btch></NtryDtls></Ntry>
<Ntry><Amt>9</Amt><NtryDtls><TxDtls><Amt>9</Amt><Ref>c</Ref></TxDtls></NtryDtls></Ntry>
<Ntry><Amt>5</Amt></Ntry>
</Stmt></Doc>`
	r, err := xml.NewReader(strings.NewReader(doc), xml.Options{File: "d.xml", Record: "Doc/Stmt/Ntry/NtryDtls?/TxDtls?", Fields: []string{"../../Amt", "Amt", "Ref", "../Btch/NbOfTxs"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", rec.Pos.Row, strings.Join(rec.Fields, " ")))
	}
	want := []string{"2:10 4 a ", "2:10 6 b ", "3:7   ", "4:8   3", "5:9 9 c ", "6:5   "}
	if !slices.Equal(got, want) {
		t.Errorf("records\n%q\nwant\n%q", got, want)
	}
	for _, bad := range []string{"//Ntry/TxDtls?", "Doc?/Stmt", "Doc/Ntry?/TxDtls"} {
		if _, err := xml.NewReader(strings.NewReader(doc), xml.Options{Record: bad, Fields: []string{"x"}}); err == nil {
			t.Errorf("record %q: no error", bad)
		}
	}
}
