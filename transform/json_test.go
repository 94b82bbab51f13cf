package transform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const jsonInTemplate = `name: j
input:
  json:
    record: invoices
  fields:
    - {name: company, column: ../company}
    - {name: number, required: true}
    - {name: customer, column: customer.id}
    - {name: total, type: decimal}
    - {name: first_sku, column: "lines[0].sku"}
output:
  csv:
    columns:
      Company: company
      Number: number
      Customer: customer
      Total: total
      First SKU: first_sku
`

func TestJSONInput(t *testing.T) {
	tpl, err := loadString(t, jsonInTemplate)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "invoices.json")
	doc := `{"company": "Fabrikam", "invoices": [
  {"number": "INV-1", "customer": {"id": "C-7"}, "total": 120.50, "lines": [{"sku": "A"}]},
  {"number": "INV-2", "customer": {"id": "C-8"}, "total": "12x"},
  {"customer": {"id": "C-9"}, "total": 0.10}
]}`
	if err := os.WriteFile(in, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := tpl.Run(context.Background(), in, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 3 || res.Written != 1 || res.Rejected != 2 {
		t.Fatalf("read %d, written %d, rejected %d", res.Read, res.Written, res.Rejected)
	}
	for i, want := range []string{`invoices.json: row 3 column 3 ("total")`, `invoices.json: row 4 column 3 ("number")`} {
		if got := res.Errors[i].Error(); !strings.Contains(got, want) {
			t.Errorf("rejected row %d: %s, want %s", i+1, got, want)
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, "invoices.csv"))
	if want := "Company,Number,Customer,Total,First SKU\nFabrikam,INV-1,C-7,120.50,A\n"; string(got) != want {
		t.Errorf("output %q, want %q", got, want)
	}
	// A document cut short fails with its place.
	if err := os.WriteFile(in, []byte(doc[:60]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Run(context.Background(), in, t.TempDir()); err == nil || !strings.Contains(err.Error(), "invoices.json: row 2") {
		t.Errorf("a document cut short: %v", err)
	}
}

func TestJSONLoadErrors(t *testing.T) {
	tests := []struct{ old, new, want string }{
		{"record: invoices", "record: invoices..x", `t.yaml:4:13: input.json.record: json: record path "invoices..x" has an empty step`},
		{"column: ../company", "column: ../../company", `input.fields: field "company": json: field "../../company" goes up 2 levels`},
		{"  json:\n", "  format: json\n  jsn:\n", `unknown key "jsn" in input`},
	}
	for _, tt := range tests {
		_, err := loadString(t, strings.Replace(jsonInTemplate, tt.old, tt.new, 1))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %s", tt.new, err, tt.want)
		}
	}
}

const jsonOutTemplate = `name: jo
input:
  fields:
    - {name: company}
    - {name: number}
    - {name: sku}
    - {name: amount, type: decimal}
    - {name: due, type: date}
    - {name: paid, type: boolean}
output:
  json:
    schema: invoices.schema.json
    layout:
      company: company
      count: COUNT()
      invoices:
        $group: number
        number: number
        due: due
        paid: paid
        total: SUM(amount)
        lines:
          $each: row
          sku: sku
          amount: amount
`

func TestJSONOutput(t *testing.T) {
	dir := t.TempDir()
	tplPath := filepath.Join(dir, "jo.yaml")
	schema, err := os.ReadFile("testdata/json/invoices.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"jo.yaml": jsonOutTemplate, "invoices.schema.json": string(schema),
		"in.csv":  "company,number,sku,amount,due,paid\nFabrikam,INV-1,A,100.10,2026-03-01,true\nFabrikam,INV-1,B,20.40,2026-03-01,true\nFabrikam,INV-2,C,0.000001,2026-03-05,false\n",
		"bad.csv": "company,number,sku,amount,due,paid\nFabrikam,INV-3,A,-5,2026-03-01,true\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tpl, err := Load(tplPath)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	res, err := tpl.Run(context.Background(), filepath.Join(dir, "in.csv"), out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "json/invoices.json", got)
	// A total below zero is refused by the schema: nothing is published.
	_, err = tpl.Run(context.Background(), filepath.Join(dir, "bad.csv"), out)
	if err == nil || !strings.Contains(err.Error(), "the JSON document does not match its schema invoices.schema.json") || !strings.Contains(err.Error(), "/invoices/0/total") {
		t.Fatalf("a document the schema refuses: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "bad.json")); err == nil {
		t.Error("the document the schema refuses was published")
	}
}

// TestJSONShapes checks how layouts become JSON: arrays of values, a
// member left out by $if or a blank value, an object with no members,
// and one document per group.
func TestJSONShapes(t *testing.T) {
	const input = "number,sku,amount,note\nINV-1,A,1.5,\nINV-1,B,2,rush\nINV-2,C,-3,\n"
	tests := []struct {
		name, layout string
		want         map[string]string // file → document
	}{
		{"values array and $if", `
      skus:
        $each: row
        $value: sku
      big:
        $if: SUM(amount) > 100
        total: SUM(amount)
      notes:
        $each: row
        note: note
        sku: sku
      empty: {}`,
			map[string]string{"in.json": "{\n  \"skus\": [\n    \"A\",\n    \"B\",\n    \"C\"\n  ],\n  \"notes\": [\n    {\n      \"sku\": \"A\"\n    },\n    {\n      \"note\": \"rush\",\n      \"sku\": \"B\"\n    },\n    {\n      \"sku\": \"C\"\n    }\n  ],\n  \"empty\": {}\n}\n"}},
		{"a document per group", `
      $group: number
      number: number
      total: SUM(amount)
    document_name: number + ".json"`,
			map[string]string{"INV-1.json": "{\n  \"number\": \"INV-1\",\n  \"total\": 3.5\n}\n", "INV-2.json": "{\n  \"number\": \"INV-2\",\n  \"total\": -3\n}\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "name: s\ninput:\n  fields:\n    - {name: number}\n    - {name: sku}\n    - {name: amount, type: decimal}\n    - {name: note}\noutput:\n  json:\n    layout:" + tt.layout + "\n"
			tpl, err := loadString(t, src)
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			dir := t.TempDir()
			in := filepath.Join(dir, "in.csv")
			if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			os.Mkdir(out, 0o755)
			if _, err := tpl.Run(context.Background(), in, out); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				got, err := os.ReadFile(filepath.Join(out, name))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
				}
			}
			if entries, _ := os.ReadDir(out); len(entries) != len(tt.want) {
				t.Errorf("%d files written, want %d", len(entries), len(tt.want))
			}
		})
	}
}
