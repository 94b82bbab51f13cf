package json

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/internal/memtest"
)

// genReader makes a document of n records under "items", after a large
// member that is skipped, without ever holding it whole.
type genReader struct {
	n, i int
	buf  strings.Builder
	rest string
	done bool
}

func (g *genReader) Read(p []byte) (int, error) {
	for len(g.rest) == 0 {
		switch {
		case g.done:
			return 0, io.EOF
		case g.i == 0 && g.buf.Len() == 0:
			g.rest = `{"header": {"skipped": [` + strings.Repeat(`"padding padding padding",`, 100000) + `0]}, "company": "Fabrikam", "items": [`
			g.buf.WriteString("x")
		case g.i < g.n:
			sep := ","
			if g.i == 0 {
				sep = ""
			}
			g.rest = fmt.Sprintf(`%s{"id": %d, "name": "Customer %d", "amount": %d.25, "tags": ["a", "b"]}`, sep, g.i, g.i, g.i)
			g.i++
		default:
			g.rest, g.done = "]}", true
		}
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

// TestStreaming reads 300,000 records (about 25 MB, after a 2.5 MB member
// that is skipped) while the live heap stays under 8 MiB.
func TestStreaming(t *testing.T) {
	const n = 300000
	count := 0
	memtest.LiveHeapCeiling(t, 8<<20, func() {
		r, err := NewReader(&genReader{n: n}, Options{File: "big.json", Record: "items", Fields: []string{"id", "amount", "../company"}})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Fields[2] != "Fabrikam" {
				t.Fatalf("record %d: %q", count+1, rec.Fields)
			}
			count++
		}
	})
	if count != n {
		t.Fatalf("read %d records, want %d", count, n)
	}
}
