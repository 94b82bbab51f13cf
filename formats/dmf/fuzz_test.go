package dmf_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/internal/memtest"
)

// maxFuzzRecords bounds the records read per entity in one fuzz input.
const maxFuzzRecords = 10000

// readPackage opens a package held in data and reads every entity to the
// end. It must never panic, and every record must have as many fields as
// the header. Excel data is read only when excel is set (into tempDir): it
// costs milliseconds per input, which starves the fuzzer.
func readPackage(t *testing.T, data []byte, tempDir string, excel bool) {
	p, err := dmf.OpenReader(bytes.NewReader(data), int64(len(data)), "fuzz.zip")
	if err != nil {
		return
	}
	defer p.Close()
	p.TempDir = tempDir
	hasExcel := false
	for _, e := range p.Entities {
		hasExcel = hasExcel || e.SourceFormat == dmf.Excel
	}
	if excel || !hasExcel {
		// Check reads every data file; it must not panic, whatever they hold.
		probs, _ := p.Check()
		for _, pr := range probs {
			_ = pr.Error()
		}
	}
	for i := range p.Entities {
		if !p.HasData(i) || !excel && p.Entities[i].SourceFormat == dmf.Excel {
			continue
		}
		r, err := p.Open(i)
		if err != nil {
			continue
		}
		for n := 0; n < maxFuzzRecords; n++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				// A bad row may be followed by good ones; a broken file
				// ends in EOF after its error.
				continue
			}
			if len(rec.Fields) != len(r.Header()) {
				t.Fatalf("record has %d fields, header %d", len(rec.Fields), len(r.Header()))
			}
			for j := range rec.Fields {
				_ = r.FieldPos(j).String()
			}
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// FuzzReader feeds random bytes to OpenReader as a zip and reads what
// opens. EXCEL data is skipped: the zip's checksums let only intact
// workbooks through, and FuzzExcelData covers the Excel reader.
func FuzzReader(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("testdata", "usmf_asset-major-types-01.zip"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	for _, tc := range otherFormats {
		b, err := os.ReadFile(writePackage(f, dmf.Options{DefinitionGroup: "G"},
			[]dmf.Entity{customers, countries(tc.format)}, [][][]string{customerRows, countryRows}))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		memtest.Ceiling(t, 64*uint64(len(data))+64<<20, func() { readPackage(t, data, dir, false) })
	})
}

// FuzzEntityData puts random bytes as the data file into a valid package,
// in each text source format, so that the CSV and XML readers get the
// fuzzing.
func FuzzEntityData(f *testing.F) {
	fuzzData(f, []string{dmf.CSVUnicode, dmf.CSV, dmf.XMLElement, dmf.XMLAttribute})
}

// FuzzExcelData is FuzzEntityData for EXCEL data files. Each input costs a
// few milliseconds (excelize opens a workbook), so it runs slowly.
func FuzzExcelData(f *testing.F) {
	fuzzData(f, []string{dmf.Excel})
}

func fuzzData(f *testing.F, formatList []string) {
	// The package documents of entity E in each format, made once.
	type doc struct{ name, data string }
	docs := make([][]doc, len(formatList))
	names := make([]string, len(formatList))
	for i, format := range formatList {
		e := dmf.Entity{Name: "E", Target: "T", Columns: []string{"A", "B"}, SourceFormat: format}
		names[i] = dmf.DataFileName(e)
		_, entries := zipEntries(f, writePackage(f, dmf.Options{DefinitionGroup: "G"}, []dmf.Entity{e}, nil))
		for _, n := range []string{"Manifest.xml", "PackageHeader.xml"} {
			docs[i] = append(docs[i], doc{n, string(entries[n])})
		}
	}
	for _, tc := range otherFormats {
		k := slices.Index(formatList, tc.format)
		if k < 0 {
			continue
		}
		_, data := zipEntries(f, writePackage(f, dmf.Options{DefinitionGroup: "G"},
			[]dmf.Entity{customers, countries(tc.format)}, [][][]string{customerRows, countryRows}))
		f.Add(uint8(k), data[tc.file])
		if k == 1 {
			f.Add(uint8(0), data["Customers V3.csv"])
			f.Add(uint8(2), []byte(`<Document><T A="1"><B>x</B></T></Document>`))
			f.Add(uint8(0), []byte("A,B\n1,\"2\n3\"\n"))
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, format uint8, data []byte) {
		k := int(format) % len(formatList)
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		add := func(name string, b []byte) {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			if err == nil {
				_, err = w.Write(b)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		add(names[k], data)
		for _, d := range docs[k] {
			add(d.name, []byte(d.data))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		readPackage(t, buf.Bytes(), dir, true)
	})
}
