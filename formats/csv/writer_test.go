package csv_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats/csv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var writeTests = []struct {
	name    string
	opts    csv.WriterOptions
	records [][]string
	want    string
}{{
	name:    "plain",
	records: [][]string{{"a", "b"}, {"1", "2"}},
	want:    "a,b\n1,2\n",
}, {
	name:    "CRLF",
	opts:    csv.WriterOptions{CRLF: true},
	records: [][]string{{"a", "b"}, {"1", "2"}},
	want:    "a,b\r\n1,2\r\n",
}, {
	name:    "quote only where needed",
	records: [][]string{{"Contoso, Ltd", `say "hi"`, "two\nlines", "cr\r", " lead", "trail\t", "in side", "", "plain"}},
	want:    "\"Contoso, Ltd\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",\" lead\",\"trail\t\",in side,,plain\n",
}, {
	name:    "semicolon: commas need no quotes",
	opts:    csv.WriterOptions{Comma: ';'},
	records: [][]string{{"12,50", "a;b"}},
	want:    "12,50;\"a;b\"\n",
}, {
	name:    "multi-byte delimiter",
	opts:    csv.WriterOptions{Comma: '§'},
	records: [][]string{{"a", "b§c"}},
	want:    "a§\"b§c\"\n",
}, {
	name:    "one empty value is quoted so the line is not blank",
	records: [][]string{{"a"}, {""}, {"b"}},
	want:    "a\n\"\"\nb\n",
}, {
	name:    "UTF-8 BOM",
	opts:    csv.WriterOptions{Encoding: "utf-8-bom"},
	records: [][]string{{"Müller"}},
	want:    "\uFEFFMüller\n",
}, {
	name: "BOM even without records",
	opts: csv.WriterOptions{Encoding: "utf-8-bom"},
	want: "\uFEFF",
}, {
	name: "UTF-16 LE BOM even without records",
	opts: csv.WriterOptions{Encoding: "utf-16le"},
	want: "\xFF\xFE",
}}

func TestWriter(t *testing.T) {
	for _, tt := range writeTests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := csv.NewWriter(&buf, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range tt.records {
				if err := w.Write(rec); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("wrote %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWriterGoldenUTF16 pins the bytes D365 expects from a CSV-Unicode data
// file: UTF-16 LE with BOM FF FE, CRLF line ends, quotes only where needed.
// Run go test -update to rewrite testdata/utf16le_crlf.csv.
func TestWriterGoldenUTF16(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := csv.NewWriter(f, csv.WriterOptions{Encoding: "utf-16le", CRLF: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range [][]string{
		{"CUSTOMERACCOUNT", "NAME", "CREDITLIMIT", "ADDRESSSTREET"},
		{"DE-001", "Müller & Söhne, GmbH", "12500.00", "Hauptstraße 1\nHinterhaus"},
		{"US-002", `The "Best" Co`, "0.10", ""},
		{"CN-003", "北京公司 €", "-3.5", " padded "},
	} {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "utf16le_crlf.csv")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n got % x\nwant % x", golden, got, want)
	}
	if !bytes.HasPrefix(got, []byte{0xFF, 0xFE, 'C', 0}) || !bytes.HasSuffix(got, []byte{'\r', 0, '\n', 0}) {
		t.Errorf("output does not start with the UTF-16 LE BOM or end with CRLF: % x", got)
	}
}

type failWriter struct{ n int }

var errDisk = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		n := w.n
		w.n = 0
		return n, errDisk
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	for _, enc := range []string{"utf-8", "utf-16le"} {
		t.Run(enc, func(t *testing.T) {
			w, err := csv.NewWriter(&failWriter{n: 100}, csv.WriterOptions{Encoding: enc})
			if err != nil {
				t.Fatal(err)
			}
			long := strings.Repeat("x", 1000)
			var werr error
			for i := 0; i < 1000 && werr == nil; i++ { // more than the buffer holds
				werr = w.Write([]string{long, long})
			}
			if !errors.Is(werr, errDisk) {
				t.Errorf("Write error = %v, want %v", werr, errDisk)
			}
			if err := w.Close(); !errors.Is(err, errDisk) {
				t.Errorf("Close = %v, want %v", err, errDisk)
			}
			if err := w.Close(); !errors.Is(err, errDisk) {
				t.Errorf("second Close = %v, want %v", err, errDisk)
			}
		})
	}
}

func TestWriterErrorAtClose(t *testing.T) {
	w, err := csv.NewWriter(&failWriter{n: 3}, csv.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]string{"small", "record"}); err != nil {
		t.Fatalf("buffered Write failed early: %v", err)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Errorf("Close = %v, want %v", err, errDisk)
	}
	if err := w.Write([]string{"late"}); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestWriterBadOptions(t *testing.T) {
	for _, opts := range []csv.WriterOptions{{Comma: '"'}, {Comma: '\r'}, {Encoding: "utf-32"}} {
		if _, err := csv.NewWriter(&bytes.Buffer{}, opts); err == nil {
			t.Errorf("%+v: no error", opts)
		}
	}
}

// TestEscapeFormulas: with EscapeFormulas, a value a spreadsheet would run
// as a formula gets a ' in front; numbers and other text stay; without it
// nothing changes.
func TestEscapeFormulas(t *testing.T) {
	in := []string{"=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\r=1",
		"-12.50", "+47 22 33 44 55", "-1,234.50", "12", "a=b", "", "-", "Müller"}
	want := "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+cmd|' /C calc'!A0,'-2+3,'@SUM(A1),'\tx,\"'\r=1\",-12.50,+47 22 33 44 55,\"-1,234.50\",12,a=b,,'-,Müller\n"
	for _, escape := range []bool{true, false} {
		var b strings.Builder
		w, err := csv.NewWriter(&b, csv.WriterOptions{EscapeFormulas: escape})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(in); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if escape && b.String() != want {
			t.Errorf("escaped:\n got %q\nwant %q", b.String(), want)
		}
		if !escape && strings.Contains(b.String(), "'=") {
			t.Errorf("without EscapeFormulas a value changed: %q", b.String())
		}
	}
}
