package dmf_test

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/erpipe/erpipe/formats/dmf"
)

// BenchmarkWriter writes CSV-Unicode packages of 14 columns and reports,
// besides time and allocations, the peak heap in use while writing. The
// peak must not grow with the number of rows: compare rows=10000 with
// rows=100000. "spooled" has a second entity, so rows go through a
// temporary file instead of straight into the zip.
func BenchmarkWriter(b *testing.B) {
	cols := []string{"CUSTOMERACCOUNT", "CUSTOMERGROUPID", "ORGANIZATIONNAME", "PARTYTYPE", "NAMEALIAS",
		"SALESCURRENCYCODE", "PAYMENTTERMS", "CREDITLIMIT", "LANGUAGEID", "SALESTAXGROUP",
		"ADDRESSSTREET", "ADDRESSCITY", "ADDRESSZIPCODE", "ADDRESSCOUNTRYREGIONID"}
	for _, spooled := range []bool{false, true} {
		for _, rows := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("spooled=%v/rows=%d", spooled, rows), func(b *testing.B) {
				entities := []dmf.Entity{{Name: "Customers V3", Target: "CustCustomerV3Entity", Columns: cols}}
				if spooled {
					entities = append(entities, dmf.Entity{Name: "Currencies", Columns: []string{"CURRENCYCODE"}})
				}
				values := []string{"", "10", "Contoso Europe, Ltd.", "Organization", "CONTOSO", "EUR", "Net30",
					"125000.00", "en-us", "EU", "1 Main Street\nBuilding 2", "Oslo", "0150", "NOR"}
				b.ReportAllocs()
				var peak uint64
				var ms runtime.MemStats
				for b.Loop() {
					w, err := dmf.NewWriter(io.Discard, dmf.Options{DefinitionGroup: "Customers", TempDir: b.TempDir()}, entities)
					if err != nil {
						b.Fatal(err)
					}
					for r := range rows {
						values[0] = "C" + strconv.Itoa(r)
						if err := w.Write(0, values); err != nil {
							b.Fatal(err)
						}
						if r%10_000 == 9_999 {
							runtime.ReadMemStats(&ms)
							peak = max(peak, ms.HeapInuse)
						}
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(rows), "rows/op")
			})
		}
	}
}
