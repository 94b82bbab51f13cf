package dmf_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/formats/dmf"
)

// entityBlock is a manifest entity with a map of cols.
func entityBlock(name, file, format string, cols ...string) string {
	var b strings.Builder
	b.WriteString("<EntityMapList>")
	for _, c := range cols {
		b.WriteString("<EntityMap><EntityField>" + c + "</EntityField><XMLField>" + c + "</XMLField></EntityMap>")
	}
	b.WriteString("</EntityMapList><EntityName>" + name + "</EntityName><InputFilePath>" + file +
		"</InputFilePath><SourceFormat>" + format + "</SourceFormat>")
	return b.String()
}

func TestCheck(t *testing.T) {
	utf16 := toUTF16LE("A,B\r\n1,2\r\n")
	cases := []struct {
		name    string
		entries []string
		want    []string // one substring per problem, in order
	}{
		{"consistent CSV-Unicode", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV-Unicode", "A", "B")), "E.csv", utf16}, nil},
		{"consistent CSV", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV", "A", "B")), "E.csv", "A,B\r\n1,2\r\n"}, nil},
		{"column in file, not in map", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV-Unicode", "A")), "E.csv", utf16},
			[]string{`E.csv (entity "E"): DMF2022: column "B" is in the file but not in the entity map`}},
		{"mapped column missing", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV-Unicode", "A", "B", "C")), "E.csv", utf16},
			[]string{`DMF2025: mapped column "C" is not in the file`}},
		{"no mapped column at all", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV-Unicode", "X", "Y")), "E.csv", utf16},
			[]string{`DMF1966: the file holds none of the 2 mapped columns (its header is "A", "B")`}},
		{"InputFilePath without entry", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV-Unicode", "A"))},
			[]string{`E.csv (entity "E"): warning: InputFilePath "E.csv" has no entry in the zip`}},
		{"Unicode file under CSV", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV", "A", "B")), "E.csv", utf16},
			[]string{`DMF1855: the file is UTF-16 (Unicode) but SourceFormat is CSV, so D365 fails with "Selected file is Unicode"`}},
		{"UTF-8 file under CSV-Unicode", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV-Unicode", "A", "B")), "E.csv", "A,B\n1,2\n"},
			[]string{"SourceFormat is CSV-Unicode, which D365 reads as UTF-16, but the file is UTF-8"}},
		{"non-ASCII under CSV", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV", "A", "B")), "E.csv", "A,B\n1,2\n3,Øst\n"},
			[]string{"warning: DMF1957: line 3 holds characters beyond ASCII"}},
		{"workbook under CSV", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV", "A")), "E.csv", "PK\x03\x04rest"},
			[]string{"DMF1855: the file is an Excel workbook but SourceFormat is CSV"}},
		{"XML field not in map", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.xml", "XML-Attribute", "A")),
			"E.xml", `<Document><E A="1" B="2"/><E A="3" C="4"/></Document>`},
			[]string{`DMF2022: field "B" of the first row is not in the entity map`}},
		{"two entities, one file", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV", "A"), entityBlock("F", "e.CSV", "CSV", "A")), "E.csv", "A\n1\n"},
			[]string{`entity "E" uses the same data file`}},
		{"stray entry", []string{"Manifest.xml", manifestWith("", entityBlock("E", "E.csv", "CSV", "A")), "E.csv", "A\n", "notes.txt", "x", "PackageHeader.xml", "<DataManagementPackageHeader/>"},
			[]string{"notes.txt: warning: no entity of the manifest uses this file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := openPackage(t, buildZip(t, tc.entries...))
			probs, err := p.Check()
			if err != nil {
				t.Fatal(err)
			}
			if len(probs) != len(tc.want) {
				t.Fatalf("%d problems %q, want %d", len(probs), probs, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(probs[i].Error(), w) {
					t.Errorf("problem %d: %q, want it to contain %q", i, probs[i].Error(), w)
				}
			}
		})
	}
}

// TestCheckOwnPackages: a package erpipe writes passes Check in every
// source format, and so does the Microsoft sample.
func TestCheckOwnPackages(t *testing.T) {
	for _, format := range []string{dmf.CSVUnicode, dmf.CSV, dmf.XMLElement, dmf.XMLAttribute, dmf.Excel} {
		e := dmf.Entity{Name: "General journal", Target: "LedgerJournalEntity", Columns: []string{"LINENUMBER", "TEXT", "DEBITAMOUNT"}, SourceFormat: format}
		rows := trickyRows
		if format == dmf.CSV {
			rows = trickyRows[:5] // ASCII only
		}
		p := openPackage(t, writePackage(t, dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{e}, [][][]string{rows}))
		if probs, err := p.Check(); err != nil || len(probs) > 0 {
			t.Errorf("%s: Check = %q, %v", format, probs, err)
		}
	}
	p := openPackage(t, filepath.Join("testdata", "usmf_asset-major-types-01.zip"))
	if probs, err := p.Check(); err != nil || len(probs) > 0 {
		t.Errorf("Microsoft sample: Check = %q, %v", probs, err)
	}
}

// rawZip writes entries with the headers given, compressing the content
// with Deflate but claiming what the header says.
func rawZip(t *testing.T, hdrs []zip.FileHeader, contents [][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range hdrs {
		h := hdrs[i]
		w, err := zw.CreateRaw(&h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(contents[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "raw.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHostileZips(t *testing.T) {
	manifest := manifestWith("", entityBlock("E", "E.csv", "CSV", "A"))
	zeros := bytes.Repeat([]byte{0}, 8<<20) // deflates about 1000:1
	bomb := buildZip(t, "Manifest.xml", manifest, "E.csv", string(zeros))
	cases := []struct {
		name   string
		path   string
		limits dmf.Limits
		want   string
	}{
		{"zip slip", buildZip(t, "Manifest.xml", manifest, "../../evil.csv", "x"), dmf.DefaultLimits, `"../../evil.csv" points outside the package`},
		{"zip slip inside a folder", buildZip(t, "Manifest.xml", manifest, "a/../../evil.csv", "x"), dmf.DefaultLimits, "points outside"},
		{"absolute path", buildZip(t, "Manifest.xml", manifest, "/tmp/evil.csv", "x"), dmf.DefaultLimits, "points outside"},
		{"windows absolute path", buildZip(t, "Manifest.xml", manifest, `C:\evil.csv`, "x"), dmf.DefaultLimits, "points outside"},
		{"duplicate names", buildZip(t, "Manifest.xml", manifest, "E.csv", "A\n", "e.CSV", "A\n"), dmf.DefaultLimits, `entries "E.csv" and "e.CSV" have the same name`},
		{"duplicate manifest", buildZip(t, "Manifest.xml", manifest, "MANIFEST.XML", manifest), dmf.DefaultLimits, "have the same name"},
		{"compression ratio", bomb, dmf.DefaultLimits, `entry "E.csv" inflates`},
		{"total size", buildZip(t, "Manifest.xml", manifest, "E.csv", strings.Repeat("A,B\n", 1000)), dmf.Limits{MaxTotalSize: 2000}, "refusing a possible zip bomb"},
		{"too many entries", buildZip(t, "Manifest.xml", manifest, "E.csv", "A\n", "F.csv", "A\n"), dmf.Limits{MaxEntries: 2}, "the zip has 3 entries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := dmf.OpenWithLimits(tc.path, tc.limits)
			if err == nil {
				p.Close()
				t.Fatalf("opened, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dmf: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}

	// An entry that claims a small size but inflates to more is cut off
	// by archive/zip: the bound holds while reading.
	var deflated bytes.Buffer
	{
		zw := zip.NewWriter(&deflated)
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "x", Method: zip.Deflate})
		w.Write([]byte("A\n" + strings.Repeat("1\n", 100000)))
		zw.Close()
	}
	zr, err := zip.NewReader(bytes.NewReader(deflated.Bytes()), int64(deflated.Len()))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := zr.File[0].OpenRaw()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(raw)
	lying := rawZip(t, []zip.FileHeader{
		{Name: "Manifest.xml", Method: zip.Store, UncompressedSize64: uint64(len(manifest)), CompressedSize64: uint64(len(manifest)), CRC32: crc(manifest)},
		{Name: "E.csv", Method: zip.Deflate, UncompressedSize64: 100, CompressedSize64: uint64(len(body)), CRC32: zr.File[0].CRC32},
	}, [][]byte{[]byte(manifest), body})
	p := openPackage(t, lying)
	r, readErr := p.Open(0)
	if readErr == nil {
		defer r.Close()
		for readErr == nil {
			_, readErr = r.Read()
		}
	}
	if errors.Is(readErr, io.EOF) || !strings.Contains(readErr.Error(), zip.ErrFormat.Error()) {
		t.Errorf("reading an entry larger than declared: %v, want zip.ErrFormat", readErr)
	}
}

// TestUnpackStaysInside: unpacking through the reader writes nothing
// outside the target folder, whatever the entry names say.
func TestUnpackStaysInside(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "out")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../evil.csv", "../../evil.csv", "/evil.csv", `..\evil.csv`} {
		path := buildZip(t, "Manifest.xml", manifestWith("", entityBlock("E", name, "CSV", "A")), name, "A\n1\n")
		if p, err := dmf.Open(path); err == nil {
			p.Close()
			t.Errorf("%q: opened", name)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("the folder around the target holds %d entries, want only out/", len(entries))
	}
}

func crc(s string) uint32 {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "c", Method: zip.Store})
	io.WriteString(w, s)
	zw.Close()
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	return zr.File[0].CRC32
}

// TestCustomersV3Export reads the real Customers V3 export (FastTrack,
// 212 columns) with the csv reader, then as the data file of a package in
// each CSV format, and checks the package and a repacked copy.
func TestCustomersV3Export(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "customers-v3-export.csv"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := csv.NewReader(bytes.NewReader(data), csv.Options{File: "Customers V3.csv"})
	if err != nil {
		t.Fatal(err)
	}
	header := r.Header()
	if len(header) != 212 || header[0] != "CUSTOMERACCOUNT" {
		t.Fatalf("header of %d columns starting %q, want 212 starting CUSTOMERACCOUNT", len(header), header[:1])
	}
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
	if len(rows) != 3 || rows[0][0] != "IMP-110143" {
		t.Fatalf("%d rows, first %q", len(rows), rows[0][:1])
	}

	// As the data file of a CSV package, D365's export shape.
	p := openPackage(t, buildZip(t,
		"Manifest.xml", manifestWith("", entityBlock("Customers V3", "Customers V3.csv", "CSV", header...)),
		"Customers V3.csv", string(data)))
	if probs, err := p.Check(); err != nil || len(probs) > 0 {
		t.Errorf("Check = %q, %v", probs, err)
	}
	gotHeader, recs := readAll(t, p, 0)
	if !slices.Equal(gotHeader, header) || !slices.EqualFunc(fields(recs), rows, slices.Equal) {
		t.Errorf("the package reads differently from the file")
	}

	// The same file under CSV-Unicode is what D365 refuses.
	p = openPackage(t, buildZip(t,
		"Manifest.xml", manifestWith("", entityBlock("Customers V3", "Customers V3.csv", "CSV-Unicode", header...)),
		"Customers V3.csv", string(data)))
	if probs, _ := p.Check(); len(probs) != 1 || probs[0].Code != dmf.CodeWrongFileType {
		t.Errorf("Check under CSV-Unicode = %q, want one DMF1855", probs)
	}

	// Repacked by erpipe as CSV-Unicode, it reads back the same.
	e := dmf.Entity{Name: "Customers V3", Target: "CustCustomerV3Entity", Columns: header}
	p = openPackage(t, writePackage(t, dmf.Options{DefinitionGroup: "Customers"}, []dmf.Entity{e}, [][][]string{rows}))
	if probs, err := p.Check(); err != nil || len(probs) > 0 {
		t.Errorf("repacked: Check = %q, %v", probs, err)
	}
	gotHeader, recs = readAll(t, p, 0)
	if !slices.Equal(gotHeader, header) || !slices.EqualFunc(fields(recs), rows, slices.Equal) {
		t.Errorf("the repacked package reads differently from the file")
	}
	if pos := recs[0].Pos; pos != (formats.Pos{File: "package.zip/Customers V3.csv", Row: 2}) {
		t.Errorf("first record at %+v", pos)
	}
}

// skeleton lists the elements of a package document as
// depth/namespace/name, with the attributes on each, leaving out values.
func skeleton(t *testing.T, text string, skip map[string]bool) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(text))
	var out []string
	depth := 0
	skipping := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if skipping > 0 || skip[tok.Name.Local] {
				skipping++
				continue
			}
			var attrs []string
			for _, a := range tok.Attr {
				attrs = append(attrs, a.Name.Space+":"+a.Name.Local+"="+map[bool]string{true: a.Value, false: "…"}[a.Name.Space == "xmlns" || a.Name.Local == "xmlns" || a.Name.Local == "nil"])
			}
			out = append(out, fmt.Sprintf("%d %s %s %v", depth, tok.Name.Space, tok.Name.Local, attrs))
		case xml.EndElement:
			depth--
			if skipping > 0 {
				skipping--
			}
		}
	}
}

// TestStructureMatchesSample: the documents of a package erpipe writes for
// another entity, in another format, have the elements, order, namespaces
// and encoding of the real sample's, only the values differ (and the
// elements PackageVersion 2 adds).
func TestStructureMatchesSample(t *testing.T) {
	_, sample := zipEntries(t, filepath.Join("testdata", "usmf_asset-major-types-01.zip"))
	path := writePackage(t, dmf.Options{DefinitionGroup: "Customer import"},
		[]dmf.Entity{{Name: "Customers V3", Target: "CustCustomerV3Entity", Columns: []string{"CUSTOMERACCOUNT", "ORGANIZATIONNAME"}}},
		[][][]string{{{"C1", "Contoso"}}})
	_, got := zipEntries(t, path)
	v2 := map[string]bool{"Disable": true, "QueryFilter": true, "TargetEntity": true, "ProjectCategory": true, "RulesData": true}
	for _, name := range []string{"Manifest.xml", "PackageHeader.xml"} {
		for what, b := range map[string][]byte{"sample": sample[name], "ours": got[name]} {
			if !bytes.HasPrefix(b, []byte{0xFF, 0xFE, '<', 0}) {
				t.Errorf("%s %s is not UTF-16 LE with BOM starting with '<'", what, name)
			}
		}
		want := skeleton(t, fromUTF16(t, sample[name]), nil)
		have := skeleton(t, fromUTF16(t, got[name]), v2)
		if !slices.Equal(have, want) {
			t.Errorf("%s structure differs\n got %q\nwant %q", name, have, want)
		}
	}
}

// TestRepack: pack → unpack → pack gives byte-identical data files, for
// every source format.
func TestRepack(t *testing.T) {
	for _, format := range []string{dmf.CSVUnicode, dmf.CSV, dmf.XMLElement, dmf.XMLAttribute, dmf.Excel} {
		t.Run(format, func(t *testing.T) {
			entities := []dmf.Entity{
				{Name: "General journal", Target: "LedgerJournalEntity", Columns: []string{"LINENUMBER", "TEXT", "DEBITAMOUNT"}, SourceFormat: format, Level: 2},
				{Name: "Currencies", Target: "CurrencyEntity", Columns: []string{"CURRENCYCODE"}, SourceFormat: format},
			}
			rows := [][][]string{trickyRows, {{"EUR"}, {"NOK"}}}
			first := writePackage(t, dmf.Options{DefinitionGroup: "G"}, entities, rows)
			p := openPackage(t, first)
			var again []dmf.Entity
			var againRows [][][]string
			for i, e := range p.Entities {
				_, recs := readAll(t, p, i)
				again = append(again, e.Entity)
				againRows = append(againRows, fields(recs))
			}
			second := writePackage(t, dmf.Options{DefinitionGroup: "G"}, again, againRows)
			_, a := zipEntries(t, first)
			_, b := zipEntries(t, second)
			for name, data := range a {
				if name == "Manifest.xml" || name == "PackageHeader.xml" || format == dmf.Excel {
					continue
				}
				if !bytes.Equal(data, b[name]) {
					t.Errorf("%s differs after a round trip", name)
				}
			}
			if !bytes.Equal(a["Manifest.xml"], b["Manifest.xml"]) {
				t.Errorf("Manifest.xml differs after a round trip")
			}
			if format == dmf.Excel { // the workbooks' rows, compared as read
				p2 := openPackage(t, second)
				for i := range p.Entities {
					_, r1 := readAll(t, p, i)
					_, r2 := readAll(t, p2, i)
					if !slices.EqualFunc(fields(r1), fields(r2), slices.Equal) {
						t.Errorf("%s: rows differ after a round trip", p.Entities[i].Name)
					}
				}
			}
		})
	}
}
