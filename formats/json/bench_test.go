package json

import (
	"io"
	"testing"
)

// BenchmarkRead reads 100,000 records of four members under "items".
func BenchmarkRead(b *testing.B) {
	for range b.N {
		r, err := NewReader(&genReader{n: 100000}, Options{File: "big.json", Record: "items", Fields: []string{"id", "name", "amount", "../company"}})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		r.Close()
		if n != 100000 {
			b.Fatalf("%d records", n)
		}
	}
}
