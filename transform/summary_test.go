package transform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSummary: a summary value from one row decides for every row, also
// for rows before it in the file.
func TestSummary(t *testing.T) {
	tmpl, err := LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(`name: s
input:
  fields:
    - {name: kind, column: Kind}
    - {name: date, column: Date, type: date}
    - {name: start, column: Start, type: date}
    - {name: amount, column: Amount, type: decimal}
summary:
  - {name: period_start, expr: MIN(start)}
  - {name: total, expr: SUM(amount)}
  - {name: rows, expr: COUNT()}
filter: kind == "line" && date >= period_start
output:
  file_name: '"out.csv"'
  csv:
    columns:
      Date: date
      Amount: amount
      Share: amount / total
      Rows: rows
`)}}, "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("Kind,Date,Start,Amount\nline,2026-01-15,,10\nline,2026-02-03,,30\ncompany,,2026-02-01,\nline,2026-02-20,,60\n"), 0o644)
	res, err := tmpl.Run(context.Background(), in, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(res.Outputs[0])
	want := "Date,Amount,Share,Rows\n2026-02-03,30,0.3,4\n2026-02-20,60,0.6,4\n"
	if got := strings.ReplaceAll(string(b), "\r\n", "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSummaryLoadErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"MIN(start) + 1", "one aggregate"},
		{"AVG(start)", "one aggregate"},
		{"MIN(nothing)", "not an input field"},
		{"SUM(a, b)", "one aggregate"},
	} {
		_, err := LoadFS(fstest.MapFS{"t.yaml": {Data: []byte("name: s\ninput:\n  fields:\n    - {name: start, column: Start, type: date}\nsummary:\n  - {name: x, expr: '" + tc.expr + "'}\noutput:\n  file_name: '\"o.csv\"'\n  csv:\n    columns:\n      X: x\n")}}, "t.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.expr, err, tc.want)
		}
	}
}
