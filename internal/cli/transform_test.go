package cli

import (
	"strings"
	"testing"
	"time"
)

// TestPlainProgress: where stderr is no terminal, erpipe transform says how
// far a run is in plain lines, about every 10 seconds, not every 10,000
// records, with how much of the file is read.
func TestPlainProgress(t *testing.T) {
	var b strings.Builder
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	clock := start
	p := &progressLine{w: &b, file: "big.csv", size: 27_300_000, now: func() time.Time { return clock }, last: start}
	for _, step := range []struct {
		after time.Duration
		rows  int
		bytes int64
	}{
		{3 * time.Second, 10000, 700_000},
		{9 * time.Second, 20000, 1_400_000},
		{11 * time.Second, 30000, 2_100_000}, // 10s since the start: said
		{15 * time.Second, 40000, 2_800_000},
		{20 * time.Second, 50000, 3_500_000},
		{21 * time.Second, 60000, 12_300_000}, // 10s since the last line: said
	} {
		clock = start.Add(step.after)
		p.read.Store(step.bytes)
		p.onRows(step.rows)
	}
	p.end()
	want := "big.csv: 30000 records read, 7% of 27.3 MB\nbig.csv: 60000 records read, 45% of 27.3 MB\n"
	if b.String() != want {
		t.Errorf("progress lines:\n%q\nwant:\n%q", b.String(), want)
	}
}
