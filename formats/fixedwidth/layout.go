// Package fixedwidth reads and writes fixed-width text files: files whose
// lines are records of fields at fixed positions, as banks and tax offices
// still ask for (NACHA ACH, BACS, CNAB, giro and payroll files).
//
// A Layout lists the file's record types (a file header, a batch header,
// a detail line, the trailers that close them). Which type a line is is
// told by its code at a fixed place (the discriminator: NACHA's record
// type code is the line's first character). Each field has a start and a
// length, counted in characters from 1, how it is padded and aligned, and
// for a number its implied decimals and sign (none, leading, trailing, or
// the overpunch of COBOL's signed zoned decimals).
//
// A control field is not data but a check over other records: a count of
// records, a sum of a numeric field, a hash (a sum of which only the
// rightmost digits are kept), or the number of blocks of the file. The
// Writer fills control fields itself; the Reader checks them and reports
// a file whose totals do not add up at the control record's line and
// column.
//
// Numbers are read into decimal text ("-1234.56", as many decimals as the
// field implies) and written from it, through shopspring/decimal: an
// amount is never a float.
package fixedwidth

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// Signs of numeric fields (Field.Sign).
const (
	SignNone      = "none"      // unsigned: a negative value can't be written
	SignLeading   = "leading"   // "-" or "+" (or a blank) before the digits
	SignTrailing  = "trailing"  // "-" or "+" (or a blank) after the digits
	SignOverpunch = "overpunch" // the last digit carries the sign: {ABCDEFGHI for +0..9, }JKLMNOPQR for -0..9
)

// Line endings (Layout.LineEnding).
const (
	LF   = "lf"
	CRLF = "crlf"
	// None: records follow each other without a line break, each as long
	// as its record type says (files of mainframe origin; NACHA allows
	// it). Reading then takes each record's type from its discriminator.
	None = "none"
)

// Encodings are the encodings a layout may name.
var Encodings = []string{"utf-8", "ascii", "windows-1252", "iso-8859-1", "iso-8859-15", "windows-1250", "windows-1251"}

// Field is one field of a record type.
type Field struct {
	Name string
	// Start is the first character's position, from 1. Length is how
	// many characters the field takes.
	Start, Length int
	// Align is "left" or "right"; Pad the character that fills the rest
	// (a blank, or "0" for zero fill). Defaults: text left with blanks,
	// numbers right with zeros.
	Align string
	Pad   rune
	// Numeric fields hold a number with Decimals implied decimals (no
	// decimal point is written: 1234.56 with 2 is "123456") and a Sign.
	Numeric  bool
	Decimals int
	Sign     string
	// Truncate cuts a text longer than the field when writing (a name);
	// without it such a value is an error.
	Truncate bool
	// Value is a constant: written as it is, and checked when reading (a
	// record type code, a format code such as NACHA's "094").
	Value string
	// Control makes the field a control total.
	Control *Control
}

// Control is what a control field holds. Exactly one of Count, Sum,
// Hash or Blocks is given.
type Control struct {
	// Count counts the records of these types.
	Count []string
	// Sum adds up a numeric field, "record.field"; Hash does the same
	// and keeps only the field's Length rightmost digits.
	Sum, Hash string
	// Blocks is the number of blocks of Layout.BlockLines lines the
	// file takes (NACHA's block count).
	Blocks bool
	// Scope is the record type that starts what is counted: counts and
	// sums go back to the last record of that type (a batch header), or
	// to the start of the file when it is empty. A count includes the
	// control's own record when it is of a type counted (a batch number).
	Scope string
	// Where, "record.field", and In keep only the records whose field
	// holds one of In (NACHA's credit total: the entries whose
	// transaction code is a credit's).
	Where string
	In    []string
}

// Record is one record type.
type Record struct {
	Name string
	// Code is the value the discriminator holds for this type.
	Code string
	// Length is the length of the line; shorter lines are read as if
	// padded with blanks, and lines are written padded to it. 0: the end
	// of the last field.
	Length int
	Fields []Field
}

// Layout is the shape of a file.
type Layout struct {
	Records []Record
	// CodeStart and CodeLength place the discriminator. With one record
	// type they may be 0: every line is of that type.
	CodeStart, CodeLength int
	// LineEnding is LF or CRLF for writing, and reading takes either; or
	// None, records without line breaks.
	LineEnding string
	// Encoding is one of Encodings ("" is utf-8).
	Encoding string
	// BlockLines, when set, makes the Writer fill the file with lines of
	// BlockFill up to a multiple of BlockLines lines (NACHA: 10 lines of
	// 94 "9"s); the Reader skips such lines at the end.
	BlockLines int
	BlockFill  rune

	byCode map[string]int
	fields []map[string]int
	width  []int
}

// LayoutError is a mistake in a Layout: Record and Field are the
// indexes of the record type and field it is about (-1: none).
type LayoutError struct {
	Record, Field int
	Msg           string
}

func (e *LayoutError) Error() string { return e.Msg }

// Compile checks the layout, fills in defaults and prepares it for
// reading and writing. It returns every mistake found.
func (l *Layout) Compile() []*LayoutError {
	var errs []*LayoutError
	bad := func(r, f int, format string, a ...any) {
		errs = append(errs, &LayoutError{Record: r, Field: f, Msg: fmt.Sprintf(format, a...)})
	}
	if len(l.Records) == 0 {
		bad(-1, -1, "the layout has no record types")
	}
	if l.Encoding == "" {
		l.Encoding = "utf-8"
	}
	if l.LineEnding == "" {
		l.LineEnding = LF
	}
	if encodingOf(l.Encoding) == nil && l.Encoding != "utf-8" && l.Encoding != "ascii" {
		bad(-1, -1, "unknown encoding %q; use one of %s", l.Encoding, strings.Join(Encodings, ", "))
	}
	if l.CodeLength == 0 && len(l.Records) > 1 {
		bad(-1, -1, "a layout of %d record types needs a discriminator: the position and length of the record type code", len(l.Records))
	}
	if l.LineEnding != LF && l.LineEnding != CRLF && l.LineEnding != None {
		bad(-1, -1, "line_ending must be lf, crlf or none, not %q", l.LineEnding)
	}
	if l.LineEnding == None && l.CodeLength == 0 && len(l.Records) > 1 {
		bad(-1, -1, "records without line breaks need a discriminator to tell their lengths")
	}
	if l.BlockLines > 0 && l.BlockFill == 0 {
		l.BlockFill = '9'
	}
	l.byCode = map[string]int{}
	l.fields = make([]map[string]int, len(l.Records))
	l.width = make([]int, len(l.Records))
	names := map[string]bool{}
	for ri := range l.Records {
		r := &l.Records[ri]
		if names[r.Name] {
			bad(ri, -1, "record type %q is listed twice", r.Name)
		}
		names[r.Name] = true
		if l.CodeLength > 0 {
			if utf8.RuneCountInString(r.Code) != l.CodeLength {
				bad(ri, -1, "record type %q: its code %q must be %d characters long, the discriminator's length", r.Name, r.Code, l.CodeLength)
			} else if other, dup := l.byCode[r.Code]; dup {
				bad(ri, -1, "record types %q and %q have the same code %q", l.Records[other].Name, r.Name, r.Code)
			} else {
				l.byCode[r.Code] = ri
			}
		}
		l.compileFields(ri, bad)
	}
	for ri := range l.Records {
		for fi := range l.Records[ri].Fields {
			if c := l.Records[ri].Fields[fi].Control; c != nil {
				l.checkControl(ri, fi, c, names, bad)
			}
		}
	}
	return errs
}

func (l *Layout) compileFields(ri int, bad func(r, f int, format string, a ...any)) {
	r := &l.Records[ri]
	l.fields[ri] = map[string]int{}
	next, end := 1, 0
	used := map[int]string{}
	for fi := range r.Fields {
		f := &r.Fields[fi]
		if _, dup := l.fields[ri][f.Name]; dup || f.Name == "" {
			bad(ri, fi, "record type %q: field %q must have a name of its own", r.Name, f.Name)
		}
		l.fields[ri][f.Name] = fi
		if f.Start == 0 {
			f.Start = next
		}
		if f.Length <= 0 {
			bad(ri, fi, "record type %q: field %q needs a length of at least 1", r.Name, f.Name)
			f.Length = 1
		}
		next = f.Start + f.Length
		end = max(end, next-1)
		for p := f.Start; p < f.Start+f.Length; p++ {
			if other, ok := used[p]; ok {
				bad(ri, fi, "record type %q: field %q (positions %d-%d) overlaps field %q at position %d", r.Name, f.Name, f.Start, f.Start+f.Length-1, other, p)
				break
			}
			used[p] = f.Name
		}
		l.fieldDefaults(ri, fi, bad)
	}
	if r.Length == 0 {
		r.Length = end
	}
	if end > r.Length {
		bad(ri, -1, "record type %q: its fields end at position %d, beyond its length %d", r.Name, end, r.Length)
	}
	l.width[ri] = r.Length
}

func (l *Layout) fieldDefaults(ri, fi int, bad func(r, f int, format string, a ...any)) {
	r, f := &l.Records[ri], &l.Records[ri].Fields[fi]
	if f.Control != nil {
		f.Numeric = true
	}
	if f.Align == "" {
		f.Align = "left"
		if f.Numeric {
			f.Align = "right"
		}
	}
	if f.Align != "left" && f.Align != "right" {
		bad(ri, fi, "record type %q: field %q: align must be left or right, not %q", r.Name, f.Name, f.Align)
	}
	if f.Pad == 0 {
		f.Pad = ' '
		if f.Numeric {
			f.Pad = '0'
		}
	}
	if f.Sign == "" {
		f.Sign = SignNone
	}
	switch f.Sign {
	case SignNone, SignLeading, SignTrailing, SignOverpunch:
	default:
		bad(ri, fi, "record type %q: field %q: sign must be none, leading, trailing or overpunch, not %q", r.Name, f.Name, f.Sign)
	}
	if !f.Numeric && (f.Decimals != 0 || f.Sign != SignNone) {
		bad(ri, fi, "record type %q: field %q: decimals and sign are for numbers; add numeric: true", r.Name, f.Name)
	}
	if f.Numeric && f.Decimals < 0 {
		bad(ri, fi, "record type %q: field %q: decimals can't be negative", r.Name, f.Name)
	}
	if f.Value != "" && utf8.RuneCountInString(f.Value) > f.Length {
		bad(ri, fi, "record type %q: field %q: the value %q is longer than the field's %d characters", r.Name, f.Name, f.Value, f.Length)
	}
	if l.CodeLength > 0 && f.Start == l.CodeStart && f.Length == l.CodeLength && f.Value == "" {
		f.Value = r.Code // the record type code field
	}
}

func (l *Layout) checkControl(ri, fi int, c *Control, names map[string]bool, bad func(r, f int, format string, a ...any)) {
	r, f := &l.Records[ri], &l.Records[ri].Fields[fi]
	what := fmt.Sprintf("record type %q: control field %q", r.Name, f.Name)
	kinds := 0
	for _, k := range []bool{len(c.Count) > 0, c.Sum != "", c.Hash != "", c.Blocks} {
		if k {
			kinds++
		}
	}
	if kinds != 1 {
		bad(ri, fi, "%s: give one of count, sum, hash or blocks", what)
	}
	for _, n := range c.Count {
		if !names[n] {
			bad(ri, fi, "%s counts record type %q, which the layout does not have", what, n)
		}
	}
	for _, s := range []string{c.Sum, c.Hash} {
		if s == "" {
			continue
		}
		sr, sf, ok := l.FieldRef(s)
		if !ok {
			bad(ri, fi, "%s adds up %q: write record.field, a numeric field of the layout", what, s)
		} else if !l.Records[sr].Fields[sf].Numeric {
			bad(ri, fi, "%s adds up %q, which is not numeric", what, s)
		}
	}
	if c.Blocks && l.BlockLines == 0 {
		bad(ri, fi, "%s counts blocks, but the layout sets no block size", what)
	}
	if c.Where != "" {
		if _, _, ok := l.FieldRef(c.Where); !ok {
			bad(ri, fi, "%s: where %q: write record.field, a field of the layout", what, c.Where)
		}
		if len(c.In) == 0 {
			bad(ri, fi, "%s: where needs in, the values to keep", what)
		}
	}
	if c.Scope != "" && !names[c.Scope] {
		bad(ri, fi, "%s: scope %q is not a record type of the layout", what, c.Scope)
	}
}

// FieldRef finds "record.field" in the layout.
func (l *Layout) FieldRef(ref string) (record, field int, ok bool) {
	rn, fn, found := strings.Cut(ref, ".")
	if !found {
		return 0, 0, false
	}
	ri := l.RecordIndex(rn)
	if ri < 0 {
		return 0, 0, false
	}
	fi, ok := l.fields[ri][fn]
	return ri, fi, ok
}

// RecordIndex is the index of the named record type, or -1.
func (l *Layout) RecordIndex(name string) int {
	for i := range l.Records {
		if l.Records[i].Name == name {
			return i
		}
	}
	return -1
}

// encodingOf is the legacy encoding of a name, or nil for utf-8 and ascii.
func encodingOf(name string) encoding.Encoding {
	switch name {
	case "windows-1252":
		return charmap.Windows1252
	case "iso-8859-1":
		return charmap.ISO8859_1
	case "iso-8859-15":
		return charmap.ISO8859_15
	case "windows-1250":
		return charmap.Windows1250
	case "windows-1251":
		return charmap.Windows1251
	}
	return nil
}
