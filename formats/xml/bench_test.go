package xml_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/erpipe/erpipe/formats/xml"
)

// statement returns a camt.053-like document of n entries, in memory.
func statement(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>` + "\n")
	for i := range n {
		fmt.Fprintf(&b, `  <Ntry>
    <NtryRef>%d</NtryRef>
    <Amt Ccy="EUR">%d.%02d</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd>
    <Sts>BOOK</Sts>
    <BookgDt><Dt>2024-05-%02d</Dt></BookgDt>
    <ValDt><Dt>2024-05-%02d</Dt></ValDt>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls>
      <Refs><EndToEndId>INV-%08d</EndToEndId><TxId>TX%d</TxId></Refs>
      <RltdPties><Dbtr><Nm>The "Łukasiewicz" Trading &amp; Co</Nm></Dbtr></RltdPties>
      <RmtInf><Ustrd>Invoice %d crème brûlée</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
  </Ntry>
`, i, i%100000, i%100, i%28+1, i%28+1, i, i, i)
	}
	b.WriteString("</Stmt></BkToCstmrStmt></Document>\n")
	return b.Bytes()
}

func BenchmarkReader(b *testing.B) {
	data := statement(50_000)
	for _, record := range []string{"Document/BkToCstmrStmt/Stmt/Ntry", "//Ntry"} {
		b.Run(record, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := xml.NewReader(bytes.NewReader(data), xml.Options{Record: record, Fields: camtFields})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := r.Read()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != 50_000 {
					b.Fatalf("read %d records", n)
				}
			}
		})
	}
}
