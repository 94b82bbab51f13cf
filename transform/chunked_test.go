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

// The parallel run reads a CSV input in chunks on the workers
// (pipeline.go, csv.Splitter). These tests run templates over a corpus of
// files once on one goroutine and again in parallel with chunks cut at
// every record, and at every size up to the file's: the outputs must be
// the same bytes, and the counts, errors, warnings, rejected rows (the
// OnReject calls and the rejected-rows file) the same, in the same order.

// chunkTemplates are templates with flat outputs over the columns of
// chunkInputs, with the CSV options the corpus needs.
var chunkTemplates = map[string]string{
	"csv":         pipelineTemplate,
	"slots":       slottedPipelineTemplate,
	"workbook":    pipelineTemplate + "  xlsx:\n    sheet: Lines\n",
	"dmf":         pipelineTemplate[:strings.Index(pipelineTemplate, "output:")] + dmfOutput,
	"semicolons":  strings.Replace(pipelineTemplate, "input:\n", "input:\n  csv:\n    delimiter: \";\"\n", 1),
	"lazy":        strings.Replace(pipelineTemplate, "input:\n", "input:\n  csv:\n    lazy_quotes: true\n", 1),
	"header row":  strings.Replace(pipelineTemplate, "input:\n", "input:\n  csv:\n    header_row: 3\n", 1),
	"windows1252": strings.Replace(pipelineTemplate, "input:\n", "input:\n  csv:\n    legacy_encoding: windows-1252\n", 1),
}

const dmfOutput = `output:
  file_name: input.name + ".zip"
  dmf:
    definition_group: g
    entities:
      - name: Lines
        target: LineEntity
        source_format: CSV
        columns:
          Id: id
          Amount: NUMBERFORMAT(mst, "0.00")
          Day: DATEFORMAT(day, "yyyy-MM-dd")
          Ratio: ratio
          Note: note
`

// chunkInputs is the corpus: which template reads each file, and the file.
var chunkInputs = []struct {
	name, tpl, data string
}{
	{"plain", "csv", "Id,Amount,Rate,Day,Note\nA1,10.50,1.1,01.02.2026,n\nA2,-5,2,03.04.2026,x\nA3,7,0.5,05.06.2026,\n"},
	{"quoted line breaks and delimiters", "csv", "Id,Amount,Rate,Day,Note\n\"A\n1\",10.50,1.1,01.02.2026,\"a, b\"\n\"A2\",\"-5\",2,03.04.2026,\"x\"\"y\"\"\n\"\nA3,7,0.5,05.06.2026,\"\r\n\"\n"},
	{"CRLF", "csv", "Id,Amount,Rate,Day,Note\r\nA1,10.50,1.1,01.02.2026,n\r\n\r\nA2,1;5,2,03.04.2026,x\r\n\"A3\",7,0.5,05.06.2026,\"q\"\r\n"},
	{"BOM", "csv", "\xEF\xBB\xBFId,Amount,Rate,Day,Note\nA1,10.50,1.1,01.02.2026,n\nA2,3,1,31.02.2026,x\n"},
	{"UTF-16", "csv", "\xFF\xFEI\x00d\x00,\x00A\x00m\x00o\x00u\x00n\x00t\x00,\x00R\x00a\x00t\x00e\x00,\x00D\x00a\x00y\x00,\x00N\x00o\x00t\x00e\x00\n\x00A\x001\x00,\x001\x00,\x002\x00,\x000\x001\x00.\x000\x001\x00.\x002\x000\x002\x006\x00,\x00\"\x00n\x00\n\x00\"\x00\n\x00"},
	{"bad rows", "csv", "Id,Amount,Rate,Day,Note\nA1,10.50,1.1,01.02.2026,n\nA2,1,2\nA3,1,2,01.01.2026,n,extra\nA4,12;50,1,01.01.2026,n\nA5,1,0,01.01.2026,n\nA6,1,-1,01.01.2026,n\nA7,1,1,01.01.2026,a rather long note\nA8,-400,1,01.01.2026,n\n,1,1,01.01.2026,n\n"},
	{"bare quote", "csv", "Id,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n\nA\"2,1,1,01.01.2026,n\nA3,1,1,01.01.2026,\"p\nq\"\nA4,1,1,01.01.2026,n\n"},
	{"text after a quote", "csv", "Id,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n\n\"A2\"x,1,1,01.01.2026,n\nA3,1,1,01.01.2026,n\n"},
	{"quote never closed", "csv", "Id,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n\nA2,1,1,01.01.2026,\"n\nA3,1,1,01.01.2026,n\n"},
	{"bare quote, lazy", "lazy", "Id,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n\nA\"2,1,1,01.01.2026,n\n\"A3\"x,1,1,01.01.2026,\"p\nq\"\nA4,1,1,01.01.2026,n\n"},
	{"too wide", "csv", "Id,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n\n" + strings.Repeat("A,1,1,01.01.2026,n,x\n", 150) + "A9,1,1,01.01.2026,n\n"},
	{"semicolons", "semicolons", "Id;Amount;Rate;Day;Note\nA1;10,5;1;01.01.2026;n\n\"A;2\";1;1;01.01.2026;\"a;b\"\n"},
	{"title row", "csv", "Journal export 2026-12-01\n\nId,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n\nA2,x,1,01.01.2026,n\n"},
	{"header row", "header row", "Title \"x\nexported\nId,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n\n\"A2\",2,1,01.01.2026,\"m\nn\"\n"},
	{"windows-1252", "windows1252", "Id,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,\xC4pfel\n\"\xE9t\xE9\",2,1,01.01.2026,n\n"},
	{"not UTF-8", "csv", "Id,Amount,Rate,Day,Note\n" + strings.Repeat("A1,1,1,01.01.2026,n\n", 3500) + "A2,1,1,01.01.2026,\xFF\nA3,1,1,01.01.2026,n\n"},
	{"header only", "csv", "Id,Amount,Rate,Day,Note\n"},
	{"one row, no line end", "csv", "Id,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n"},
	{"one row, DMF", "dmf", "Id,Amount,Rate,Day,Note\nA1,1,1,01.01.2026,n\n"},
	{"DMF", "dmf", "Id,Amount,Rate,Day,Note\n\"A\n1\",10.50,1.1,01.02.2026,\"a, b\"\nA2,1;5,2,03.04.2026,x\nA3,7,0.5,05.06.2026,n\n"},
	{"slots", "slots", "Id,Amount,Rate,Day,Note\nA1,10.50,1.1,01.02.2026,n\nA2,-500,2,03.04.2026,x\nA3,,0.5,05.06.2026,\n"},
	{"CSV and a workbook", "workbook", "Id,Amount,Rate,Day,Note\n\"A\n1\",10.50,1.1,01.02.2026,\"a, b\"\nA2,1;5,2,03.04.2026,x\nA3,7,0.5,05.06.2026,n\n"},
}

// runTranscript runs tpl over in and writes down everything a caller of
// RunWith sees: the error, or the counts, errors and warnings, each
// OnReject call, each output file's bytes and the rejected-rows file.
func runTranscript(t testing.TB, tpl *Template, in string) string {
	var b strings.Builder
	out := t.TempDir()
	rows := map[int]string{}
	res, err := tpl.RunWith(context.Background(), in, out, RunOptions{
		Time: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC),
		OnReject: func(pos formats.Pos, errs []*template.FieldError) {
			fmt.Fprintf(&b, "rejected %v:", pos)
			for _, e := range errs {
				fmt.Fprintf(&b, " [%v]", e)
			}
			b.WriteString("\n")
			rows[pos.Row] = errs[0].Error()
		},
	})
	if err != nil {
		fmt.Fprintf(&b, "run: %v\n", err)
		return b.String()
	}
	b.Write(report(res))
	names, _ := os.ReadDir(out)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(out, n.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %q\n", n.Name(), data)
	}
	if len(rows) > 0 {
		rej := filepath.Join(t.TempDir(), "rejected.csv")
		if err := tpl.WriteRejected(context.Background(), in, rej, rows); err != nil {
			fmt.Fprintf(&b, "rejected rows: %v\n", err)
		} else {
			data, _ := os.ReadFile(rej)
			fmt.Fprintf(&b, "rejected rows: %q\n", data)
		}
	}
	return b.String()
}

// sequentialAndChunked returns runTranscript of tpl over in on one
// goroutine, and a function giving it in parallel, in chunks of n bytes
// (0: the default).
func chunkedTranscript(t testing.TB, tpl *Template, in string, n int) string {
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	if n < 0 {
		runtime.GOMAXPROCS(1) // pipelineWorkers() == 0: one goroutine
		return runTranscript(t, tpl, in)
	}
	runtime.GOMAXPROCS(max(prev, 2))
	defer func(size int) { chunkSize = size }(chunkSize)
	chunkSize = n
	return runTranscript(t, tpl, in)
}

// TestChunkedRunMatchesSequential runs every file of the corpus on one
// goroutine and in chunks: the same bytes, errors and rejected rows.
func TestChunkedRunMatchesSequential(t *testing.T) {
	dir := t.TempDir()
	tpls := map[string]*Template{}
	for name, src := range chunkTemplates {
		tpl, err := Load(writeFile(t, dir, "tpl-"+strings.ReplaceAll(name, " ", "-")+".yaml", src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tpls[name] = tpl
	}
	for _, c := range chunkInputs {
		t.Run(c.name, func(t *testing.T) {
			tpl := tpls[c.tpl]
			in := writeFile(t, t.TempDir(), "in.csv", c.data)
			want := chunkedTranscript(t, tpl, in, -1)
			sizes := []int{0, 1, 2, 3, 5, 8, 13, 100, 1000, 10000}
			if len(c.data) < 300 {
				sizes = []int{0}
				for n := 1; n <= len(c.data)+1; n++ {
					sizes = append(sizes, n)
				}
			}
			for _, n := range sizes {
				if got := chunkedTranscript(t, tpl, in, n); got != want {
					t.Fatalf("in chunks of %d bytes:\n%s\non one goroutine:\n%s", n, got, want)
				}
			}
		})
	}
}

// TestChunkedRunLarge runs the pipeline's input of many batches, with
// every kind of outcome, on one goroutine and in chunks of the default
// sizes and of a few records.
func TestChunkedRunLarge(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"csv", "dmf"} {
		tpl, err := Load(writeFile(t, dir, name+".yaml", chunkTemplates[name]))
		if err != nil {
			t.Fatal(err)
		}
		in := pipelineInput(t, dir, 20000)
		want := chunkedTranscript(t, tpl, in, -1)
		if !strings.Contains(want, "rejected rows:") || strings.Contains(want, "run:") {
			t.Fatalf("the input should give every outcome:\n%.2000s", want)
		}
		for _, n := range []int{0, 100, 3000} {
			if got := chunkedTranscript(t, tpl, in, n); got != want {
				t.Errorf("%s, in chunks of %d bytes: the run differs from the one on one goroutine", name, n)
			}
		}
	}
}

// TestChunkedRunUsesChunks checks that the run above does read in chunks:
// the splitter is used for flat outputs only, and not with group checks.
func TestChunkedRunUsesChunks(t *testing.T) {
	dir := t.TempDir()
	in := pipelineInput(t, dir, 10)
	for name, want := range map[string]bool{"csv": true, "dmf": true, "workbook": true, "checks": false} {
		src := chunkTemplates[name]
		if name == "checks" {
			src = checkedPipelineTemplate
		}
		tpl, err := Load(writeFile(t, dir, "t.yaml", src))
		if err != nil {
			t.Fatal(err)
		}
		s, err := tpl.open(in, &Result{})
		if err != nil {
			t.Fatal(err)
		}
		if s.checks, err = tpl.prepareChecks(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if got := tpl.splitter(s) != nil; got != want {
			t.Errorf("%s: split %v, want %v", name, got, want)
		}
		s.close()
	}
}

// FuzzChunkedRun runs the pipeline template over fuzzed files on one
// goroutine and in chunks of a fuzzed size: the same bytes, errors and
// rejected rows.
func FuzzChunkedRun(f *testing.F) {
	for _, c := range chunkInputs {
		if len(c.data) < 1000 {
			f.Add([]byte(c.data), uint8(3), c.tpl == "lazy")
		}
	}
	dir := f.TempDir()
	tpls := map[bool]*Template{}
	for lazy, name := range map[bool]string{false: "csv", true: "lazy"} {
		tpl, err := Load(filepath.Join(dir, name+".yaml"))
		if os.IsNotExist(err) {
			p := filepath.Join(dir, name+".yaml")
			if err := os.WriteFile(p, []byte(chunkTemplates[name]), 0o644); err != nil {
				f.Fatal(err)
			}
			tpl, err = Load(p)
		}
		if err != nil {
			f.Fatal(err)
		}
		tpls[lazy] = tpl
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, lazy bool) {
		in := filepath.Join(t.TempDir(), "in.csv")
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tpl := tpls[lazy]
		want := chunkedTranscript(t, tpl, in, -1)
		if got := chunkedTranscript(t, tpl, in, int(chunk)+1); got != want {
			t.Fatalf("in chunks of %d bytes:\n%s\non one goroutine:\n%s", int(chunk)+1, got, want)
		}
	})
}
