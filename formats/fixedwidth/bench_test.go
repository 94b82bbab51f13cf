package fixedwidth

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkReadWrite writes 100,000 payment lines with their header and
// trailer, then reads them back with the trailer's checks.
func BenchmarkReadWrite(b *testing.B) {
	l := payments(b)
	var file bytes.Buffer
	w := NewWriter(&file, l)
	w.Write(0, []string{"", "ACME PAYROLL", "20240502"})
	for i := range 100000 {
		if err := w.Write(1, []string{"", "123456", "Jane Doe", "-12" + string(rune('0'+i%10)) + ".45"}); err != nil {
			b.Fatal(err)
		}
	}
	w.Write(2, []string{"", "", ""})
	data := file.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		r := NewReader(bytes.NewReader(data), l, Options{File: "f.txt"})
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100002 {
			b.Fatalf("%d records", n)
		}
	}
}
