package xml_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/erpipe/erpipe/formats/xml"
)

func ExampleReader() {
	const statement = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt><Stmt>
    <Ntry>
      <Amt Ccy="EUR">105.00</Amt>
      <CdtDbtInd>CRDT</CdtDbtInd>
      <BookgDt><Dt>2024-05-02</Dt></BookgDt>
      <NtryDtls><TxDtls><Refs><EndToEndId>INV-42</EndToEndId></Refs></TxDtls></NtryDtls>
    </Ntry>
    <Ntry>
      <Amt Ccy="EUR">12.30</Amt>
      <CdtDbtInd>DBIT</CdtDbtInd>
      <BookgDt><Dt>2024-05-03</Dt></BookgDt>
    </Ntry>
  </Stmt></BkToCstmrStmt>
</Document>`
	r, err := xml.NewReader(strings.NewReader(statement), xml.Options{
		File:   "camt053.xml",
		Record: "Document/BkToCstmrStmt/Stmt/Ntry",
		Fields: []string{"Amt", "Amt/@Ccy", "CdtDbtInd", "BookgDt/Dt", "NtryDtls/TxDtls/Refs/EndToEndId"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %q (date at %s)\n", rec.Pos, rec.Fields, r.FieldPos(3))
	}
	// Output:
	// camt053.xml: row 4: ["105.00" "EUR" "CRDT" "2024-05-02" "INV-42"] (date at camt053.xml: row 7 column 4)
	// camt053.xml: row 10: ["12.30" "EUR" "DBIT" "2024-05-03" ""] (date at camt053.xml: row 13 column 4)
}
