package excel_test

import (
	"archive/zip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
)

// libreOfficeBook zips testdata/libreoffice, a workbook in the shape
// LibreOffice Calc saves (see testdata/README.md), into dir.
func libreOfficeBook(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "kunder.xlsx")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	src := filepath.Join("testdata", "libreoffice")
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate})
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLibreOffice: a workbook saved by LibreOffice reads as Excel shows
// it: shared strings, t="n" numbers, t="b" booleans, a formula's value,
// the title merged over the header's width and a name merged down two
// rows.
func TestLibreOffice(t *testing.T) {
	path := libreOfficeBook(t, t.TempDir())
	header := []string{"Account", "Name", "Group", "Credit limit", "Active", "Since"}
	tests := []struct {
		formatted bool
		want      [][]string
	}{
		{false, [][]string{
			{"C-001", "Fabrikam Norge AS", "10", "12500.5", "1", "44270"},
			{"C-002", "Contoso «Øst» & Co", "20", "25001", "0", "45321"},
			{"C-003", "Nordlys Handel", "10", "0", "1", ""},
			{"C-004", "Nordlys Handel", "10", "-150.25", "1", "45321"},
		}},
		{true, [][]string{
			{"C-001", "Fabrikam Norge AS", "10", "12500.5", "TRUE", "2021-03-15"},
			{"C-002", "Contoso «Øst» & Co", "20", "25001", "FALSE", "2024-01-30"},
			{"C-003", "Nordlys Handel", "10", "0", "TRUE", ""},
			{"C-004", "Nordlys Handel", "10", "-150.25", "TRUE", "2024-01-30"},
		}},
	}
	for _, tt := range tests {
		r, err := excel.Open(path, excel.Options{File: "kunder.xlsx", HeaderRow: 3, Formatted: tt.formatted})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Header(); !reflect.DeepEqual(got, header) {
			t.Errorf("Header = %q, want %q", got, header)
		}
		title := "Kundeliste eksportert 2026-12-01"
		above := []formats.Record{{Pos: formats.Pos{File: "kunder.xlsx", Sheet: "Kunder", Row: 1},
			Fields: []string{title, title, title, title, title, title}}}
		if got := r.Above(); !reflect.DeepEqual(got, above) {
			t.Errorf("Above = %q, want %q", got, above)
		}
		for i, w := range tt.want {
			rec, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			wantPos := formats.Pos{File: "kunder.xlsx", Sheet: "Kunder", Row: 4 + i}
			if rec.Pos != wantPos || !reflect.DeepEqual(rec.Fields, w) {
				t.Errorf("formatted=%v: Read = %v %q, want %v %q", tt.formatted, rec.Pos, rec.Fields, wantPos, w)
			}
		}
		if _, err := r.Read(); err != io.EOF {
			t.Errorf("last Read: %v, want io.EOF", err)
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
}
