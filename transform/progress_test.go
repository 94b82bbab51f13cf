package transform_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
