package layout_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/layout"
	"github.com/erpipe/erpipe/transform/template"
)

const ordersWant = `<?xml version="1.0" encoding="UTF-8"?>
<Orders xmlns="urn:example:orders" xmlns:x="urn:example:extra" count="5">
  <Total>16.75</Total>
  <Customer id="C1">
    <Lines>3</Lines>
    <Biggest>3.00</Biggest>
    <Order no="O-1">
      <Sum>4.00</Sum>
      <Line>
        <x:Item>Apple</x:Item>
        <Qty unit="pcs">2</Qty>
      </Line>
      <Line>
        <x:Item>Plum</x:Item>
        <Qty unit="pcs">10</Qty>
      </Line>
    </Order>
    <Order no="O-2">
      <Sum>1.50</Sum>
      <Line>
        <x:Item>Apple</x:Item>
        <Qty unit="pcs">1</Qty>
      </Line>
    </Order>
  </Customer>
  <Customer id="C2">
    <Lines>2</Lines>
    <Biggest>9.00</Biggest>
    <Order no="O-7">
      <Sum>11.25</Sum>
      <Line>
        <x:Item>Pear</x:Item>
        <Qty unit="pcs">1</Qty>
        <Note>gift &amp; wrap</Note>
      </Line>
      <Line>
        <x:Item>Fig</x:Item>
        <Qty unit="pcs">3</Qty>
      </Line>
    </Order>
  </Customer>
  <Smallest>1.00</Smallest>
</Orders>
`

func runOrders(t *testing.T) string {
	t.Helper()
	tmpl, err := transform.Load("testdata/orders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := tmpl.Run(context.Background(), "testdata/orders.csv", out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 1 || filepath.Base(res.Outputs[0]) != "orders.xml" {
		t.Fatalf("outputs %v", res.Outputs)
	}
	b, err := os.ReadFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestXMLOutputLayout(t *testing.T) {
	if got := runOrders(t); got != ordersWant {
		t.Errorf("got\n%s\nwant\n%s", got, ordersWant)
	}
}

// TestXMLOutputManyRuns forces the spool to sort in many runs and merge
// them: the document must be the same.
func TestXMLOutputManyRuns(t *testing.T) {
	old := *layout.SpoolRunBytes
	*layout.SpoolRunBytes = 1
	defer func() { *layout.SpoolRunBytes = old }()
	if got := runOrders(t); got != ordersWant {
		t.Errorf("got\n%s\nwant\n%s", got, ordersWant)
	}
}

func TestXMLOutputLoadErrors(t *testing.T) {
	tests := []struct{ layout, want string }{
		{"      A:\n        B: nosuch\n", `layout element B: unknown name "nosuch"`},
		{"      A:\n        B:\n          $each: rows2\n", "write $each: row"},
		{"      A:\n        B:\n          $group: x\n          C:\n            $group: x\n          D:\n            $group: x\n", "one $group per level"},
		{"      A:\n        B:\n          $where: x == 1\n          C: x\n", "$where goes with $each"},
		{"      A:\n        B: GROUPCOUNT(Nope)\n", "no element Nope with $group"},
		{"      A:\n        B: x\n    document_name: x\n", "give the root element a $group"},
		{"      A:\n        $group: x\n        B: x\n", "give output.xml.document_name"},
		{"      A:\n        B: SUM(x + 1)\n", "SUM takes the name of a field"},
		{"      A:\n        B:\n          $eachh: row\n", `unknown key "$eachh"`},
		{"      A:\n        B:\n          $value: x\n          C: x\n", "has a $value, so it can't also hold the element C"},
		{"      A: x\n      B: x\n", "exactly one element"},
		{"      1A: x\n", "not an XML element name"},
		{"      A:\n        B: x * 2\n", "layout element B: x is text, so x * 2 would fail on every row"},
		{"      A:\n        B:\n          $each: row\n          $if: x\n          C: x\n", "B $if: x is text, not a condition"},
		{"      A:\n        B:\n          $each: row\n          $where: x > 1\n          C: x\n", "x is text and 1 is a number, so x > 1 would fail on every row"},
		{"      A:\n        B:\n          $group: x\n          $where: x\n          C: x\n", "x is text, not a condition"},
	}
	for _, tt := range tests {
		src := "name: t\ninput:\n  fields:\n    - name: x\noutput:\n  xml:\n    layout:\n" + tt.layout
		dir := t.TempDir()
		p := writeFile(t, dir, "t.yaml", src)
		_, err := transform.Load(p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("layout\n%s: got %v, want an error containing %q", tt.layout, err, tt.want)
			continue
		}
		var te template.Errors
		if !errors.As(err, &te) || te[0].Line < 8 {
			t.Errorf("%q: want a file:line:col error in the layout, got %v", tt.want, err)
		}
	}
}

// TestXMLOutputControlTotalFails: a layout whose header does not count
// what it holds is caught before anything is published.
func TestXMLOutputControlTotalFails(t *testing.T) {
	src, err := os.ReadFile("testdata/orders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(src), "Lines: COUNT()", "Lines: COUNT() + 1", 1)
	dir := t.TempDir()
	p := writeFile(t, dir, "orders.yaml", bad)
	tmpl, err := transform.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err = tmpl.Run(context.Background(), "testdata/orders.csv", out)
	if err == nil || !strings.Contains(err.Error(), "control total lines") || !strings.Contains(err.Error(), "Customer/Lines says 4 but the number of Order/Line is 3") {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("%d files left in the output folder", len(entries))
	}
}

func TestParameters(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "t.yaml", `name: t
parameters:
  - {name: strict, type: boolean, default: false}
input:
  fields:
    - name: x
validations:
  - name: strict-x
    condition: x == "ok" || not strict
    message: x must be ok
output:
  csv:
    columns:
      x: x
`)
	tmpl, err := transform.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, dir, "in.csv", "x\nok\nbad\n")
	res, err := tmpl.Run(context.Background(), in, t.TempDir())
	if err != nil || res.Rejected != 0 {
		t.Fatalf("default: %v %+v", err, res)
	}
	strict, err := tmpl.WithParameters(map[string]string{"strict": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = strict.Run(context.Background(), in, t.TempDir())
	if err != nil || res.Rejected != 1 {
		t.Fatalf("strict: %v %+v", err, res)
	}
	if _, err := tmpl.WithParameters(map[string]string{"strikt": "yes"}); err == nil || !strings.Contains(err.Error(), `did you mean "strict"`) {
		t.Errorf("unknown parameter: %v", err)
	}
	if _, err := tmpl.WithParameters(map[string]string{"strict": "maybe"}); err == nil {
		t.Error("a bad value was accepted")
	}
}
