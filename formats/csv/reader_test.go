package csv_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
)

// Inputs carry their expected positions inline, as in encoding/csv's
// reader_test.go: § marks the start of each field of a data record (so
// its line is the field's expected Row), ∑ marks the line of the expected
// error. The markers are removed before reading.
const (
	fieldMark = "§"
	errMark   = "∑"
)

type readTest struct {
	name    string
	input   string
	opts    csv.Options
	header  []string
	records [][]string
	// Error expected at the ∑ line, after the records above were read;
	// errText is a part of its message.
	errText string
	errIs   error
	// After the error, reading continues and yields these records.
	after [][]string
}

var readTests = []readTest{{
	name:    "comma LF",
	input:   "a,b,c\n§1,§2,§3\n§4,§5,§6\n",
	header:  []string{"a", "b", "c"},
	records: [][]string{{"1", "2", "3"}, {"4", "5", "6"}},
}, {
	name:    "CRLF and no final line end",
	input:   "a,b\r\n§1,§2\r\n§3,§4",
	header:  []string{"a", "b"},
	records: [][]string{{"1", "2"}, {"3", "4"}},
}, {
	name:    "semicolon with decimal commas",
	input:   "Account;Amount\n§C-001;§12,50\n§C-002;§\"1.234,00\"\n",
	opts:    csv.Options{Comma: ';'},
	header:  []string{"Account", "Amount"},
	records: [][]string{{"C-001", "12,50"}, {"C-002", "1.234,00"}},
}, {
	name:    "tab",
	input:   "a\tb\n§x y\t§z\n",
	opts:    csv.Options{Comma: '\t'},
	header:  []string{"a", "b"},
	records: [][]string{{"x y", "z"}},
}, {
	name:    "pipe",
	input:   "a|b\n§1|§2\n",
	opts:    csv.Options{Comma: '|'},
	header:  []string{"a", "b"},
	records: [][]string{{"1", "2"}},
}, {
	name:   "quoting: delimiter, doubled quote, line break",
	input:  "Name,Note,Amount\n§\"Contoso, Ltd\",§\"say \"\"hi\"\"\",§1\n§x,§\"two\nlines\",§\"\"\n§y,§\"\r\n\",§3\n",
	header: []string{"Name", "Note", "Amount"},
	records: [][]string{
		{"Contoso, Ltd", `say "hi"`, "1"},
		{"x", "two\nlines", ""},
		{"y", "\n", "3"},
	},
}, {
	name:    "quoted value spanning lines: the next field is on the later line",
	input:   "a,b,c\n§\"1\n2\n3\",§x,§y\n§4,§5,§6\n",
	header:  []string{"a", "b", "c"},
	records: [][]string{{"1\n2\n3", "x", "y"}, {"4", "5", "6"}},
}, {
	name:    "blank lines, space lines and delimiter-only lines are skipped",
	input:   "\n\na,b\n\n§1,§2\n   \n,,,\n , \n\r\n§3,§4\n,\n",
	header:  []string{"a", "b"},
	records: [][]string{{"1", "2"}, {"3", "4"}},
}, {
	name:    "spaces in values are kept",
	input:   "a,b\n§ 1 ,§\" 2 \"\n",
	header:  []string{"a", "b"},
	records: [][]string{{" 1 ", " 2 "}},
}, {
	name:    "UTF-8 BOM",
	input:   "\uFEFFKonto,Name\n§1,§Müller\n",
	header:  []string{"Konto", "Name"},
	records: [][]string{{"1", "Müller"}},
}, {
	name:    "UTF-8 BOM with explicit utf-8",
	input:   "\uFEFFKonto\n§1\n",
	opts:    csv.Options{Encoding: "UTF-8"},
	header:  []string{"Konto"},
	records: [][]string{{"1"}},
}, {
	name:    "header names trimmed; empty and duplicate names allowed",
	input:   " Name ,,Name,\tAmount \n§a,§b,§c,§d\n",
	header:  []string{"Name", "", "Name", "Amount"},
	records: [][]string{{"a", "b", "c", "d"}},
}, {
	name:    "no header",
	input:   "§1,§2\n§3,§4\n",
	opts:    csv.Options{NoHeader: true},
	header:  []string{"1", "2"},
	records: [][]string{{"1", "2"}, {"3", "4"}},
}, {
	name:    "lazy quotes",
	input:   "a,b\n§5\" pipe,§x\"y\n",
	opts:    csv.Options{LazyQuotes: true},
	header:  []string{"a", "b"},
	records: [][]string{{`5" pipe`, `x"y`}},
}, {
	name:    "more values than the header, then reading goes on",
	input:   "a,b\n§1,§2\n∑3,4,5\n§6,§7\n",
	header:  []string{"a", "b"},
	records: [][]string{{"1", "2"}},
	errText: `row has 3 values but the header has 2 columns; check for an unquoted delimiter (',') in a value`,
	errIs:   csv.ErrFieldCount,
	after:   [][]string{{"6", "7"}},
}, {
	name:    "fewer values than the header",
	input:   "a;b;c\n∑1;2\n",
	opts:    csv.Options{Comma: ';'},
	header:  []string{"a", "b", "c"},
	errText: "row has 2 values but the header has 3 columns; check for a missing delimiter",
	errIs:   csv.ErrFieldCount,
}, {
	name:    "no header: rows are counted against the first row",
	input:   "§1,§2\n∑3\n",
	opts:    csv.Options{NoHeader: true},
	header:  []string{"1", "2"},
	records: [][]string{{"1", "2"}},
	errText: "row has 1 values but the first row has 2 columns",
	errIs:   csv.ErrFieldCount,
}, {
	name:    "bare quote",
	input:   "a,b\n§1,§2\n∑3,4\"5\n",
	header:  []string{"a", "b"},
	records: [][]string{{"1", "2"}},
	errText: `a value in this row contains a quote (") but does not start with one`,
	errIs:   csv.ErrBareQuote,
}, {
	name:    "quote never closed: reported at the row where it opens",
	input:   "a,b\n§1,§2\n∑3,\"4\n5,6\n7,8\n",
	header:  []string{"a", "b"},
	records: [][]string{{"1", "2"}},
	errText: "a quoted value starts in this row but no closing quote followed by a delimiter or line end was found up to line 5",
	errIs:   csv.ErrQuote,
}, {
	name:    "text after a closing quote",
	input:   "a,b\n∑\"3\"x,4\n",
	header:  []string{"a", "b"},
	errText: "a quoted value in this row is followed by more text",
	errIs:   csv.ErrQuote,
}}

func TestReader(t *testing.T) {
	for _, tt := range readTests {
		for _, reuse := range []bool{false, true} {
			name := tt.name
			if reuse {
				name += " (ReuseRecord)"
			}
			t.Run(name, func(t *testing.T) { testRead(t, tt, reuse) })
		}
	}
}

func testRead(t *testing.T, tt readTest, reuse bool) {
	input, fieldRows, errRow := stripMarks(t, tt.input)
	tt.opts.File = "in.csv"
	tt.opts.ReuseRecord = reuse
	r, err := csv.NewReader(strings.NewReader(input), tt.opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	if got := r.Header(); !reflect.DeepEqual(got, tt.header) {
		t.Errorf("Header = %q, want %q", got, tt.header)
	}
	readAll := func(want [][]string) {
		t.Helper()
		for _, w := range want {
			rec, err := r.Read()
			if err != nil {
				t.Fatalf("Read: %v, want %q", err, w)
			}
			if !reflect.DeepEqual(rec.Fields, w) {
				t.Errorf("Fields = %q, want %q", rec.Fields, w)
			}
			rows := fieldRows[:len(w)]
			fieldRows = fieldRows[len(w):]
			if rec.Pos != (formats.Pos{File: "in.csv", Row: rows[0]}) {
				t.Errorf("Pos = %+v, want row %d", rec.Pos, rows[0])
			}
			oneLine := true
			for i, row := range rows {
				want := formats.Pos{File: "in.csv", Row: row, Col: i + 1}
				if got := r.FieldPos(i); got != want {
					t.Errorf("record %q: FieldPos(%d) = %+v, want %+v", w, i, got, want)
				}
				oneLine = oneLine && row == rows[0]
			}
			if got := r.OneLine(); got != oneLine {
				t.Errorf("record %q: OneLine() = %v, want %v", w, got, oneLine)
			}
		}
	}
	readAll(tt.records)
	if tt.errText != "" {
		_, err := r.Read()
		var pe *formats.ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Read error = %v, want a *formats.ParseError", err)
		}
		if pe.Pos.File != "in.csv" || pe.Pos.Row != errRow {
			t.Errorf("error at %+v, want row %d", pe.Pos, errRow)
		}
		if !strings.Contains(err.Error(), tt.errText) {
			t.Errorf("error %q does not say %q", err, tt.errText)
		}
		if tt.errIs != nil && !errors.Is(err, tt.errIs) {
			t.Errorf("error %v is not %v", err, tt.errIs)
		}
		readAll(tt.after)
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("last Read: %v, want io.EOF", err)
	}
}

// stripMarks removes the markers and returns the line of each § in order and
// the line of ∑ (0 if none).
func stripMarks(t *testing.T, s string) (input string, fieldRows []int, errRow int) {
	t.Helper()
	line := 1
	var b strings.Builder
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, fieldMark):
			fieldRows = append(fieldRows, line)
			s = s[len(fieldMark):]
		case strings.HasPrefix(s, errMark):
			errRow = line
			s = s[len(errMark):]
		default:
			if s[0] == '\n' {
				line++
			}
			b.WriteByte(s[0])
			s = s[1:]
		}
	}
	return b.String(), fieldRows, errRow
}

func utf16Bytes(t *testing.T, s string, e unicode.Endianness, bom bool) []byte {
	t.Helper()
	policy := unicode.IgnoreBOM
	if bom {
		policy = unicode.UseBOM
	}
	b, err := unicode.UTF16(e, policy).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReaderEncodings(t *testing.T) {
	const text = "Kunde;Name;Betrag\r\nK-1;\"Müller; Söhne\";12,50\r\nK-2;Øre €;-3\r\n"
	want := [][]string{{"K-1", "Müller; Söhne", "12,50"}, {"K-2", "Øre €", "-3"}}
	win1252, err := charmap.Windows1252.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		input    []byte
		encoding string
	}{
		{"UTF-8 sniffed", []byte(text), ""},
		{"UTF-8 BOM sniffed", append([]byte("\uFEFF"), text...), ""},
		{"UTF-16 LE BOM sniffed", utf16Bytes(t, text, unicode.LittleEndian, true), ""},
		{"UTF-16 BE BOM sniffed", utf16Bytes(t, text, unicode.BigEndian, true), ""},
		{"UTF-16 LE without BOM sniffed", utf16Bytes(t, text, unicode.LittleEndian, false), ""},
		{"UTF-16 BE without BOM sniffed", utf16Bytes(t, text, unicode.BigEndian, false), ""},
		{"utf-16le without BOM", utf16Bytes(t, text, unicode.LittleEndian, false), "utf-16le"},
		{"utf-16le with BOM", utf16Bytes(t, text, unicode.LittleEndian, true), "utf-16le"},
		{"utf-16be with BOM", utf16Bytes(t, text, unicode.BigEndian, true), "UTF-16BE"},
		{"windows-1252", win1252, "windows-1252"},
		{"iso-8859-15 by WHATWG name", mustEncode(t, "iso-8859-15", text), "iso-8859-15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Through a real file, as the pipeline reads them.
			path := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(path, tt.input, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := csv.NewReader(f, csv.Options{File: "in.csv", Comma: ';', Encoding: tt.encoding})
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			if got := r.Header(); !reflect.DeepEqual(got, []string{"Kunde", "Name", "Betrag"}) {
				t.Errorf("Header = %q", got)
			}
			for i, w := range want {
				rec, err := r.Read()
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if !reflect.DeepEqual(rec.Fields, w) || rec.Pos.Row != i+2 {
					t.Errorf("record = %q at row %d, want %q at row %d", rec.Fields, rec.Pos.Row, w, i+2)
				}
			}
			if _, err := r.Read(); err != io.EOF {
				t.Errorf("last Read: %v, want io.EOF", err)
			}
		})
	}
}

func mustEncode(t *testing.T, name, s string) []byte {
	t.Helper()
	b, err := charmap.ISO8859_15.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func TestReaderEmpty(t *testing.T) {
	for _, input := range []string{
		"",
		"\uFEFF",
		"\n\r\n\n",
		"  \n\t\n",
		",,,\n , \n",
		"\xFF\xFE",                  // UTF-16 LE BOM only
		"\xFF\xFE\n\x00 \x00\n\x00", // UTF-16 LE blank lines
	} {
		_, err := csv.NewReader(strings.NewReader(input), csv.Options{File: "empty.csv"})
		if !errors.Is(err, csv.ErrEmpty) {
			t.Errorf("%q: err = %v, want ErrEmpty", input, err)
			continue
		}
		var pe *formats.ParseError
		if !errors.As(err, &pe) || pe.Pos.File != "empty.csv" {
			t.Errorf("%q: err = %#v, want a ParseError naming the file", input, err)
		}
		if got, want := err.Error(), "empty.csv: the file is empty"; got != want {
			t.Errorf("%q: message %q, want %q", input, got, want)
		}
	}
}

func TestReaderBadOptions(t *testing.T) {
	for _, opts := range []csv.Options{
		{Comma: '"'},
		{Comma: '\n'},
		{Encoding: "klingon"},
	} {
		_, err := csv.NewReader(strings.NewReader("a,b\n1,2\n"), opts)
		var pe *formats.ParseError
		if err == nil || errors.As(err, &pe) {
			t.Errorf("%+v: err = %v, want an options error", opts, err)
		}
	}
}

func TestReaderHeaderOnly(t *testing.T) {
	r, err := csv.NewReader(strings.NewReader("a,b\n"), csv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("Read: %v, want io.EOF", err)
	}
}

func TestReaderRecordsAreKept(t *testing.T) {
	r, err := csv.NewReader(strings.NewReader("a,b\n1,2\n3,4\n"), csv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.Read()
	second, _ := r.Read()
	if !reflect.DeepEqual(first.Fields, []string{"1", "2"}) || !reflect.DeepEqual(second.Fields, []string{"3", "4"}) {
		t.Errorf("records changed after later reads: %q %q", first.Fields, second.Fields)
	}
}

func TestParseErrorMessage(t *testing.T) {
	r, err := csv.NewReader(strings.NewReader("a,b\n1,2,3\n"), csv.Options{File: "customers.csv"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Read()
	const want = `customers.csv: row 2: row has 3 values but the header has 2 columns; ` +
		`check for an unquoted delimiter (',') in a value: put such values in quotes`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
}

func TestReaderFieldPosOutOfRange(t *testing.T) {
	r, err := csv.NewReader(bytes.NewReader([]byte("a\n1\n")), csv.Options{File: "f.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.FieldPos(5), (formats.Pos{File: "f.csv", Row: 2, Col: 6}); got != want {
		t.Errorf("FieldPos(5) = %+v, want %+v", got, want)
	}
	if got, want := r.FieldPos(-1), (formats.Pos{File: "f.csv", Row: 2}); got != want {
		t.Errorf("FieldPos(-1) = %+v, want %+v", got, want)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadErrorIsNotParseError(t *testing.T) {
	errDisk := errors.New("input/output error")
	_, err := csv.NewReader(&failingReader{data: []byte("a,b"), err: errDisk}, csv.Options{File: "in.csv"})
	var pe *formats.ParseError
	if !errors.Is(err, errDisk) || errors.As(err, &pe) {
		t.Errorf("err = %v, want the read error, not a ParseError", err)
	}
}
