package fixedwidth

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/erpipe/erpipe/formats"
)

// FuzzReader reads any bytes with the payments layout: it must never
// panic, every error must be a *formats.ParseError with a line, and the
// records it reads, written back, must read as the same records.
func FuzzReader(f *testing.F) {
	f.Add([]byte(paymentsFile))
	f.Add([]byte("P0000123456Jane Doe       0000001250{\nT000001+0000000012500\n"))
	f.Add([]byte("HACME\n\nP1 x 1-\nT000000+0000000000000\n"))
	f.Add([]byte("P\xff\xfe\r\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, eol := range []string{CRLF, None} {
			fuzzRoundTrip(t, data, eol)
		}
	})
}

// fuzzRoundTrip reads data with line ending eol and checks the records
// read, written back, read the same.
func fuzzRoundTrip(t *testing.T, data []byte, eol string) {
	l := payments(t)
	l.LineEnding = eol
	r := NewReader(bytes.NewReader(data), l, Options{File: "f.txt", Limits: formats.Limits{RecordBytes: 4096}})
	var buf bytes.Buffer
	w := NewWriter(&buf, l)
	type rec struct {
		typ    int
		values []string
	}
	var read []rec
	for {
		typ, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *formats.ParseError
			ok := errors.As(err, &pe)
			if le := (*formats.LimitError)(nil); errors.As(err, &le) {
				pe, ok = &formats.ParseError{Pos: le.Pos}, true
			}
			if ce := (*ControlError)(nil); errors.As(err, &ce) {
				pe, ok = &formats.ParseError{Pos: ce.Pos, Err: ce.Err}, true
			}
			if !ok || pe.Pos.Row < 1 || pe.Pos.File != "f.txt" {
				t.Fatalf("error %v (%T), want a *formats.ParseError with a line", err, err)
			}
			break
		}
		values := slices.Clone(r.Values())
		if len(values) != len(l.Records[typ].Fields) {
			t.Fatalf("%d values for %d fields", len(values), len(l.Records[typ].Fields))
		}
		if w.Write(typ, values) != nil {
			return // a value the writer refuses (a CR inside a line): no round trip to check
		}
		for fi, f := range l.Records[typ].Fields {
			if f.Numeric && values[fi] == "" {
				values[fi] = decimal.Zero.StringFixed(int32(f.Decimals)) // a blank number is written as zeros
			}
		}
		read = append(read, rec{typ, values})
	}
	r2 := NewReader(&buf, l, Options{File: "g.txt"})
	for i, want := range read {
		typ, err := r2.Next()
		if err != nil {
			t.Fatalf("record %d written as %q: %v", i+1, buf.String(), err)
		}
		if typ != want.typ || !slices.Equal(r2.Values(), want.values) {
			t.Fatalf("record %d: read back %d %q, want %d %q", i+1, typ, r2.Values(), want.typ, want.values)
		}
	}
}
