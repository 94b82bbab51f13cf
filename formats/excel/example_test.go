package excel_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "customers.xlsx")

	// A workbook with a title row, the header in row 3 and a stray value.
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "Customers")
	f.SetSheetRow("Customers", "A1", &[]any{"Customers May 2024"})
	f.SetSheetRow("Customers", "A3", &[]any{"Account", "Name", "Credit limit"})
	f.SetSheetRow("Customers", "A4", &[]any{"C-001", "Contoso", 12500.5})
	f.SetSheetRow("Customers", "A6", &[]any{"C-002", "Fabrikam", nil, "note"})
	f.SaveAs(path)
	f.Close()

	r, err := excel.Open(path, excel.Options{File: "customers.xlsx", Sheet: "Customers", HeaderRow: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	fmt.Println(r.Header())
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *formats.ParseError
		if errors.As(err, &pe) {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %q\n", rec.Pos, rec.Fields)
	}
	// Output:
	// [Account Name Credit limit]
	// customers.xlsx: sheet "Customers" row 4: ["C-001" "Contoso" "12500.5"]
	// customers.xlsx: sheet "Customers" row 6 column D: value "note" in column D but the header has no name there; add a header or delete the value
}
