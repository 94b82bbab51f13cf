package cli

import (
	"io"
	"os"
	"path/filepath"
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

// TestTransformRunTime: erpipe transform stamps documents with the input
// file's modification time (so that a run again makes the same bytes),
// with the moment it runs for --at now (erpipe's clock, ERPIPE_NOW here),
// or with the time --at gives.
func TestTransformRunTime(t *testing.T) {
	t.Setenv("ERPIPE_NOW", "2026-12-07T09:30:00Z")
	data, err := os.ReadFile("../../templates/pain001/samples/payments.csv")
	if err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join(t.TempDir(), "payments.csv")
	if err := os.WriteFile(sample, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(sample, old, old); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "<CreDtTm>" + old.Local().Format("2006-01-02T15:04:05")},
		{[]string{"--at", "now"}, "<CreDtTm>2026-12-07T09:30:0"},
		{[]string{"--at", "2026-12-01T08:00:00Z"}, "<CreDtTm>2026-12-01T08:00:00"},
	} {
		out := t.TempDir()
		var stdout, stderr strings.Builder
		args := append([]string{"transform", "-t", "pain001", "--out", out}, c.args...)
		if code := Main(append(args, sample), &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr.String())
		}
		entries, _ := os.ReadDir(out)
		if len(entries) != 1 {
			t.Fatalf("%v: outputs %v", c.args, entries)
		}
		doc, err := os.ReadFile(filepath.Join(out, entries[0].Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), c.want) {
			t.Errorf("%v: the document does not hold %s:\n%.600s", c.args, c.want, doc)
		}
	}
	if code := Main([]string{"transform", "-t", "pain001", "--at", "yesterday", sample}, io.Discard, io.Discard); code != 2 {
		t.Errorf("--at yesterday: exit %d, want 2", code)
	}
}
