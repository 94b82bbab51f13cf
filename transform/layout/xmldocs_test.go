package layout_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocumentsByGroup: one document per group, each named by its data
// ($name); rates typed 25, 25.0 and 25.00 are one group.
func TestDocumentsByGroup(t *testing.T) {
	tmpl, err := loadString(t, `name: docs
input:
  fields:
    - {name: doc, column: Doc}
    - {name: kind, column: Kind}
    - {name: rate, column: Rate, type: decimal}
    - {name: amount, column: Amount, type: decimal}
output:
  file_name: '"x.xml"'
  xml:
    namespace: urn:doc
    document_name: 'doc + ".xml"'
    layout:
      Invoice:
        $group: doc
        $name: IF(kind == "credit", "CreditNote", "Invoice")
        Sub:
          $group: rate
          Rate: rate
          Sum: SUM(amount)
        Line:
          $each: row
          $name: IF(kind == "credit", "CreditLine", "InvoiceLine")
          Amount: amount
`)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", "Doc,Kind,Rate,Amount\nA,invoice,25,10.00\nA,invoice,25.0,5.00\nA,invoice,15,1.00\nB,credit,25.00,2.00\n")
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := tmpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 2 {
		t.Fatalf("outputs %v", res.Outputs)
	}
	a, _ := os.ReadFile(filepath.Join(out, "A.xml"))
	b, _ := os.ReadFile(filepath.Join(out, "B.xml"))
	if got := strings.Count(string(a), "<Sub>"); got != 2 {
		t.Errorf("A has %d rate groups, want 2 (25 and 25.0 are one):\n%s", got, a)
	}
	if !strings.Contains(string(a), "<Sum>15.00</Sum>") || !strings.Contains(string(a), "<InvoiceLine>") {
		t.Errorf("A:\n%s", a)
	}
	if !strings.Contains(string(b), `<CreditNote xmlns="urn:doc">`) || !strings.Contains(string(b), "<CreditLine>") || strings.Contains(string(b), "<Invoice") {
		t.Errorf("B:\n%s", b)
	}
}

// TestNameMustBeXMLName: $name giving something that is not an element
// name fails the run, naming the element.
func TestNameMustBeXMLName(t *testing.T) {
	tmpl, err := loadString(t, `name: docs
input:
  fields:
    - {name: tag, column: Tag}
output:
  file_name: '"x.xml"'
  xml:
    layout:
      Doc:
        Item:
          $each: row
          $name: tag
          $value: '"x"'
`)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", "Tag\nGood\nnot a name\n")
	_, err = tmpl.Run(context.Background(), in, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `"not a name"`) || !strings.Contains(err.Error(), "$name") {
		t.Errorf("err = %v", err)
	}
}

// TestPosition: POSITION() numbers the groups of an element from 1, in
// the order they first appear, and input.id names the run.
func TestPosition(t *testing.T) {
	tmpl, err := loadString(t, `name: pos
input:
  fields:
    - {name: block, column: Block}
output:
  file_name: '"x.xml"'
  xml:
    layout:
      Doc:
        Id: input.id
        Block:
          $group: block
          Id: CONCAT(input.id, "-", POSITION())
          Key: block
`)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", "Block\nb\na\nb\nc\n")
	res, err := tmpl.Run(context.Background(), in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(res.Outputs[0])
	// The run id, without a job, is the start of the file's SHA-256.
	const id = "bfe7048517585112"
	for _, want := range []string{"<Id>" + id + "</Id>", "<Id>" + id + "-1</Id>\n    <Key>b</Key>", "<Id>" + id + "-2</Id>\n    <Key>a</Key>", "<Id>" + id + "-3</Id>\n    <Key>c</Key>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %q in\n%s", want, b)
		}
	}
}
