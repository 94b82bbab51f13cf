package csv

import (
	"io"
	"strings"
	"testing"
)

// TestChunkParserReadsRegularRecords checks that chunkParser reads the
// records the Splitter cuts itself, without falling back to encoding/csv:
// values with and without quotes, doubled quotes, delimiters and line ends
// (LF and CR LF) inside quotes, empty lines, a delimiter of several bytes.
// (That it reads them as encoding/csv does is TestSplitMatchesReader's.)
func TestChunkParserReadsRegularRecords(t *testing.T) {
	for _, tt := range []struct {
		data  string
		comma rune
	}{
		{"a,b,c\n1,2,3\n\n\"x\",\"y\"\"z\",\"p,q\"\r\n\"m\nn\",,\"o\r\np\"\r\n\r\n4,5,\"\"\n", ','},
		{"a§b\n\"x§y\"§1\n2§\"\"\"\"\n", '§'},
		{"a;b\n" + strings.Repeat("1;\"x\"\"y\"\n\"p\nq\";2\n", 3000), ';'},
	} {
		r, err := NewReader(strings.NewReader(tt.data), Options{Comma: tt.comma})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := r.Split()
		var c Chunk
		n := 0
		for s.Next(&c) == nil {
			rd := c.Reader()
			for {
				_, err := rd.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%q: %v", tt.data, err)
				}
				n++
			}
			if c.p.csv != nil {
				t.Errorf("%q: the chunk at line %d was read by encoding/csv", tt.data, c.line)
			}
		}
		if n == 0 {
			t.Errorf("%q: no record", tt.data)
		}
	}
}
