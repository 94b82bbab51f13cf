package transform

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
)

// The benchmarks below run the templates of bench/templates (the mapping of
// the shared yardstick, see bench/compare.sh and docs/performance.md) over
// a generated journal, and time the engine's inner loops on their own:
//
//	go test ./transform -run '^$' -bench 'Bench|Inner' -benchmem
//
// Profile one with -cpuprofile / -memprofile.

const perfRows = 50_000

// writeJournal writes rows journal lines in the layout of the shared
// bench generator (16 columns, quoted names, about half the amounts
// positive), as CSV or as XML records, and returns the file's path.
func writeJournal(b *testing.B, dir, format string, rows int) string {
	b.Helper()
	path := filepath.Join(dir, "journal."+format)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if format == "xml" {
		w.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<JournalDocument xmlns=\"urn:erbench:journal:1\">\n  <Lines>\n")
	} else {
		w.WriteString("JournalId,LineNum,InvoiceId,CustAccount,CustName,PostingDate,DocumentDate,DueDate," +
			"CreatedDateTime,CurrencyCode,AmountCur,TaxAmount,ExchRate,MainAccount,Dimension,Description\n")
	}
	for i := range rows {
		amt := fmt.Sprintf("%d.%02d", i%5000-2500, i%100)
		if i%5000-2500 < 0 {
			amt = fmt.Sprintf("-%d.%02d", 2500-i%5000, i%100)
		}
		vals := []string{fmt.Sprintf("GJ%08d", i/8), fmt.Sprint(i%8 + 1), fmt.Sprintf("INV-2024-%07d", i/8),
			fmt.Sprintf("C%06d", 100000+i%20000), `The "Łukasiewicz" Trading, Kft.`, "2024-05-15",
			fmt.Sprintf("%02d/%02d/2024", i%28+1, i%12+1), "12.07.2024", "2024-05-15T13:23:24Z", "EUR", amt, "",
			fmt.Sprintf("1.%04d", i%9999), "410100", "D001-CC0030-P19823", "Invoice, licence & Äpfel"}
		if format == "xml" {
			w.WriteString("    <Line>\n")
			for c, v := range vals {
				name := journalColumns[c]
				fmt.Fprintf(w, "      <%s>%s</%s>\n", name, xmlEscapeText(v), name)
			}
			w.WriteString("    </Line>\n")
			continue
		}
		for c, v := range vals {
			if c > 0 {
				w.WriteByte(',')
			}
			if c == 4 || c == 15 {
				w.WriteString(`"` + strings.ReplaceAll(v, `"`, `""`) + `"`)
				continue
			}
			w.WriteString(v)
		}
		w.WriteByte('\n')
	}
	if format == "xml" {
		w.WriteString("  </Lines>\n</JournalDocument>\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

var journalColumns = []string{"JournalId", "LineNum", "InvoiceId", "CustAccount", "CustName", "PostingDate",
	"DocumentDate", "DueDate", "CreatedDateTime", "CurrencyCode", "AmountCur", "TaxAmount", "ExchRate",
	"MainAccount", "Dimension", "Description"}

var journalXMLEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func xmlEscapeText(s string) string { return journalXMLEscaper.Replace(s) }

// BenchmarkBenchTemplates runs each template of bench/templates over
// perfRows journal lines, end to end (read, map, write the output file).
func BenchmarkBenchTemplates(b *testing.B) {
	dir := b.TempDir()
	inputs := map[string]string{"csv": writeJournal(b, dir, "csv", perfRows), "xml": writeJournal(b, dir, "xml", perfRows)}
	for _, c := range []struct{ tpl, in string }{
		{"csv-csv", "csv"}, {"csv-dmf", "csv"}, {"csv-dmf-unicode", "csv"}, {"xml-csv", "xml"}, {"xml-xml", "xml"},
	} {
		b.Run(c.tpl, func(b *testing.B) {
			tpl, err := Load("../bench/templates/" + c.tpl + ".yaml")
			if err != nil {
				b.Fatal(err)
			}
			in := inputs[c.in]
			st, _ := os.Stat(in)
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				out := b.TempDir()
				res, err := tpl.Run(context.Background(), in, out)
				if err != nil {
					b.Fatal(err)
				}
				if res.Written == 0 || res.Written == perfRows || res.Rejected != 0 {
					b.Fatalf("%+v", res)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perfRows), "ns/row")
		})
	}
}

// sliceReader serves records from memory, so that BenchmarkInnerLoop times
// the engine alone: typed fields, model, filter and output columns.
type sliceReader struct {
	header []string
	recs   [][]string
	i      int
}

func (r *sliceReader) Header() []string { return r.header }
func (r *sliceReader) Read() (formats.Record, error) {
	if r.i == len(r.recs) {
		return formats.Record{}, io.EOF
	}
	r.i++
	return formats.Record{Pos: formats.Pos{File: "journal.csv", Row: r.i + 1}, Fields: r.recs[r.i-1]}, nil
}
func (r *sliceReader) FieldPos(col int) formats.Pos {
	return formats.Pos{File: "journal.csv", Row: r.i + 1}
}

// BenchmarkInnerLoop times Template.process over in-memory records, with
// no reading or writing: the cost the engine adds per row.
func BenchmarkInnerLoop(b *testing.B) {
	tpl, err := Load("../bench/templates/csv-csv.yaml")
	if err != nil {
		b.Fatal(err)
	}
	recs := make([][]string, perfRows)
	for i := range recs {
		amt := fmt.Sprintf("%d.%02d", i%5000-2500, i%100)
		recs[i] = []string{fmt.Sprintf("GJ%08d", i/8), fmt.Sprint(i%8 + 1), fmt.Sprintf("INV-2024-%07d", i/8),
			fmt.Sprintf("C%06d", 100000+i%20000), `The "Łukasiewicz" Trading, Kft.`, "2024-05-15",
			fmt.Sprintf("%02d/%02d/2024", i%28+1, i%12+1), "12.07.2024", "2024-05-15T13:23:24Z", "EUR", amt, "",
			fmt.Sprintf("1.%04d", i%9999), "410100", "D001-CC0030-P19823", "Invoice, licence & Äpfel"}
	}
	b.ReportAllocs()
	for b.Loop() {
		src := &source{r: &sliceReader{header: journalColumns, recs: recs}, pos: formats.Pos{File: "journal.csv", Row: 1}}
		if err := tpl.bind(src); err != nil {
			b.Fatal(err)
		}
		res := &Result{}
		written := 0
		err := tpl.process(context.Background(), src, res, func(pos formats.Pos, values [][]string) error {
			if values != nil {
				written++
			}
			return nil
		})
		if err != nil || written == 0 || res.Rejected != 0 {
			b.Fatal(err, written, res.Rejected)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perfRows), "ns/row")
}
