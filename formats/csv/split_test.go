package csv_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
)

// transcript reads r to its end (or its first error that ends a reading:
// anything but a *formats.ParseError) and writes down everything a caller
// sees: each record, the position of every field and of one past the
// last, OneLine, and each error with its type.
func transcript(w *strings.Builder, r *csv.Reader) (stop bool) {
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return false
		}
		fmt.Fprintf(w, "%v %q", rec.Pos, rec.Fields)
		if err != nil {
			fmt.Fprintf(w, " error %T %v\n", err, err)
			var pe *formats.ParseError
			if !errors.As(err, &pe) {
				return true
			}
			continue
		}
		for i := range len(rec.Fields) + 1 {
			fmt.Fprintf(w, " %v", r.FieldPos(i))
		}
		fmt.Fprintf(w, " one line %v\n", r.OneLine())
	}
}

// sequential is the transcript of data read by one Reader.
func sequential(data []byte, opts csv.Options) string {
	var w strings.Builder
	r, err := csv.NewReader(bytes.NewReader(data), opts)
	if err != nil {
		return "open: " + err.Error()
	}
	transcript(&w, r)
	return w.String()
}

// split is the transcript of data split into chunks of about chunk bytes
// (a record longer than maxRecord ends the splitting), each read by its
// own Reader; chunks is how many there were, tail whether the last was
// read as a stream.
func split(t testing.TB, data []byte, opts csv.Options, chunk, maxRecord int) (out string, chunks int, tail bool) {
	var w strings.Builder
	r, err := csv.NewReader(bytes.NewReader(data), opts)
	if err != nil {
		return "open: " + err.Error(), 0, false
	}
	s, ok := r.Split()
	if !ok {
		transcript(&w, r)
		return w.String(), 0, false
	}
	if chunk > 0 {
		s.SetChunkSize(chunk, maxRecord)
	}
	// Chunks are read in turn, two at a time, as a parallel run holds
	// several: a chunk's Reader must not depend on the next being cut.
	var c [2]csv.Chunk
	for i := 0; ; i++ {
		err := s.Next(&c[i%2])
		if err == io.EOF {
			return w.String(), chunks, tail
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		tail = c[i%2].Tail()
		if transcript(&w, c[i%2].Reader()) {
			return w.String(), chunks, tail
		}
	}
}

// splitInputs are files whose quoting, line ends, encodings and errors
// the chunks must read as one Reader does.
var splitInputs = []struct {
	name string
	data string
	opts csv.Options
}{
	{"plain", "a,b,c\n1,2,3\n4,5,6\n7,8,9\n", csv.Options{}},
	{"no final line end", "a,b\n1,2\n3,4", csv.Options{}},
	{"final CR", "a,b\n1,2\n3,4\r", csv.Options{}},
	{"CRLF", "a,b\r\n1,2\r\n\r\n3,4\r\n", csv.Options{}},
	{"quoted line breaks", "a,b\n\"x\ny\",1\n\"p\r\nq\r\n\",2\n3,\"\n\n\"\n4,\"\"\"\n\"\"\"\n", csv.Options{}},
	{"quoted delimiters", "a,b\n\"x,y\",\"1,2\"\n\"\"\"q\"\"\",z\n", csv.Options{}},
	{"quote then CRLF", "a,b\r\n\"x\"\r\n\"y\",\"z\"\r\n1,\"2\"\r\n", csv.Options{}},
	{"blank lines", "a,b\n\n\n1,2\n  \n,\n ,  \n3,4\n\n", csv.Options{}},
	{"wrong width", "a,b,c\n1,2\n1,2,3,4\n1,2,3\n\"x\ny\",2\n", csv.Options{}},
	{"bare quote", "a,b\n1,2\nx\"y,3\n4,5\n6,7\n", csv.Options{}},
	{"bare quote lazy", "a,b\n1,2\nx\"y,3\n4,5\n\"6\",7\n", csv.Options{LazyQuotes: true}},
	{"text after quote", "a,b\n1,2\n\"x\"y,3\n4,5\n", csv.Options{}},
	{"text after quote lazy", "a,b\n1,2\n\"x\"y,3\n4,5\n\"q\nr\",6\n", csv.Options{LazyQuotes: true}},
	{"quote never closed", "a,b\n1,2\n\"x,3\n4,5\n6,7\n", csv.Options{}},
	{"quote never closed lazy", "a,b\n1,2\n\"x,3\n4,5\n6,7\n", csv.Options{LazyQuotes: true}},
	{"quote at the end", "a,b\n1,\"2\"", csv.Options{}},
	{"quote CR at the end", "a,b\n1,\"2\"\r", csv.Options{}},
	{"semicolons", "a;b\n\"x;y\";1\n2;\"3\"\n", csv.Options{Comma: ';'}},
	{"sniffed", "a;b;c\n1;2;3\n\"4;5\";6;7\n", csv.Options{SniffComma: true}},
	{"tabs", "a\tb\n1\t\"2\t3\"\n", csv.Options{Comma: '\t'}},
	{"multi-byte delimiter", "a§b\n\"x§\"§1\n\"y\"§\"§\"\n\"z\"\"\"§2\n", csv.Options{Comma: '§'}},
	{"BOM", "\xEF\xBB\xBFa,b\n1,2\n\"3\",4\n", csv.Options{}},
	{"UTF-16LE", "\xFF\xFEa\x00,\x00b\x00\n\x001\x00,\x00\"\x002\x00\n\x00\"\x00\n\x00", csv.Options{}},
	{"windows-1252", "a,b\n\xE9t\xE9,\"\xC4pfel\"\n", csv.Options{Encoding: "windows-1252"}},
	{"legacy", "a,b\n\xE9t\xE9,1\n", csv.Options{Legacy: "windows-1252"}},
	{"not UTF-8 further on", "a,b\n" + strings.Repeat("1,2\n", 20000) + "\xFF,3\n4,5\n", csv.Options{}},
	{"not UTF-8 in a bad row", "a,b\n" + strings.Repeat("1,2\n", 20000) + "x\"\xFF,3\n4,5\n", csv.Options{}},
	{"cut character at the end", "a,b\n" + strings.Repeat("1,2\n", 20000) + "3,\xC3", csv.Options{}},
	{"header row", "Title \"x\nexported\n\na,b\n1,2\n\"3\",4\n", csv.Options{HeaderRow: 4}},
	{"header on two lines", "\"a\nA\",b\n1,2\n", csv.Options{}},
	{"blank lines above the header", "\n\n  \na,b\n1,2\n", csv.Options{}},
	{"header only", "a,b\n", csv.Options{}},
	{"header only, no line end", "a,b", csv.Options{}},
	{"no header", "1,2\n3,4\n\"5\",6\n", csv.Options{NoHeader: true}},
	{"long value", "a,b\n1,2\n" + strings.Repeat("x", 300) + ",3\n4,5\n", csv.Options{MaxValueBytes: 100}},
	{"long record", "a,b\n1,2\n" + strings.Repeat("y", 70000) + ",3\n4,5\n", csv.Options{MaxRecordBytes: 50000}},
	{"long record after many", "a,b\n" + strings.Repeat("1,\"2\"\n", 12000) + "\"" + strings.Repeat("y", 70000) + "\",3\n4,5\n", csv.Options{MaxRecordBytes: 50000}},
	{"long lines", "a,b\n" + strings.Repeat("z", 100000) + ",1\n\"" + strings.Repeat("q\n", 40000) + "\",2\n3,4\n", csv.Options{}},
	{"many records", "a,b,c\n" + strings.Repeat("1,\"x\"\"y\",\"p\nq\"\n2,,\r\n", 5000), csv.Options{}},
}

// TestSplitMatchesReader reads each file as one Reader does and in
// chunks, cut at every record (chunk size 1) and at every size up to the
// file's, and with records longer than a few bytes ending the splitting:
// the records, positions and errors must be the same.
func TestSplitMatchesReader(t *testing.T) {
	for _, tt := range splitInputs {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			tt.opts.File = "in.csv"
			tt.opts.ReuseRecord = true
			want := sequential(data, tt.opts)
			got, chunks, _ := split(t, data, tt.opts, 0, 0)
			if got != want {
				t.Fatalf("default chunks (%d):\n%s\nwant:\n%s", chunks, got, want)
			}
			if len(data) > 100<<10 && chunks < 2 {
				t.Fatalf("%d bytes in %d chunk", len(data), chunks)
			}
			sizes := []int{1, 2, 3, 5, 7, 16, 100, 1000, 4096, 65536}
			if len(data) > 50000 {
				sizes = []int{5, 1000, 65536}
			}
			if len(data) < 400 {
				sizes = sizes[:0]
				for n := 1; n <= len(data)+1; n++ {
					sizes = append(sizes, n)
				}
			}
			for _, n := range sizes {
				for _, maxRecord := range []int{1 << 20, 4, 1} {
					got, chunks, tail := split(t, data, tt.opts, n, maxRecord)
					if got != want {
						t.Fatalf("chunks of %d bytes, records to %d (%d chunks, tail %v):\n%s\nwant:\n%s", n, maxRecord, chunks, tail, got, want)
					}
				}
			}
		})
	}
}

// TestSplitTail checks when the rest of a file is read as a stream: at
// quoting the chunks do not follow, and only there.
func TestSplitTail(t *testing.T) {
	for _, tt := range []struct {
		data string
		lazy bool
		tail bool
	}{
		{"a,b\n1,2\n\"3\",\"4\"\n", false, false},
		{"a,b\n1,2\n\"3\nx\",\"4\"\"\"\n", false, false},
		{"a,b\n1,2\nx\"y,3\n", false, true},
		{"a,b\n1,2\nx\"y,3\n", true, true},
		{"a,b\n1,2\n\"x\"y,3\n", false, true},
		{"a,b\n1,2\n\"x,3\n", false, false}, // the end of the input comes first
	} {
		r, err := csv.NewReader(strings.NewReader(tt.data), csv.Options{LazyQuotes: tt.lazy})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := r.Split()
		s.SetChunkSize(1, 1<<20)
		tail := false
		var c csv.Chunk
		for s.Next(&c) == nil {
			tail = tail || c.Tail()
			for _, err := c.Reader().Read(); err != io.EOF; _, err = c.Reader().Read() {
				break
			}
		}
		if tail != tt.tail {
			t.Errorf("%q: tail %v, want %v", tt.data, tail, tt.tail)
		}
	}
}

// FuzzSplit reads fuzzed files as one Reader does and in chunks of a
// fuzzed size: the records, positions and errors must be the same.
func FuzzSplit(f *testing.F) {
	for _, tt := range splitInputs {
		if len(tt.data) < 2000 {
			f.Add([]byte(tt.data), uint8(0), uint16(3), tt.opts.LazyQuotes, uint16(1000))
		}
	}
	f.Add([]byte("a,b\n\"x\"\"\n\",1\r\n\"\",\"\"\n"), uint8(0), uint16(1), false, uint16(5))
	f.Fuzz(func(t *testing.T, data []byte, comma uint8, chunk uint16, lazy bool, maxRecord uint16) {
		opts := csv.Options{
			File:           "fuzz.csv",
			Comma:          fuzzCommas[int(comma)%len(fuzzCommas)],
			Encoding:       fuzzEncodings[int(comma>>3)%len(fuzzEncodings)],
			LazyQuotes:     lazy,
			HeaderRow:      int(comma >> 6),
			MaxRecordBytes: 4096,
			MaxValueBytes:  1024,
			ReuseRecord:    true,
		}
		want := sequential(data, opts)
		got, chunks, tail := split(t, data, opts, int(chunk)+1, int(maxRecord)+1)
		if got != want {
			t.Fatalf("chunks of %d bytes (%d, tail %v):\n%s\nwant:\n%s", chunk+1, chunks, tail, got, want)
		}
	})
}
