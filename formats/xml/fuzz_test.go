package xml_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/xml"
	"github.com/erpipe/erpipe/internal/memtest"
)

var fuzzPaths = []struct {
	record string
	fields []string
}{
	{"Document/BkToCstmrStmt/Stmt/Ntry", camtFields},
	{"//Ntry", camtFields},
	{"//r", []string{".", "@id", "x", "x/@q", "x/y"}},
	{"a/r", []string{"x", "text()", "y/z/@w"}},
	{"a/s/r", []string{"x", "../y", "../b[t=1]/v", "../b[t=1]/v/@c", "../../s/y", "z[k=2]/w"}},
	{"Document/BkToCstmrStmt/Stmt/Ntry/NtryDtls?/TxDtls?", []string{"../../Amt", "AmtDtls/TxAmt/Amt", "Refs/EndToEndId", "../Btch/NbOfTxs", "../../../Id"}},
	{"a|b/s/r?", []string{"x", "../y"}},
}

// FuzzReader checks that no input makes the Reader panic or loop, that
// every error is a *formats.ParseError (or, past the limits, a
// *formats.LimitError), that records are consistent, and that its memory
// stays within a ceiling in proportion to the input.
func FuzzReader(f *testing.F) {
	camt, err := os.ReadFile(filepath.Join("testdata", "camt053.xml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(camt, uint8(0))
	f.Add(camt, uint8(1))
	f.Add(camt, uint8(5))
	for _, tt := range readTests {
		f.Add([]byte(tt.input), uint8(2))
		f.Add([]byte(tt.input), uint8(3))
	}
	f.Add([]byte("\xFF\xFE<\x00a\x00/\x00>\x00"), uint8(3))
	f.Add([]byte(`<a><s><y>1</y><b><t>2</t><v>x</v></b><b><t>1</t><v c="3">y</v></b><r><x>1</x><z><k>2</k><w>w</w></z></r><r/></s><s><r/></s></a>`), uint8(3))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a><r><x>\xfc</x></r></a>"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, paths uint8) {
		memtest.Ceiling(t, 64*uint64(len(data))+4<<20, func() { fuzzRead(t, data, paths) })
	})
}

// fuzzRead reads data with the paths the fuzzer chose and checks what
// comes back.
func fuzzRead(t *testing.T, data []byte, paths uint8) {
	p := fuzzPaths[int(paths)%len(fuzzPaths)]
	r, err := xml.NewReader(bytes.NewReader(data), xml.Options{File: "fuzz.xml", Record: p.record, Fields: p.fields,
		Limits: formats.Limits{RecordBytes: 4096, Depth: 64}})
	var le *formats.LimitError
	if errors.As(err, &le) {
		return
	}
	if err != nil {
		var pe *formats.ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("NewReader error %v (%T) is not a *formats.ParseError", err, err)
		}
		return
	}
	for n := 0; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if errors.As(err, &le) {
			break
		}
		if err != nil {
			var pe *formats.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Read error %v (%T) is not a *formats.ParseError", err, err)
			}
			if again := r.Read; again != nil {
				if _, err2 := again(); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
			}
			break
		}
		if n > len(data) {
			t.Fatal("more records than bytes")
		}
		if len(rec.Fields) != len(p.fields) || rec.Pos.Row < 1 {
			t.Fatalf("record %+v for fields %q", rec, p.fields)
		}
		for i := range rec.Fields {
			around := strings.HasPrefix(p.fields[i], "../") // from an element before the record
			if fp := r.FieldPos(i); fp.Row < rec.Pos.Row && !around || fp.Col != i+1 {
				t.Fatalf("FieldPos(%d) = %+v in record at row %d", i, fp, rec.Pos.Row)
			}
		}
	}
}
