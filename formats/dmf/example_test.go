package dmf_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/shopspring/decimal"
)

func Example() {
	dir, err := os.MkdirTemp("", "dmf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "customers.zip")

	// Write a package of one CSV-Unicode entity.
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w, err := dmf.NewWriter(f, dmf.Options{DefinitionGroup: "Customer import"}, []dmf.Entity{{
		Name:    "Customers V3",
		Target:  "CustCustomerV3Entity",
		Columns: []string{"CUSTOMERACCOUNT", "ORGANIZATIONNAME", "CREDITLIMIT", "CREATEDON"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	limit := decimal.RequireFromString("25000.00")
	created := time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC)
	if err := w.Write(0, []string{"US-001", "Contoso, Ltd.", dmf.FormatValue(limit), dmf.FormatValue(created)}); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	// Read it back.
	p, err := dmf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	for i, e := range p.Entities {
		fmt.Printf("%s (%s) in %q as %s\n", e.Name, e.Target, e.InputFilePath, e.SourceFormat)
		r, err := p.Open(i)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Header())
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s: %q\n", rec.Pos, rec.Fields)
		}
		r.Close()
	}
	// Output:
	// Customers V3 (CustCustomerV3Entity) in "Customers V3.csv" as CSV-Unicode
	// [CUSTOMERACCOUNT ORGANIZATIONNAME CREDITLIMIT CREATEDON]
	// customers.zip/Customers V3.csv: row 2: ["US-001" "Contoso, Ltd." "25000.00" "2024-05-31 00:00:00"]
}
