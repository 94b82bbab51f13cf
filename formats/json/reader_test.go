package json

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
)

func readAll(t testing.TB, doc string, opts Options) ([][]string, []int, error) {
	t.Helper()
	opts.File = "f.json"
	r, err := NewReader(strings.NewReader(doc), opts)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var out [][]string
	var rows []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, rows, nil
		}
		if err != nil {
			return out, rows, err
		}
		out = append(out, append([]string(nil), rec.Fields...))
		rows = append(rows, rec.Pos.Row)
	}
}

const invoices = `{
  "company": "Fabrikam",
  "invoices": [
    {"number": "INV-1", "customer": {"id": "C-7"}, "total": 120.50, "paid": true, "lines": [{"sku": "A"}, {"sku": "B"}]},
    {"number": "INV-2", "customer": {"id": "C-8"}, "total": 1e3, "paid": false, "note": null, "lines": []}
  ],
  "after": "ignored"
}`

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		opts Options
		want string // records joined by |, fields by ,
		rows []int
	}{
		{"array at a path", invoices, Options{Record: "invoices", Fields: []string{"number", "customer.id", "total", "paid", "note", "lines[1].sku", "../company"}},
			"INV-1,C-7,120.50,true,,B,Fabrikam|INV-2,C-8,1e3,false,,,Fabrikam", []int{4, 5}},
		{"nested arrays", invoices, Options{Record: "invoices[].lines", Fields: []string{"sku", "../number", "../../company"}},
			"A,INV-1,Fabrikam|B,INV-1,Fabrikam", []int{4, 4}},
		{"top-level array", `[{"a": 1}, {"a": 2}]`, Options{Fields: []string{"a"}}, "1|2", []int{1, 1}},
		{"json lines", "{\"a\": \"x\"}\n{\"a\": \"y\", \"b\": [1,2]}\n\n{\"a\": \"z\"}\n", Options{Fields: []string{"a", "b"}}, "x,|y,[1,2]|z,", []int{1, 2, 4}},
		{"object field as json", `[{"a": {"b": 1}}]`, Options{Fields: []string{"a"}}, `{"b":1}`, []int{1}},
		{"empty array", `{"invoices": []}`, Options{Record: "invoices", Fields: []string{"a"}}, "", nil},
		{"exact numbers", `[{"n": 0.1000000000000000000001}]`, Options{Fields: []string{"n"}}, "0.1000000000000000000001", []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rows, err := readAll(t, tt.doc, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var recs []string
			for _, r := range got {
				recs = append(recs, strings.Join(r, ","))
			}
			if s := strings.Join(recs, "|"); s != tt.want {
				t.Errorf("records %q, want %q", s, tt.want)
			}
			if len(rows) != len(tt.rows) {
				t.Fatalf("rows %v, want %v", rows, tt.rows)
			}
			for i := range rows {
				if rows[i] != tt.rows[i] {
					t.Errorf("rows %v, want %v", rows, tt.rows)
				}
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		opts      Options
		pos       formats.Pos
		want      string
	}{
		{"syntax", "[{\"a\": 1},\n {\"a\": 2,}]", Options{Fields: []string{"a"}}, formats.Pos{File: "f.json", Row: 2, Col: 10}, "the file is not JSON here"},
		{"no array", `{"other": []}`, Options{Record: "invoices", Fields: []string{"a"}}, formats.Pos{File: "f.json", Row: 1, Col: 14}, "the document has no array at the record path: invoices"},
		{"not an array", `{"invoices": {"a": 1}}`, Options{Record: "invoices", Fields: []string{"a"}}, formats.Pos{File: "f.json", Row: 1, Col: 14}, "invoices is not an array of records"},
		{"record not object", `[1]`, Options{Fields: []string{"a"}}, formats.Pos{File: "f.json", Row: 1, Col: 3}, "a record must be an object ({...}), not 1"},
		{"cut short", "[{\"a\": 1},\n{\"a\"", Options{Fields: []string{"a"}}, formats.Pos{File: "f.json", Row: 2, Col: 5}, "the document ends before it is complete"},
		{"empty", "", Options{Fields: []string{"a"}}, formats.Pos{File: "f.json", Row: 1, Col: 1}, "the file is empty"},
		{"too deep", `[{"a": [[[[[[1]]]]]]}]`, Options{Fields: []string{"a"}, Limits: formats.Limits{Depth: 3}}, formats.Pos{File: "f.json", Row: 1, Col: 12}, "nests deeper than 3 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.doc, tt.opts)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *SyntaxError", err, err)
			}
			if se.Pos != tt.pos || !strings.Contains(se.Err.Error(), tt.want) {
				t.Fatalf("error at %v: %v\nwant at %v: %s", se.Pos, se.Err, tt.pos, tt.want)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Record: "a..b"},
		{Record: "a", Fields: []string{"../../x"}},
		{Fields: []string{"a[x]"}},
		{Record: "a", Fields: []string{"../x.y"}},
	} {
		if _, err := NewReader(strings.NewReader("[]"), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestLimit: a value past limits.record_bytes ends the reading with a
// *formats.LimitError, before it is held whole.
func TestLimit(t *testing.T) {
	for _, doc := range []string{
		`[{"a": 1}, {"a": "` + strings.Repeat("x", 1<<20) + `"}]`,            // a record's value
		`{"big": "` + strings.Repeat("x", 1<<20) + `", "items": [{"a": 1}]}`, // a value read past
		`{"items": [{"a": 1, "b": [` + strings.Repeat("1,", 1<<19) + `1]}]}`, // a record of many values
	} {
		rec := ""
		if strings.Contains(doc, "items") {
			rec = "items"
		}
		_, _, err := readAll(t, doc, Options{Record: rec, Fields: []string{"a"}, Limits: formats.Limits{RecordBytes: 256 << 10}})
		var le *formats.LimitError
		if !errors.As(err, &le) || le.Setting != "limits.record_bytes" || le.Pos.Row != 1 {
			t.Errorf("%.40s...: %v, want a LimitError", doc, err)
		}
	}
}
