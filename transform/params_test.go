package transform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/transform/expression"
)

// periodTemplate uses the dotted parameters a schedule sets: dates in the
// filter, the name in the file name and in a column.
const periodTemplate = `name: t
parameters:
  - {name: period.start, type: date, default: ""}
  - {name: period.end, type: date, default: ""}
  - {name: period.name, default: all}
input:
  fields:
    - {name: day, type: date}
    - {name: amount, type: decimal}
filter: period.start == nil || day >= period.start && day <= period.end
output:
  file_name: '"ledger-" + period.name + ".csv"'
  csv:
    columns:
      PERIOD: period.name
      DAY: day
      AMOUNT: amount
`

func TestDottedParameters(t *testing.T) {
	tmpl, err := loadString(t, periodTemplate)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", "day,amount\n2026-09-30,1.00\n2026-10-01,2.50\n2026-10-31,3.00\n2026-11-01,4.00\n")
	for _, c := range []struct {
		values map[string]string
		file   string
		want   string
	}{
		{nil, "ledger-all.csv", "PERIOD,DAY,AMOUNT\nall,2026-09-30,1.00\nall,2026-10-01,2.50\nall,2026-10-31,3.00\nall,2026-11-01,4.00\n"},
		{map[string]string{"period.start": "2026-10-01", "period.end": "2026-10-31", "period.name": "2026-10"},
			"ledger-2026-10.csv", "PERIOD,DAY,AMOUNT\n2026-10,2026-10-01,2.50\n2026-10,2026-10-31,3.00\n"},
	} {
		tp, err := tmpl.WithParameters(c.values)
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		if _, err := tp.Run(context.Background(), in, out); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, c.file))
		if err != nil {
			t.Fatalf("%v: %v", c.values, err)
		}
		if string(got) != c.want {
			t.Errorf("%v:\n%s\nwant\n%s", c.values, got, c.want)
		}
	}
	ps := tmpl.Parameters()
	if len(ps) != 3 || ps[0].Name != "period.start" || ps[0].Type != "date" || ps[0].Default != "" || ps[2].Default != "all" {
		t.Errorf("Parameters() = %+v", ps)
	}
	if _, err := tmpl.WithParameters(map[string]string{"period.start": "1.10.2026"}); err == nil || !strings.Contains(err.Error(), "yyyy-MM-dd") {
		t.Errorf("a date in another layout: %v", err)
	}
	if _, err := tmpl.WithParameters(map[string]string{"period.stat": "2026-10-01"}); err == nil || !strings.Contains(err.Error(), `did you mean "period.start"`) {
		t.Errorf("unknown dotted parameter: %v", err)
	}
}

func TestDottedParameterErrors(t *testing.T) {
	const nameParam = "- {name: period.name, default: all}"
	for _, c := range []struct{ old, new, want string }{
		{"PERIOD: period.name", "PERIOD: period.nam", `unknown name "period.nam" (did you mean "period.name"?)`},
		{nameParam, nameParam + "\n  - {name: period, default: x}", `parameter name "period" is already used by parameters named period.<name>`},
		{"- {name: period.start", "- {name: period, default: x}\n  - {name: period.start", `parameter name "period.start": "period" is already the name of something else (line 3)`},
		{nameParam, nameParam + "\n  - {name: a.b.c, default: x}", `parameter name "a.b.c" must be a name, or two names joined by one dot`},
		{nameParam, nameParam + "\n  - {name: a.in, default: x}", `parameter name "a.in" must be a name`},
		{nameParam, nameParam + "\n  - {name: period.name, default: x}", `parameter name "period.name" is already used on line 5`},
		{nameParam, nameParam + "\n  - {name: TRIM.x, default: x}", `"TRIM" is the name of a function`},
		{nameParam, nameParam + "\n  - {name: day.x, default: x}", `field name "day" is already used on line 6`},
		{"- {name: amount, type: decimal}", "- {name: amount, type: decimal}\n    - {name: period}", `field name "period" is already used on line 3`},
		{"type: date, default: \"\"}", "type: date, default: \"31.10.2026\"}", `"31.10.2026" is not a date; write it as yyyy-MM-dd`},
	} {
		if !strings.Contains(periodTemplate, c.old) {
			t.Fatalf("%q is not in the template", c.old)
		}
		_, err := loadString(t, strings.Replace(periodTemplate, c.old, c.new, 1))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %s", c.new, err, c.want)
		}
	}
}

func TestBlankParameterDefaults(t *testing.T) {
	for typ, want := range map[string]any{"string": "", "boolean": nil, "integer": nil, "decimal": nil, "date": nil} {
		v, err := parseParameter(typ, " ")
		if err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		if typ == "string" {
			if v != " " {
				t.Errorf("string %q", v)
			}
			continue
		}
		if v != want {
			t.Errorf("%s: blank gives %#v, want nil", typ, v)
		}
	}
	v, err := parseParameter("date", "2026-02-28")
	if err != nil || expression.Text(v) != "2026-02-28" {
		t.Errorf("date: %v %v", v, err)
	}
	if _, err := parseParameter("date", "2026-02-30"); err == nil {
		t.Error("2026-02-30 was accepted")
	}
}
