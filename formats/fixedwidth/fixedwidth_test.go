package fixedwidth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/erpipe/erpipe/formats"
)

// payments is a small bank format: a header, payment lines, a trailer
// with the count and the sum of the payments.
func payments(t testing.TB) *Layout {
	l := &Layout{
		CodeStart: 1, CodeLength: 1, LineEnding: CRLF,
		Records: []Record{
			{Name: "header", Code: "H", Length: 40, Fields: []Field{
				{Name: "code", Start: 1, Length: 1},
				{Name: "payer", Start: 2, Length: 20},
				{Name: "date", Start: 22, Length: 8},
			}},
			{Name: "payment", Code: "P", Length: 40, Fields: []Field{
				{Name: "code", Length: 1},
				{Name: "account", Length: 10, Align: "right", Pad: '0'},
				{Name: "name", Length: 15, Truncate: true},
				{Name: "amount", Length: 11, Numeric: true, Decimals: 2, Sign: SignOverpunch},
			}},
			{Name: "trailer", Code: "T", Length: 40, Fields: []Field{
				{Name: "code", Length: 1},
				{Name: "count", Length: 6, Control: &Control{Count: []string{"payment"}}},
				{Name: "total", Length: 14, Sign: SignLeading, Decimals: 2, Control: &Control{Sum: "payment.amount"}},
			}},
		},
	}
	if errs := l.Compile(); len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	return l
}

const paymentsFile = "HACME PAYROLL        20240502           \r\n" +
	"P0000123456Jane Doe       0000001250{   \r\n" +
	"P0000654321Ola Nordmann   0000000010J   \r\n" +
	"T000002+0000000012399                   \r\n"

func TestWriteReadRoundTrip(t *testing.T) {
	l := payments(t)
	var buf bytes.Buffer
	w := NewWriter(&buf, l)
	rows := []struct {
		typ    int
		values []string
	}{
		{0, []string{"", "ACME PAYROLL", "20240502"}},
		{1, []string{"", "123456", "Jane Doe", "125.00"}},
		{1, []string{"", "654321", "Ola Nordmann", "-1.01"}},
		{2, []string{"", "", ""}},
	}
	for _, r := range rows {
		if err := w.Write(r.typ, r.values); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The trailer's total: 125.00 - 1.01 = 123.99, written with a leading sign.
	if want := paymentsFile; buf.String() != want {
		t.Fatalf("written:\n%q\nwant:\n%q", buf.String(), want)
	}
	r := NewReader(&buf, l, Options{File: "pay.txt"})
	for i, row := range rows {
		typ, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
		if typ != row.typ {
			t.Fatalf("record %d: type %d, want %d", i+1, typ, row.typ)
		}
		got := r.Values()
		for fi, v := range row.values {
			f := l.Records[typ].Fields[fi]
			if f.Value != "" || f.Control != nil {
				continue
			}
			if f.Numeric {
				a, b := decimal.RequireFromString(v), decimal.RequireFromString(got[fi])
				if !a.Equal(b) {
					t.Errorf("record %d %s: %s, want %s", i+1, f.Name, got[fi], v)
				}
			} else if strings.TrimLeft(got[fi], "0") != strings.TrimLeft(v, "0") {
				t.Errorf("record %d %s: %q, want %q", i+1, f.Name, got[fi], v)
			}
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		field Field
		value string // decimal text
		text  string // in the file
	}{
		{Field{Length: 6, Decimals: 2}, "12.34", "001234"},
		{Field{Length: 6}, "0", "000000"},
		{Field{Length: 6, Decimals: 2, Sign: SignOverpunch}, "12.34", "00123D"},
		{Field{Length: 6, Decimals: 2, Sign: SignOverpunch}, "-12.34", "00123M"},
		{Field{Length: 6, Decimals: 2, Sign: SignOverpunch}, "-12.30", "00123}"},
		{Field{Length: 6, Decimals: 2, Sign: SignOverpunch}, "10.00", "00100{"},
		{Field{Length: 6, Decimals: 1, Sign: SignLeading}, "-5.5", "-00055"},
		{Field{Length: 6, Decimals: 1, Sign: SignTrailing}, "5.5", "00055+"},
		{Field{Length: 6, Decimals: 0, Pad: ' '}, "42", "    42"},
		{Field{Length: 6, Decimals: 3, Align: "left", Pad: ' '}, "4.2", "4200  "},
	}
	for _, tt := range tests {
		f := tt.field
		f.Name, f.Numeric = "n", true
		l := &Layout{Records: []Record{{Name: "r", Fields: []Field{f}}}}
		if errs := l.Compile(); len(errs) > 0 {
			t.Fatal(errs)
		}
		fc := &l.Records[0].Fields[0]
		got, err := formatNumber(fc, decimal.RequireFromString(tt.value))
		if err != nil || got != tt.text {
			t.Errorf("format %s (%+v): %q, %v; want %q", tt.value, tt.field, got, err, tt.text)
		}
		d, ok, err := parseNumber(fc, tt.text)
		if err != nil || !ok || !d.Equal(decimal.RequireFromString(tt.value)) {
			t.Errorf("parse %q (%+v): %s, %v; want %s", tt.text, tt.field, d, err, tt.value)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	l := payments(t)
	tests := []struct {
		typ    int
		values []string
		want   string
	}{
		{1, []string{"", "123456789012", "x", "1"}, `payment.account: "123456789012" is 12 characters long, longer than the field's 10`},
		{1, []string{"", "1", "x", "1.001"}, "payment.amount: 1.001 has more decimals than the field's 2"},
		{1, []string{"", "1", "x", "123456789012"}, "payment.amount: 123456789012 does not fit in the field's 11 characters"},
		{1, []string{"", "1", "x", "twelve"}, `payment.amount: "twelve" is not a number`},
		{0, []string{"", "ACME\nX", "20240502"}, "header.payer: \"ACME\\nX\" holds a line break"},
	}
	for _, tt := range tests {
		err := NewWriter(io.Discard, l).Write(tt.typ, tt.values)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Write(%q): %v, want %q", tt.values, err, tt.want)
		}
	}
	// A long name is cut: the field says truncate.
	var buf bytes.Buffer
	if err := NewWriter(&buf, l).Write(1, []string{"", "1", "A name longer than fifteen", "1"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "A name longer t0") {
		t.Errorf("truncated: %q", buf.String())
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, file string
		pos        formats.Pos
		want       string
	}{
		{"unknown code", "X\n", formats.Pos{File: "f.txt", Row: 1, Col: 1}, `the record type code "X" is none of the layout's: "H" (header), "P" (payment), "T" (trailer)`},
		{"not a number", "P0000123456Jane Doe       00000012A0{\n", formats.Pos{File: "f.txt", Row: 1, Col: 27}, `payment.amount: "00000012A0{" is not a number: "A" at its character 9 is not a digit`},
		{"count wrong", paymentsFile[:strings.Index(paymentsFile, "T")] + "T000003+0000000012399\n", formats.Pos{File: "f.txt", Row: 4, Col: 2},
			`trailer.count is "000003", but counting the payment records of the file gives 2`},
		{"sum wrong", paymentsFile[:strings.Index(paymentsFile, "T")] + "T000002+0000000012400\n", formats.Pos{File: "f.txt", Row: 4, Col: 8},
			`trailer.total is "+0000000012400", but adding up payment.amount over the file gives 123.99`},
		{"too long", "HACME PAYROLL        20240502           XX\n", formats.Pos{File: "f.txt", Row: 1, Col: 41}, "the line is 42 characters long; a header record is 40"},
		{"not utf-8", "HACME \xff\n", formats.Pos{File: "f.txt", Row: 1, Col: 7}, "the line is not utf-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.file), payments(t), Options{File: "f.txt"})
			var err error
			for err == nil {
				_, err = r.Next()
			}
			var pe *formats.ParseError
			if ce := (*ControlError)(nil); errors.As(err, &ce) {
				pe = &formats.ParseError{Pos: ce.Pos, Err: ce.Err}
			} else if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *formats.ParseError", err)
			}
			if pe.Pos != tt.pos || !strings.Contains(pe.Err.Error(), tt.want) {
				t.Fatalf("error at %v: %v\nwant at %v: %s", pe.Pos, pe.Err, tt.pos, tt.want)
			}
		})
	}
}

func TestRecords(t *testing.T) {
	rr, err := NewRecords(strings.NewReader(paymentsFile), payments(t), RecordOptions{Options: Options{File: "pay.txt"},
		Record: "payment", Fields: []string{"account", "amount", "header.payer", "date"}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"123456", "125.00", "ACME PAYROLL", "20240502"}, {"654321", "-1.01", "ACME PAYROLL", "20240502"}}
	for i, w := range want {
		rec, err := rr.Read()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rec.Fields, "|") != strings.Join(w, "|") || rec.Pos.Row != i+2 {
			t.Errorf("record %d: %q at row %d, want %q at row %d", i+1, rec.Fields, rec.Pos.Row, w, i+2)
		}
		if p := rr.FieldPos(2); p.Row != 1 || p.Col != 2 {
			t.Errorf("header.payer at %v, want row 1 column 2", p)
		}
	}
	if _, err := rr.Read(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	for _, bad := range []struct{ ref, want string }{
		{"nope", `no record type of the layout has a field "nope"`},
		{"header.nope", `"header.nope" is no field of the layout`},
		{"count", `field "count" is in record types trailer; write`},
	} {
		l := payments(t)
		if bad.ref == "count" { // a field of two record types other than the row's
			l.Records[0].Fields = append(l.Records[0].Fields, Field{Name: "count", Start: 30, Length: 1})
			l.Compile()
			bad.want = `field "count" is in record types header and trailer; write record.field`
		}
		_, err := NewRecords(strings.NewReader(""), l, RecordOptions{Record: "payment", Fields: []string{bad.ref}})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("field %q: %v, want %s", bad.ref, err, bad.want)
		}
	}
}

func TestLayoutErrors(t *testing.T) {
	tests := []struct {
		layout Layout
		want   string
	}{
		{Layout{}, "the layout has no record types"},
		{Layout{Records: []Record{{Name: "a"}, {Name: "b"}}}, "needs a discriminator"},
		{Layout{Records: []Record{{Name: "a", Fields: []Field{{Name: "x", Length: 5}, {Name: "y", Start: 3, Length: 2}}}}}, `field "y" (positions 3-4) overlaps field "x" at position 3`},
		{Layout{Records: []Record{{Name: "a", Length: 4, Fields: []Field{{Name: "x", Length: 5}}}}}, "its fields end at position 5, beyond its length 4"},
		{Layout{Records: []Record{{Name: "a", Fields: []Field{{Name: "x", Length: 5, Control: &Control{Sum: "a.y"}}}}}}, `adds up "a.y"`},
		{Layout{Records: []Record{{Name: "a", Fields: []Field{{Name: "x", Length: 5, Control: &Control{Blocks: true}}}}}}, "sets no block size"},
		{Layout{Encoding: "ebcdic", Records: []Record{{Name: "a", Fields: []Field{{Name: "x", Length: 1}}}}}, `unknown encoding "ebcdic"`},
		{Layout{CodeStart: 1, CodeLength: 1, Records: []Record{{Name: "a", Code: "1"}, {Name: "b", Code: "1"}}}, `record types "a" and "b" have the same code "1"`},
	}
	for _, tt := range tests {
		errs := tt.layout.Compile()
		var all []string
		for _, e := range errs {
			all = append(all, e.Msg)
		}
		if !strings.Contains(strings.Join(all, "\n"), tt.want) {
			t.Errorf("%+v: %q, want %q", tt.layout, all, tt.want)
		}
	}
}

func TestEncodingAndBlocks(t *testing.T) {
	l := &Layout{Encoding: "windows-1252", BlockLines: 4, CodeStart: 1, CodeLength: 1, Records: []Record{
		{Name: "line", Code: "L", Fields: []Field{{Name: "code", Length: 1}, {Name: "name", Length: 6}}},
		{Name: "end", Code: "E", Fields: []Field{{Name: "code", Length: 1}, {Name: "blocks", Length: 2, Control: &Control{Blocks: true}}, {Name: "n", Length: 4, Control: &Control{Count: []string{"line"}}}}},
	}}
	if errs := l.Compile(); len(errs) > 0 {
		t.Fatal(errs)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, l)
	for _, v := range []string{"Müller", "Øst"} {
		if err := w.Write(0, []string{"", v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(1, []string{"", "", ""}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "LM\xfcller\nL\xd8st   \nE010002\n9999999\n"
	if buf.String() != want {
		t.Fatalf("written %q, want %q", buf.String(), want)
	}
	if err := NewWriter(io.Discard, l).Write(0, []string{"", "€uro"}); err != nil {
		t.Errorf("€ is in windows-1252: %v", err)
	}
	if err := NewWriter(io.Discard, l).Write(0, []string{"", "Ωmega"}); err == nil || !strings.Contains(err.Error(), "can't be written in windows-1252") {
		t.Errorf("Ω: %v", err)
	}
	r := NewReader(bytes.NewReader(buf.Bytes()), l, Options{File: "f.txt"})
	var names []string
	for {
		typ, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if typ == 0 {
			names = append(names, r.Values()[1])
		}
	}
	if strings.Join(names, ",") != "Müller,Øst" {
		t.Errorf("read %q", names)
	}
}

func TestLongLine(t *testing.T) {
	r := NewReader(strings.NewReader("H"+strings.Repeat("x", 100)+"\n"), payments(t), Options{File: "f.txt", Limits: formats.Limits{RecordBytes: 50}})
	_, err := r.Next()
	var le *formats.LimitError
	if !errors.As(err, &le) || le.Pos.Row != 1 || le.Setting != "limits.record_bytes" {
		t.Fatalf("a line past the limit: %v", err)
	}
}

func TestByteOrderMark(t *testing.T) {
	rr, err := NewRecords(strings.NewReader("\ufeff"+paymentsFile), payments(t), RecordOptions{Record: "payment", Fields: []string{"header.payer", "amount"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rr.Read()
	if err != nil || rec.Fields[0] != "ACME PAYROLL" {
		t.Fatalf("%q, %v", rec.Fields, err)
	}
}

// TestNoLineBreaks writes and reads records that follow each other
// without line breaks, each as long as its type.
func TestNoLineBreaks(t *testing.T) {
	l := payments(t)
	l.LineEnding = None
	l.Records[2].Length = 21 // a shorter trailer
	if errs := l.Compile(); len(errs) > 0 {
		t.Fatal(errs)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, l)
	w.Write(0, []string{"", "ACME PAYROLL", "20240502"})
	w.Write(1, []string{"", "123456", "Jane Doe", "125.00"})
	w.Write(1, []string{"", "654321", "Ola Nordmann", "-1.01"})
	if err := w.Write(2, []string{"", "", ""}); err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(strings.Replace(paymentsFile, "T000002+0000000012399                   ", "T000002+0000000012399", 1), "\r\n", "")
	if buf.String() != want {
		t.Fatalf("written %q, want %q", buf.String(), want)
	}
	rr, err := NewRecords(&buf, l, RecordOptions{Record: "payment", Fields: []string{"account", "amount"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join(rec.Fields, " ")+" @"+strconv.Itoa(rec.Pos.Row))
	}
	if strings.Join(got, ",") != "123456 125.00 @2,654321 -1.01 @3" {
		t.Errorf("read %q", got)
	}
}

// TestAttach reads payments with the remittance lines attached after
// them: a payment is returned with its own, and a blank one without.
func TestAttach(t *testing.T) {
	l := payments(t)
	l.Records = append(l.Records, Record{Name: "remittance", Code: "R", Fields: []Field{{Name: "code", Length: 1}, {Name: "text", Length: 20}}})
	if errs := l.Compile(); len(errs) > 0 {
		t.Fatal(errs)
	}
	file := strings.Replace(paymentsFile, "0000001250{   \r\n", "0000001250{   \r\nRInvoice 1\r\n", 1)
	rr, err := NewRecords(strings.NewReader(file), l, RecordOptions{Record: "payment", Attach: []string{"remittance"},
		Fields: []string{"account", "remittance.text", "header.payer"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s|%s|%s@%d text@%d", rec.Fields[0], rec.Fields[1], rec.Fields[2], rec.Pos.Row, rr.FieldPos(1).Row))
	}
	if want := "123456|Invoice 1|ACME PAYROLL@2 text@3,654321||ACME PAYROLL@4 text@4"; strings.Join(got, ",") != want {
		t.Errorf("read %q\nwant %q", strings.Join(got, ","), want)
	}
	if _, err := NewRecords(strings.NewReader(""), l, RecordOptions{Record: "payment", Attach: []string{"payment"}}); err == nil {
		t.Error("a record type attached to itself: no error")
	}
}
