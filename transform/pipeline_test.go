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

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/transform/template"
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
	res, err := tpl.RunWith(context.Background(), in, out, RunOptions{OnReject: func(pos formats.Pos, errs []*template.FieldError) {
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
	// Group checks: both passes run in parallel, their groups folded and
	// their warnings given in input order.
	t.Run("checks", func(t *testing.T) { testParallelRun(t, checkedPipelineTemplate, false) })
}

var slottedPipelineTemplate = strings.Replace(pipelineTemplate, "filter: amount == nil || amount > -300", "filter: amount > -300", 1)

var checkedPipelineTemplate = strings.Replace(pipelineTemplate, "output:", `checks:
  - name: day-small
    group_by: day
    condition: MAX(amount) == nil || MAX(amount) < 340
    message: A day with a large amount.
  - name: month-small
    group_by: DATEFORMAT(day, "MM")
    condition: MIN(amount) == nil || MIN(amount) > -298 && COUNT() > 0
    message: A month with a large credit.
    severity: warning
output:`, 1)

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
	if strings.Contains(src, "\nchecks:") {
		rules := map[string]int{}
		for _, e := range append(seqRes.Errors, seqRes.Warnings...) {
			rules[e.Rule]++
		}
		if rules["day-small"] == 0 || rules["month-small"] == 0 {
			t.Fatalf("the checks should fail some groups and warn about some: %v", rules)
		}
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
