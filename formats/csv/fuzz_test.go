package csv_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/internal/memtest"
)

var (
	fuzzCommas    = []rune{',', ';', '\t', '|', '§'}
	fuzzEncodings = []string{"", "utf-8", "utf-16le", "utf-16be", "windows-1252"}
	fuzzOutEncs   = []string{"utf-8", "utf-8-bom", "utf-16le"}
)

// FuzzReader checks that no input makes the Reader panic, that every error
// is a *formats.ParseError (or, past the limit, a *formats.LimitError),
// that what it returns is consistent, and that its memory stays within a
// ceiling in proportion to the input.
func FuzzReader(f *testing.F) {
	for _, tt := range readTests {
		input, _, _ := stripMarksNoT(tt.input)
		f.Add([]byte(input), uint8(0), uint8(0), false, false)
	}
	f.Add([]byte("a;b\r\n\"x\"\"y\";2\r\n"), uint8(1), uint8(0), true, false)
	f.Add([]byte("\xFF\xFEa\x00,\x00b\x00\n\x001\x00,\x002\x00"), uint8(0), uint8(0), false, true)
	f.Add([]byte("\xEF\xBB\xBFa\n\xFC\n"), uint8(0), uint8(4), false, false)
	f.Add([]byte("Title, \"x\n\nA;B\n1;2\n"), uint8(3<<5|1), uint8(0), false, false)
	f.Fuzz(func(t *testing.T, data []byte, comma, enc uint8, lazy, noHeader bool) {
		memtest.Ceiling(t, 64*uint64(len(data))+4<<20, func() { fuzzRead(t, data, comma, enc, lazy, noHeader) })
	})
}

// fuzzRead reads data with the options the fuzzer chose and checks what
// comes back.
func fuzzRead(t *testing.T, data []byte, comma, enc uint8, lazy, noHeader bool) {
	opts := csv.Options{
		MaxRecordBytes: 4096,
		File:           "fuzz.csv",
		Comma:          fuzzCommas[int(comma)%len(fuzzCommas)],
		Encoding:       fuzzEncodings[int(enc)%len(fuzzEncodings)],
		LazyQuotes:     lazy,
		NoHeader:       noHeader,
		HeaderRow:      int(comma >> 5), // 0 to 7: the lines above it are skipped
	}
	r, err := csv.NewReader(bytes.NewReader(data), opts)
	var le *formats.LimitError
	var ee *csv.EncodingError
	if errors.As(err, &le) || errors.As(err, &ee) {
		return
	}
	if err != nil {
		var pe *formats.ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("NewReader error %v (%T) is not a *formats.ParseError", err, err)
		}
		return
	}
	width := len(r.Header())
	if width == 0 {
		t.Fatal("empty header without an error")
	}
	lastRow := 0
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if i > len(data) {
			t.Fatalf("more records than bytes")
		}
		if errors.As(err, &le) || errors.As(err, &ee) {
			break
		}
		if err != nil {
			var pe *formats.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Read error %v (%T) is not a *formats.ParseError", err, err)
			}
			if pe.Pos.Row <= 0 || pe.Pos.Row < opts.HeaderRow {
				t.Fatalf("error without a row, or above the header row %d: %v", opts.HeaderRow, err)
			}
			continue
		}
		if len(rec.Fields) != width {
			t.Fatalf("record has %d fields, header %d", len(rec.Fields), width)
		}
		if rec.Pos.Row <= lastRow || rec.Pos.Row < opts.HeaderRow {
			t.Fatalf("row %d after row %d", rec.Pos.Row, lastRow)
		}
		lastRow = rec.Pos.Row
		for j := range rec.Fields {
			p := r.FieldPos(j)
			if p.Col != j+1 || p.Row < rec.Pos.Row {
				t.Fatalf("FieldPos(%d) = %+v in record at row %d", j, p, rec.Pos.Row)
			}
		}
	}
}

// FuzzRoundtrip writes records with every writer option and reads them
// back: what comes back must equal what went in.
//
// Records are made from s: "\x1e" separates records, "\x1f" fields; the
// first record is the header and sets the width. What the reader does on
// purpose is applied to the expected records: header names are trimmed,
// blank records are skipped, and "\r\n" inside a value reads back as "\n"
// (encoding/csv does that).
func FuzzRoundtrip(f *testing.F) {
	f.Add("a\x1fb\x1e1\x1f2", uint8(0), uint8(0), false)
	f.Add("Name\x1fNote\x1e\"quoted\", yes\x1f two\nlines \x1e\x1fx", uint8(1), uint8(2), true)
	f.Add("h\x1e\x1e \x1e\"\x1e\r\n\x1e€", uint8(4), uint8(1), true)
	f.Fuzz(func(t *testing.T, s string, comma, enc uint8, crlf bool) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		s = strings.ReplaceAll(s, "\x00", "") // NUL never occurs in text; see the UTF-16 sniffing
		var records [][]string
		for _, line := range strings.Split(s, "\x1e") {
			records = append(records, strings.Split(line, "\x1f"))
		}
		width := len(records[0])
		for i, rec := range records {
			records[i] = append(rec, make([]string, width)...)[:width]
		}
		c := fuzzCommas[int(comma)%len(fuzzCommas)]
		var buf bytes.Buffer
		w, err := csv.NewWriter(&buf, csv.WriterOptions{
			Comma:    c,
			Encoding: fuzzOutEncs[int(enc)%len(fuzzOutEncs)],
			CRLF:     crlf,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range records {
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}

		var want [][]string
		for _, rec := range records {
			if isBlank(rec) {
				continue
			}
			exp := make([]string, len(rec))
			for i, v := range rec {
				exp[i] = strings.ReplaceAll(v, "\r\n", "\n")
			}
			want = append(want, exp)
		}
		r, err := csv.NewReader(&buf, csv.Options{Comma: c})
		if len(want) == 0 {
			if !errors.Is(err, csv.ErrEmpty) {
				t.Fatalf("blank input: err = %v, want ErrEmpty", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewReader: %v\n%q", err, buf.Bytes())
		}
		header := make([]string, width)
		for i, v := range want[0] {
			v = strings.TrimSpace(v)
			v = strings.TrimPrefix(v, "\uFEFF")
			v = strings.TrimPrefix(v, "\u00EF\u00BB\u00BF")
			header[i] = strings.TrimSpace(v)
		}
		if got := r.Header(); !reflect.DeepEqual(got, header) {
			t.Fatalf("Header = %q, want %q", got, header)
		}
		for _, w := range want[1:] {
			rec, err := r.Read()
			if err != nil {
				t.Fatalf("Read: %v, want %q", err, w)
			}
			if !reflect.DeepEqual(rec.Fields, w) {
				t.Fatalf("Read = %q, want %q", rec.Fields, w)
			}
		}
		if rec, err := r.Read(); err != io.EOF {
			t.Fatalf("Read = %q, %v; want io.EOF", rec.Fields, err)
		}
	})
}

func isBlank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func stripMarksNoT(s string) (string, []int, int) {
	s = strings.ReplaceAll(s, fieldMark, "")
	return strings.ReplaceAll(s, errMark, ""), nil, 0
}
