package csv_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats/csv"
)

// TestNotUTF8: a file that is not UTF-8 is refused whole, with where its
// first such byte is, however far into the file; with a legacy encoding
// a file sniffed as not UTF-8 is read in it, every row.
func TestNotUTF8(t *testing.T) {
	cp1252 := "Name,City\nA,B\nX,M\xfcnchen\n"
	for _, c := range []struct {
		name, in, enc string
		row           int
	}{
		{"windows-1252", cp1252, "", 3},
		{"named utf-8", cp1252, "utf-8", 3},
		{"a character cut by the end", "Name,City\nX,M\xc3", "", 2},
	} {
		_, err := csv.NewReader(strings.NewReader(c.in), csv.Options{File: "in.csv", Encoding: c.enc})
		var ee *csv.EncodingError
		if !errors.As(err, &ee) || ee.Pos.Row != c.row || !strings.Contains(err.Error(), "nothing of it was read") {
			t.Errorf("%s: %v, want an *EncodingError at row %d", c.name, err, c.row)
		}
	}

	r, err := csv.NewReader(strings.NewReader(cp1252), csv.Options{File: "in.csv", Legacy: "windows-1252"})
	if err != nil {
		t.Fatal(err)
	}
	var cities []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		cities = append(cities, rec.Fields[1])
	}
	if strings.Join(cities, ",") != "B,München" {
		t.Errorf("read as windows-1252: %q", cities)
	}

	// Past the first 64 KiB the reading stops at the byte, for good.
	late := "Name,City\n" + strings.Repeat("A,B\n", 20000) + "X,M\xfcnchen\nC,D\n"
	r, err = csv.NewReader(strings.NewReader(late), csv.Options{File: "in.csv", Legacy: "windows-1252"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Read()
		var ee *csv.EncodingError
		if errors.As(err, &ee) {
			if ee.Pos.Row != 20002 || n != 20000 {
				t.Errorf("stopped at row %d after %d rows", ee.Pos.Row, n)
			}
			break
		}
		if err != nil {
			t.Fatalf("after %d rows: %v, want an *EncodingError", n, err)
		}
		n++
	}
}

// TestSniffComma: with SniffComma the delimiter is the one the header
// holds most of outside quotes; a comma when it holds none.
func TestSniffComma(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    rune
		columns int
	}{
		{"Account;Name;Amount\n1;A;2,50\n", ';', 3},
		{"Account,Name,Amount\n1,A,2.50\n", ',', 3},
		{"Account\tName\n1\tA\n", '\t', 2},
		{"Account|Name\n1|A\n", '|', 2},
		{"\"Name, full\";City\nA;B\n", ';', 2},
		{"Account\n1\n", ',', 1},
	} {
		r, err := csv.NewReader(strings.NewReader(c.in), csv.Options{File: "in.csv", SniffComma: true})
		if err != nil {
			t.Fatal(err)
		}
		if r.Comma() != c.want || len(r.Header()) != c.columns {
			t.Errorf("%q: read with %q into %q, want %q and %d columns", c.in, r.Comma(), r.Header(), c.want, c.columns)
		}
	}
	if c := csv.LooksDelimited([]string{"Account;Name;Amount"}, ','); c != ';' {
		t.Errorf("LooksDelimited = %q, want ';'", c)
	}
}
