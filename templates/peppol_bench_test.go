package templates

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPeppol makes invoices from the Norwegian corpus file, repeated
// with new invoice numbers, and runs peppol-invoice on them: documents per
// run of 6, 60 and 600, each checked by the UBL schema and both official
// rule files (one JVM per run). The difference between sizes is the time
// per document; the smallest is mostly the JVM's start and the rules'
// compilation. Peak RSS is erpipe's own; the JVM's is capped by its heap
// (512 MB, ERPIPE_JAVA_OPTIONS).
func BenchmarkPeppol(b *testing.B) {
	saxon(b)
	rows := readCSV(b, "peppol-invoice/testdata/cases/corpus-no/input.csv")
	head, body := rows[0], rows[1:]
	num, corrected := -1, -1
	for i, h := range head {
		switch h {
		case "Invoice number":
			num = i
		case "Corrected invoice":
			corrected = i
		}
	}
	for _, copies := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("invoices=%d", 6*copies), func(b *testing.B) {
			in := filepath.Join(b.TempDir(), "invoices.csv")
			f, err := os.Create(in)
			if err != nil {
				b.Fatal(err)
			}
			w := csv.NewWriter(f)
			w.Write(head)
			for c := 0; c < copies; c++ {
				for _, r := range body {
					r = append([]string(nil), r...)
					r[num] = fmt.Sprintf("%s-%03d", r[num], c)
					if corrected >= 0 && r[corrected] != "" {
						r[corrected] = fmt.Sprintf("%s-%03d", r[corrected], c)
					}
					w.Write(r)
				}
			}
			w.Flush()
			f.Close()
			benchTemplate(b, "peppol-invoice", in, len(body)*copies)
		})
	}
}
