package excel_test

import (
	"archive/zip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
)

// TestWorkbookLimits: a workbook whose shared strings or sheet unpack
// past the limits is refused before it is unpacked (the 1 GiB shared
// string is only declared, as a crafted file would), with a
// *formats.LimitError that names the setting; a normal one opens.
func TestWorkbookLimits(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.xlsx")
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "A1", &[]any{"Name", "Amount"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"Contoso", 12})
	if err := f.SaveAs(ok); err != nil {
		t.Fatal(err)
	}
	r, err := excel.Open(ok, excel.Options{File: "ok.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := excel.Open(ok, excel.Options{File: "ok.xlsx", Limits: formats.Limits{SharedStringsBytes: 10}}); !isLimit(err, "limits.shared_strings_bytes") {
		t.Errorf("shared strings past a 10-byte limit: %v", err)
	}
	if _, err := excel.Open(ok, excel.Options{File: "ok.xlsx", Limits: formats.Limits{SheetBytes: 10}}); !isLimit(err, "limits.sheet_bytes") {
		t.Errorf("a sheet past a 10-byte limit: %v", err)
	}

	bomb := filepath.Join(dir, "bomb.xlsx")
	out, err := os.Create(bomb)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	body := []byte("<sst><si><t>x</t></si></sst>")
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/sharedStrings.xml", Method: zip.Store,
		CompressedSize64: uint64(len(body)), UncompressedSize64: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	zw.Close()
	out.Close()
	if err := excel.CheckSizes(bomb, "bomb.xlsx", formats.Limits{}); !isLimit(err, "limits.shared_strings_bytes") {
		t.Errorf("a 1 GiB table of shared strings: %v", err)
	}
}

// TestSharedStringCount: a table of many short shared strings (excelize
// keeps each in memory) is refused past the count, however small it is
// unpacked; one within the count opens.
func TestSharedStringCount(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "many.xlsx")
	f := excelize.NewFile()
	for i := range 50 {
		f.SetCellValue("Sheet1", fmt.Sprintf("A%d", i+1), fmt.Sprintf("s%d", i))
	}
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	if err := excel.CheckSizes(p, "many.xlsx", formats.Limits{SharedStrings: 20}); !isLimit(err, "limits.shared_strings") {
		t.Errorf("50 strings past a count of 20: %v", err)
	}
	if err := excel.CheckSizes(p, "many.xlsx", formats.Limits{SharedStrings: 50}); err != nil {
		t.Errorf("50 strings within a count of 50: %v", err)
	}
}

// TestSharedStringCountAcrossChunks: a table larger than one read, with
// tags cut by the reads' ends, is counted exactly.
func TestSharedStringCountAcrossChunks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.xlsx")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	w, err := zw.Create("xl/sharedStrings.xml")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("<sst>"))
	for i := range 30000 {
		fmt.Fprintf(w, `<si><t>%d</t></si><si t="x"><t/></si>`, i) // tags of two kinds, at every offset
	}
	w.Write([]byte("</sst>"))
	zw.Close()
	out.Close()
	if err := excel.CheckSizes(p, "big.xlsx", formats.Limits{SharedStrings: 59999}); !isLimit(err, "limits.shared_strings") {
		t.Errorf("60000 strings past a count of 59999: %v", err)
	}
	if err := excel.CheckSizes(p, "big.xlsx", formats.Limits{SharedStrings: 60000}); err != nil {
		t.Errorf("60000 strings within a count of 60000: %v", err)
	}
}

func isLimit(err error, setting string) bool {
	var le *formats.LimitError
	return errors.As(err, &le) && le.Setting == setting
}
