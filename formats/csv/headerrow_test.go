package csv_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
)

// TestReaderHeaderRow: with HeaderRow the lines above the header are
// skipped as text (a title with a delimiter or a stray quote in it does
// not count), the delimiter is sniffed from the header, and positions,
// errors included, are the file's own lines.
func TestReaderHeaderRow(t *testing.T) {
	for _, tt := range []readTest{{
		name:    "title with a comma and a blank line above a semicolon header",
		input:   "Customer list, exported 2026-12-01\n\nAccount;Name\n§C-1;§\"Contoso;\nLtd\"\n∑C-2;x;y\n§C-3;§z\n",
		opts:    csv.Options{HeaderRow: 3, SniffComma: true},
		header:  []string{"Account", "Name"},
		records: [][]string{{"C-1", "Contoso;\nLtd"}},
		errText: "row has 3 values but the header has 2 columns",
		errIs:   csv.ErrFieldCount,
		after:   [][]string{{"C-3", "z"}},
	}, {
		name:    "a quote in the title is text",
		input:   "Report for 5\" screws, \"all\nA,B\n§1,§2\n§3,§\"4\n5\"\n",
		opts:    csv.Options{HeaderRow: 2},
		header:  []string{"A", "B"},
		records: [][]string{{"1", "2"}, {"3", "4\n5"}},
	}, {
		name:    "a quote never closed is reported at its own line",
		input:   "Title\nA,B\n§1,§2\n∑3,\"4\n5,6\n",
		opts:    csv.Options{HeaderRow: 2},
		header:  []string{"A", "B"},
		records: [][]string{{"1", "2"}},
		errText: "no closing quote followed by a delimiter or line end was found up to line 5",
		errIs:   csv.ErrQuote,
	}, {
		name:    "a bare quote",
		input:   "Title\r\nA,B\r\n∑3,4\"5\r\n§6,§7\r\n",
		opts:    csv.Options{HeaderRow: 2},
		header:  []string{"A", "B"},
		errText: `a value in this row contains a quote (") but does not start with one`,
		errIs:   csv.ErrBareQuote,
		after:   [][]string{{"6", "7"}},
	}, {
		name:    "no header: the first row of data",
		input:   "Export 2026-12-01\n§1,§2\n§3,§4\n",
		opts:    csv.Options{HeaderRow: 2, NoHeader: true},
		header:  []string{"1", "2"},
		records: [][]string{{"1", "2"}, {"3", "4"}},
	}, {
		name:    "header row 1 is the default",
		input:   "\nA\n§1\n",
		opts:    csv.Options{HeaderRow: 1},
		header:  []string{"A"},
		records: [][]string{{"1"}},
	}, {
		name:    "a title line longer than the buffer",
		input:   strings.Repeat("title ", 30_000) + "\nA\n§1\n",
		opts:    csv.Options{HeaderRow: 2},
		header:  []string{"A"},
		records: [][]string{{"1"}},
	}, {
		name:    "UTF-8 with a BOM, named",
		input:   "\uFEFFTitle\nA\n§1\n",
		opts:    csv.Options{HeaderRow: 2, Encoding: "utf-8"},
		header:  []string{"A"},
		records: [][]string{{"1"}},
	}} {
		t.Run(tt.name, func(t *testing.T) { testRead(t, tt, true) })
	}
}

func TestReaderHeaderRowNumber(t *testing.T) {
	for _, tt := range []struct {
		input     string
		opts      csv.Options
		headerRow int
	}{
		{"A\n1\n", csv.Options{}, 1},
		{"\n,\nA\n1\n", csv.Options{}, 3},
		{"Title\n\nA\n1\n", csv.Options{HeaderRow: 3}, 3},
		{"Title\n1\n", csv.Options{HeaderRow: 2, NoHeader: true}, 0},
	} {
		r, err := csv.NewReader(strings.NewReader(tt.input), tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.HeaderRow(); got != tt.headerRow {
			t.Errorf("%q %+v: HeaderRow = %d, want %d", tt.input, tt.opts, got, tt.headerRow)
		}
	}
}

func TestReaderHeaderRowErrors(t *testing.T) {
	for _, tt := range []struct {
		name, input string
		headerRow   int
		pos         formats.Pos
		msg         string
	}{
		{"empty file", "", 3, formats.Pos{File: "in.csv"}, "in.csv: the file is empty"},
		{"the file ends above it", "Title\n\n", 4, formats.Pos{File: "in.csv", Row: 4},
			"in.csv: row 4: the file ends at row 2, so it has no row 4 for the header; put the column names in row 4 or change the header row in the template"},
		{"the last line without a line break counts", "Title\nA", 4, formats.Pos{File: "in.csv", Row: 4},
			"the file ends at row 2, so it has no row 4 for the header"},
		{"the file ends on the line above it", "Title\nA\n", 3, formats.Pos{File: "in.csv", Row: 3},
			"the file has nothing from row 3 on, where the header should be"},
		{"only blank lines from it on", "Title\n\n \n,,\n", 2, formats.Pos{File: "in.csv", Row: 2},
			"in.csv: row 2: the file has nothing from row 2 on, where the header should be; put the column names in row 2 or change the header row in the template"},
		{"the header row is blank", "Title\n\nA,B\n1,2\n", 2, formats.Pos{File: "in.csv", Row: 2},
			"in.csv: row 2: row 2 is blank, so it has no column names (the next row that is not blank is row 3); put the column names in row 2 or change the header row in the template"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := csv.NewReader(strings.NewReader(tt.input), csv.Options{File: "in.csv", HeaderRow: tt.headerRow})
			var pe *formats.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *formats.ParseError", err)
			}
			if pe.Pos != tt.pos {
				t.Errorf("error at %+v, want %+v", pe.Pos, tt.pos)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error:\n got %v\nwant it to say %s", err, tt.msg)
			}
			if !errors.Is(err, csv.ErrEmpty) {
				t.Errorf("error is not ErrEmpty")
			}
		})
	}
	if _, err := csv.NewReader(strings.NewReader("a\n"), csv.Options{HeaderRow: -1}); err == nil {
		t.Error("HeaderRow -1: no error")
	}
}

// TestReaderHeaderRowLimit: a row past the record limit is reported at
// its own line, below the skipped title.
func TestReaderHeaderRowLimit(t *testing.T) {
	input := "Title \"quoted\n\nA,B\n1,2\n" + strings.Repeat("x", 100) + ",3\n"
	// The limit is met as the lines are read ahead, so it may come
	// before the rows above it are returned, as here.
	r, err := csv.NewReader(strings.NewReader(input), csv.Options{File: "in.csv", HeaderRow: 3, MaxRecordBytes: 50})
	for err == nil {
		_, err = r.Read()
	}
	var le *formats.LimitError
	if !errors.As(err, &le) || le.Pos.Row != 5 {
		t.Errorf("err = %v, want a LimitError at row 5", err)
	}
}
