package transform_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/erpipe/erpipe/transform"
)

// TestOnProgress checks that a run reports how many records it has read,
// every 10,000, in order.
func TestOnProgress(t *testing.T) {
	tmpl, err := transform.Load("../templates/customers-v3/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Account,Name,Customer group,Currency,Credit limit,Payment terms\n")
	for i := range 25000 {
		fmt.Fprintf(&b, "P%05d,Progress %d,10,EUR,%d.00,30\n", i, i, i)
	}
	in := filepath.Join(t.TempDir(), "progress.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var seen []int
	res, err := tmpl.RunWith(context.Background(), in, t.TempDir(), transform.RunOptions{
		OnProgress: func(read int) { seen = append(seen, read) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 25000 || !slices.Equal(seen, []int{10000, 20000}) {
		t.Errorf("read %d, progress reported at %v; want 25000 and [10000 20000]", res.Read, seen)
	}
}

// TestInputRead checks that a run counts the bytes of its input as it
// reads them: the whole file of a CSV or XML input by the end, and
// nothing for a workbook, whose reader can't tell.
func TestInputRead(t *testing.T) {
	for _, tt := range []struct {
		template, input string
		whole           bool
	}{
		{"customers-v3", "customers.csv", true},
		{"customers-v3", "customers-workbook.xlsx", false},
		{"camt053-import", "statement.xml", true},
	} {
		t.Run(tt.input, func(t *testing.T) {
			tmpl, err := transform.Load("../templates/" + tt.template + "/template.yaml")
			if err != nil {
				t.Fatal(err)
			}
			in := "../templates/" + tt.template + "/samples/" + tt.input
			st, err := os.Stat(in)
			if err != nil {
				t.Fatal(err)
			}
			var read atomic.Int64
			if _, err := tmpl.RunWith(context.Background(), in, t.TempDir(), transform.RunOptions{InputRead: &read}); err != nil {
				t.Fatal(err)
			}
			want := int64(0)
			if tt.whole {
				want = st.Size()
			}
			if read.Load() != want {
				t.Errorf("InputRead = %d after the run; want %d (the file has %d bytes)", read.Load(), want, st.Size())
			}
		})
	}
}
