package metrics

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/jobs"
)

// BenchmarkScrape: a scrape of a journal of 20,000 ended jobs and 10
// running ones, the first (which reads every record) and the next ones
// (which read the records after the ended jobs kept).
func BenchmarkScrape(b *testing.B) {
	_, j, _, _ := daemon(b, "")
	ctx := context.Background()
	start := time.Now()
	for i := range 20010 {
		now := start.Add(time.Duration(i) * time.Millisecond)
		st := jobs.Processed
		if i >= 20000 {
			st = jobs.Processing
		}
		job := &jobs.Job{ID: fmt.Sprintf("20260101-000000-%06x", i), Pipeline: fmt.Sprint("p", i%10), Input: "x.csv",
			Status: st, Created: now, Started: now, Finished: now.Add(time.Duration(i%5000) * time.Millisecond),
			Read: 100, Written: 99, Rejected: 1, Outputs: []jobs.Output{{Name: "x.zip", SHA256: strings.Repeat("a", 64), Location: "/out/x.zip"}}}
		if err := j.Put(ctx, job); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			m := New(Sources{Journal: j})
			if _, err := m.reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("next", func(b *testing.B) {
		m := New(Sources{Journal: j})
		m.reg.Gather()
		for b.Loop() {
			if _, err := m.reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
