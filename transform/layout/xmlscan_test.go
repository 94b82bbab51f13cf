package layout

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

// scanEvents lists a document's tags as the scanner reads them: kind,
// local name, line, and at an end tag the text before it.
func scanEvents(doc string) ([]string, error) {
	s := newXMLScanner(strings.NewReader(doc))
	var out []string
	for {
		kind, err := s.next()
		if err != nil {
			return out, err
		}
		switch kind {
		case scanEOF:
			return out, nil
		case scanStart:
			out = append(out, fmt.Sprintf("start %s line %d", s.name, s.line))
		case scanEnd:
			out = append(out, fmt.Sprintf("end %s line %d text %q", s.name, s.line, s.textValue()))
		}
	}
}

// decoderEvents lists them as encoding/xml's Decoder reads them.
func decoderEvents(doc string) ([]string, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	var out []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		line, _ := d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			out = append(out, fmt.Sprintf("start %s line %d", t.Name.Local, line))
			text.Reset()
		case xml.EndElement:
			out = append(out, fmt.Sprintf("end %s line %d text %q", t.Name.Local, line, text.String()))
			text.Reset()
		case xml.CharData:
			text.Write(t)
		}
	}
}

var scanDocs = []string{
	`<?xml version="1.0" encoding="UTF-8"?>
<AuditFile xmlns="urn:StandardAuditFile-Taxation-Financial:NO">
  <Header>
    <AuditFileVersion>1.30</AuditFileVersion>
  </Header>
  <GeneralLedgerEntries>
    <NumberOfEntries>2</NumberOfEntries>
    <Journal>
      <Transaction>
        <Line>
          <DebitAmount>
            <Amount>100.50</Amount>
          </DebitAmount>
        </Line>
        <Empty/>
        <Empty2 />
      </Transaction>
    </Journal>
  </GeneralLedgerEntries>
</AuditFile>
`,
	`<a x="1 > 2" y='it"s &gt;' z="&lt;&quot;>"><b>x &amp; y &lt; z &#65;&#x42;</b><!-- a > comment -->` +
		`<c><![CDATA[<raw> & ]]>text</c><?pi a > b?><p:d xmlns:p="urn:p">1</p:d></a>`,
	"<a\n  attr=\"multi\nline\"\n>\r\n text\r\n</a\n>",
	`<!DOCTYPE a><a><b/><b></b></a>`,
}

// TestXMLScannerMatchesDecoder: the scanner reads what encoding/xml reads.
func TestXMLScannerMatchesDecoder(t *testing.T) {
	for i, doc := range scanDocs {
		want, err := decoderEvents(doc)
		if err != nil {
			t.Fatalf("doc %d: encoding/xml: %v", i, err)
		}
		got, err := scanEvents(doc)
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("doc %d:\ngot\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// FuzzXMLScanner: on any document encoding/xml reads without error, the
// scanner reads the same tags, lines and texts.
func FuzzXMLScanner(f *testing.F) {
	for _, d := range scanDocs {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		want, err := decoderEvents(doc)
		if err != nil || declares(doc) {
			return // not well-formed, or with a declaration (the scanner skips only a simple one)
		}
		got, err := scanEvents(doc)
		if err != nil {
			t.Fatalf("scanner: %v on a document encoding/xml reads", err)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// declares reports whether doc has a <! that is not a comment or CDATA.
func declares(doc string) bool {
	for i := strings.Index(doc, "<!"); i >= 0; i = strings.Index(doc, "<!") {
		doc = doc[i:]
		if !strings.HasPrefix(doc, "<!--") && !strings.HasPrefix(doc, "<![CDATA[") {
			return true
		}
		doc = doc[2:]
	}
	return false
}
