package csv_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
)

func ExampleReader() {
	in := "Account;Name;Amount\n" +
		"C-001;\"Contoso; Ltd\";12,50\n" +
		"\n" +
		"C-002;Fabrikam;7\n" +
		"C-003;Litware;1;2\n"
	r, err := csv.NewReader(strings.NewReader(in), csv.Options{File: "customers.csv", Comma: ';'})
	if err != nil {
		fmt.Println(err)
		return
	}
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
		fmt.Printf("%s: %q (amount at %s)\n", rec.Pos, rec.Fields, r.FieldPos(2))
	}
	// Output:
	// [Account Name Amount]
	// customers.csv: row 2: ["C-001" "Contoso; Ltd" "12,50"] (amount at customers.csv: row 2 column 3)
	// customers.csv: row 4: ["C-002" "Fabrikam" "7"] (amount at customers.csv: row 4 column 3)
	// customers.csv: row 5: row has 4 values but the header has 3 columns; check for an unquoted delimiter (';') in a value: put such values in quotes
}

func ExampleWriter() {
	w, err := csv.NewWriter(os.Stdout, csv.WriterOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	w.Write([]string{"CUSTOMERACCOUNT", "NAME", "NOTE"})
	w.Write([]string{"C-001", "Contoso, Ltd", `the "best"`})
	w.Write([]string{"C-002", " padded", ""})
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// CUSTOMERACCOUNT,NAME,NOTE
	// C-001,"Contoso, Ltd","the ""best"""
	// C-002," padded",
}
