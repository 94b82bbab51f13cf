package transform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/erpipe/erpipe/formats"
)

// pipelineTemplate has every kind of outcome a row can have: written,
// skipped by the filter, rejected for a bad value, by a model error, by a
// validation, and kept with a warning.
const pipelineTemplate = `name: pipeline
input:
  fields:
    - {name: id, column: Id, required: true}
    - {name: amount, column: Amount, type: decimal}
    - {name: rate, column: Rate, type: decimal}
    - {name: day, column: Day, type: date, layout: dd.MM.yyyy}
    - {name: note, column: Note}
model:
  - name: mst
    expr: ROUND(amount * rate, 2)
  - name: ratio
    expr: amount / rate
filter: amount == nil || amount > -300
validations:
  - name: note-short
    condition: LEN(note) < 12
    message: The note is long.
    severity: warning
  - name: positive-rate
    condition: rate > 0
    message: The rate must be positive.
output:
  csv:
    columns:
      Id: id
      Amount: NUMBERFORMAT(mst, "0.00")
      Day: day
      Ratio: ratio
      Note: note
`

// pipelineInput writes rows records with a bad record, value or rule
// every few rows, over many batches.
func pipelineInput(t *testing.T, dir string, rows int) string {
	var b strings.Builder
	b.WriteString("Id,Amount,Rate,Day,Note\n")
	for i := range rows {
		amount, rate, day, note := fmt.Sprintf("%d.%02d", i%700-350, i%100), fmt.Sprintf("1.%04d", i%9999), fmt.Sprintf("%02d.%02d.2026", i%28+1, i%12+1), "n"
		switch {
		case i%97 == 3:
			amount = "12;50" // bad decimal
		case i%89 == 5:
			day = "31.02.2026" // bad date
		case i%83 == 7:
			rate = "0" // model error (division by zero)
		case i%79 == 9:
			rate = "-1.5" // validation error
		case i%73 == 11:
			note = "a rather long note" // warning
		case i%71 == 13:
			b.WriteString("x,1,2\n") // a record with too few fields
			continue
		case i%67 == 17:
			amount = "1;5" // bad, on the second line of the record:
			fmt.Fprintf(&b, "\"ID\n%05d\",%s,%s,%s,%s\n", i, amount, rate, day, note)
			continue
		}
		fmt.Fprintf(&b, "ID%05d,%s,%s,%s,%s\n", i, amount, rate, day, note)
	}
	return writeFile(t, dir, "pipeline.csv", b.String())
}

type rejectCall struct {
	pos  formats.Pos
	errs []string
}

func runPipeline(t *testing.T, tpl *Template, in string) (*Result, []rejectCall, string) {
	t.Helper()
	out := t.TempDir()
	var calls []rejectCall
	res, err := tpl.RunWith(context.Background(), in, out, RunOptions{OnReject: func(pos formats.Pos, errs []*FieldError) {
		c := rejectCall{pos: pos}
		for _, e := range errs {
			c.errs = append(c.errs, e.Error())
		}
		calls = append(calls, c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "pipeline.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return res, calls, string(data)
}

// TestParallelRunMatchesSequential checks that the pipeline of goroutines
// gives exactly what one goroutine gives: the same output bytes, counts,
// errors and warnings (with their positions), in the same order.
func TestParallelRunMatchesSequential(t *testing.T) {
	// The template as written runs its filter on the VM (values in a map);
	// with a filter of direct calls its rows keep values by slot.
	t.Run("map", func(t *testing.T) { testParallelRun(t, pipelineTemplate, false) })
	t.Run("slots", func(t *testing.T) { testParallelRun(t, slottedPipelineTemplate, true) })
}

var slottedPipelineTemplate = strings.Replace(pipelineTemplate, "filter: amount == nil || amount > -300", "filter: amount > -300", 1)

func testParallelRun(t *testing.T, src string, slotted bool) {
	dir := t.TempDir()
	tplPath := writeFile(t, dir, "pipeline.yaml", src)
	tpl, err := Load(tplPath)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.slotted != slotted {
		t.Fatalf("slotted = %v, want %v", tpl.slotted, slotted)
	}
	in := pipelineInput(t, dir, 5000)

	prev := runtime.GOMAXPROCS(1) // pipelineWorkers() == 0: one goroutine
	seqRes, seqCalls, seqOut := runPipeline(t, tpl, in)
	runtime.GOMAXPROCS(max(prev, 2))
	parRes, parCalls, parOut := runPipeline(t, tpl, in)
	runtime.GOMAXPROCS(prev)

	if seqRes.Written == 0 || seqRes.Rejected < 200 || seqRes.Skipped == 0 || len(seqRes.Warnings) == 0 {
		t.Fatalf("the input should give every outcome: %s", report(seqRes))
	}
	if got, want := string(report(parRes)), string(report(seqRes)); got != want {
		t.Errorf("parallel result differs:\n%s\nsequential:\n%s", got, want)
	}
	if parOut != seqOut {
		t.Error("parallel output differs from the sequential one")
	}
	if fmt.Sprint(parCalls) != fmt.Sprint(seqCalls) {
		t.Errorf("OnReject calls differ:\n%v\n%v", parCalls[:3], seqCalls[:3])
	}
	// The position of a value on the second line of its record is kept.
	found := false
	for _, e := range parRes.Errors {
		if e.Field == "amount" && e.Pos.Col == 2 && e.Value == "1;5" && e.Pos.Row == 20 {
			found = true
		}
	}
	if !found {
		t.Errorf("no error at row 20 column 2 (the second line of the record of row 19): %v", parRes.Errors[:5])
	}
}

// TestPlainDecimalText checks the fast path of parseDecimalText against
// decimal.NewFromString: the same digits and exponent.
func TestPlainDecimalText(t *testing.T) {
	for _, c := range []struct {
		in, sep string
		neg, ok bool
	}{
		{"12.50", ".", false, true}, {"0.00", ".", true, true}, {"007", ".", false, true}, {"1234,5", ",", false, true},
		{"123456789012345678", ".", false, true}, {"1234567890123456789", ".", false, false},
		{".5", ".", false, true}, {"5.", ".", false, true}, {"1.2.3", ".", false, false}, {"1,5", ".", false, false},
		{"", ".", false, false}, {".", ".", false, false}, {"1 000", ".", false, false}, {"9.999999999999999999", ".", true, false},
	} {
		d, ok := plainDecimalText(c.in, c.sep, c.neg)
		if ok != c.ok {
			t.Errorf("%q: ok %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		text := strings.Replace(c.in, c.sep, ".", 1)
		if c.neg {
			text = "-" + text
		}
		want, err := decimal.NewFromString(text)
		if err != nil {
			t.Fatal(err)
		}
		if d.Exponent() != want.Exponent() || d.Coefficient().Cmp(want.Coefficient()) != 0 {
			t.Errorf("%q: %s (exp %d), want %s (exp %d)", c.in, d, d.Exponent(), want, want.Exponent())
		}
	}
}

// TestIdentFastPath checks that an expression made of a name alone is
// evaluated without the VM, with the VM's result.
func TestIdentFastPath(t *testing.T) {
	env := &exprEnv{vars: map[string]any{"amount": nil, "name": nil}}
	for src, ident := range map[string]string{"amount": "amount", " name ": "name", "amount + 1": "", "(amount)": "", `"amount"`: ""} {
		p, probs := compileExpr(src, env)
		if len(probs) > 0 {
			t.Fatal(src, probs)
		}
		if p.ident != ident {
			t.Errorf("%q: ident %q, want %q", src, p.ident, ident)
		}
	}
	p, _ := compileExpr("amount", env)
	var ev evaluator
	for _, v := range []any{nil, "x", int64(3), 7, decimal.RequireFromString("1.50")} {
		got, err := ev.eval(p, map[string]any{"amount": v})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ev.vm.Run(p.prog, map[string]any{"amount": v})
		if fmt.Sprint(got) != fmt.Sprint(normalize(want)) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", normalize(want)) {
			t.Errorf("%v: %#v, the VM gives %#v", v, got, want)
		}
	}
}

// TestDirectMatchesVM checks that the direct evaluator gives what the VM
// gives, values and errors, and that it takes the expressions it should.
func TestDirectMatchesVM(t *testing.T) {
	env := &exprEnv{vars: map[string]any{"amount": nil, "rate": nil, "name": nil},
		lookups: map[string]map[string]string{"t": {"a": "A"}}}
	rows := []map[string]any{
		{"amount": decimal.RequireFromString("10.65"), "rate": decimal.RequireFromString("1.1575"), "name": "a"},
		{"amount": decimal.RequireFromString("-2.005"), "rate": int64(0), "name": "b"},
		{"amount": nil, "rate": "x", "name": nil},
		{"amount": int64(7), "rate": decimal.RequireFromString("0.5"), "name": " a "},
	}
	for src, wantDirect := range map[string]bool{
		"amount > 0": true, "ROUND(amount * rate, 2)": true, `NUMBERFORMAT(amount, "0.00")`: true,
		"amount / rate": true, "UPPER(name)": true, `CONCAT(name, "-", amount)`: true, "-amount": true,
		`LOOKUP("t", TRIM(name), "x")`: true, "amount == nil": true, "1.5 * 2": true,
		"IF(amount > 0, 1, 2)": false, "amount ?? 0": false, "amount > 0 && rate > 0": false,
	} {
		p, probs := compileExpr(src, env)
		if len(probs) > 0 {
			t.Fatal(src, probs)
		}
		if (p.direct != nil) != wantDirect {
			t.Errorf("%s: direct %v, want %v", src, p.direct != nil, wantDirect)
		}
		var ev evaluator
		for _, row := range rows {
			got, err := ev.eval(p, row)
			want, werr := ev.vm.Run(p.prog, row)
			if werr != nil {
				werr = runtimeError(werr)
			}
			if fmt.Sprint(err) != fmt.Sprint(werr) || fmt.Sprintf("%T %v", got, got) != fmt.Sprintf("%T %v", normalize(want), normalize(want)) {
				t.Errorf("%s over %v: %#v, %v; the VM gives %#v, %v", src, row, got, err, want, werr)
			}
		}
	}
}

// TestParallelStops checks that a parallel run ends cleanly, with every
// goroutine gone, when the output fails or the context is cancelled in
// the middle of the file.
func TestParallelStops(t *testing.T) {
	dir := t.TempDir()
	tpl, err := Load(writeFile(t, dir, "pipeline.yaml", pipelineTemplate))
	if err != nil {
		t.Fatal(err)
	}
	in := pipelineInput(t, dir, 20000)
	before := runtime.NumGoroutine()
	for _, c := range []string{"emit fails", "cancelled"} {
		ctx, cancel := context.WithCancel(context.Background())
		src, err := tpl.open(in, &Result{})
		if err != nil {
			t.Fatal(err)
		}
		src.parallel = true
		stop := fmt.Errorf("the disk is full")
		n := 0
		err = tpl.process(ctx, src, &Result{}, func(pos formats.Pos, values [][]string) error {
			if n++; n == 3000 {
				if c == "cancelled" {
					cancel()
				} else {
					return stop
				}
			}
			return nil
		})
		src.close()
		cancel()
		if want := map[string]error{"emit fails": stop, "cancelled": context.Canceled}[c]; err != want {
			t.Errorf("%s: %v, want %v", c, err, want)
		}
	}
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running", n-before)
	}
}

// TestDecimalFastPaths checks mulDecimal and roundHalfAway against
// decimal's Mul and Round: the same digits and exponent.
func TestDecimalFastPaths(t *testing.T) {
	vals := []string{"0", "-0.00", "10.65", "1.1575", "-2.005", "2.345", "-2.345", "0.005", "-0.005", "0.0049",
		"999999999.99", "-123456789012.345678", "12345678901234567.8", "1e-30", "5", "1234", "0.5", "-0.5"}
	for _, as := range vals {
		a := decimal.RequireFromString(as)
		for _, bs := range vals {
			b := decimal.RequireFromString(bs)
			got, want := mulDecimal(a, b), a.Mul(b)
			if got.Exponent() != want.Exponent() || got.Coefficient().Cmp(want.Coefficient()) != 0 {
				t.Errorf("%s * %s: %s (exp %d), want %s (exp %d)", as, bs, got, got.Exponent(), want, want.Exponent())
			}
		}
		for places := int32(-3); places <= 6; places++ {
			got, want := roundHalfAway(a, places), a.Round(places)
			if got.Exponent() != want.Exponent() || got.Coefficient().Cmp(want.Coefficient()) != 0 {
				t.Errorf("ROUND(%s, %d): %s (exp %d), want %s (exp %d)", as, places, got, got.Exponent(), want, want.Exponent())
			}
		}
	}
}

// TestSlottedMatchesMap runs templates whose rows keep their values by
// slot (slots.go) again with the values in a map, as the VM needs them:
// the same output, counts, errors and warnings.
func TestSlottedMatchesMap(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, src string
		slotted   bool
	}{
		{"direct calls only", slottedPipelineTemplate, true},
		{"a conditional for the VM", pipelineTemplate, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := Load(writeFile(t, dir, "pipeline.yaml", c.src))
			if err != nil {
				t.Fatal(err)
			}
			if tpl.slotted != c.slotted {
				t.Fatalf("slotted = %v, want %v", tpl.slotted, c.slotted)
			}
			in := pipelineInput(t, dir, 3000)
			res, calls, out := runPipeline(t, tpl, in)
			byMap := *tpl
			byMap.slotted = false
			mapRes, mapCalls, mapOut := runPipeline(t, &byMap, in)
			if res.Written == 0 || res.Rejected == 0 || res.Skipped == 0 || len(res.Warnings) == 0 {
				t.Fatalf("the input should give every outcome: %s", report(res))
			}
			if got, want := string(report(res)), string(report(mapRes)); got != want {
				t.Errorf("result differs:\n%s\nwith a map:\n%s", got, want)
			}
			if out != mapOut {
				t.Error("output differs from the one with a map")
			}
			if fmt.Sprint(calls) != fmt.Sprint(mapCalls) {
				t.Error("OnReject calls differ")
			}
		})
	}
	// The benchmark templates are all names and direct calls.
	for _, name := range []string{"csv-csv", "csv-dmf", "xml-csv"} {
		tpl, err := Load("../bench/templates/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if !tpl.slotted {
			t.Errorf("bench template %s does not keep its rows by slot", name)
		}
	}
}

// TestFixedText checks fixedText against decimal.StringFixed.
func TestFixedText(t *testing.T) {
	for _, s := range []string{"0", "0.00", "1.50", "-1.50", "0.05", "0.005", "123456789012345678", "12345678901234567.8",
		"1234567890123456789.12", "0.000000000000000001", "99.999", "7"} {
		d := decimal.RequireFromString(s)
		for places := 0; places <= 20; places++ {
			r := d.Round(int32(places)) // fixedText is called with places decimals
			if got, want := fixedText(r, places), r.StringFixed(int32(places)); got != want {
				t.Errorf("fixedText(%s, %d) = %q, want %q", r, places, got, want)
			}
		}
	}
}

// TestDateText checks dateText against time.Format.
func TestDateText(t *testing.T) {
	for _, y := range []int{-1, 0, 1, 999, 1900, 2024, 9999, 10000} {
		for _, md := range [][2]int{{1, 1}, {2, 29}, {12, 31}, {10, 9}} {
			d := time.Date(y, time.Month(md[0]), md[1], 0, 0, 0, 0, time.UTC)
			if got, want := dateText(d), d.Format("2006-01-02"); got != want {
				t.Errorf("dateText(%v) = %q, want %q", d, got, want)
			}
		}
	}
}
