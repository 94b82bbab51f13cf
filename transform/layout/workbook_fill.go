package layout

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/transform/expression"
)

// Filling streams: the sheet that holds the repeated ranges is written
// row by row with excelize's StreamWriter, in the order of the designed
// sheet's rows, so that memory stays flat however many rows are filled.
// The rendered document is read twice: first to count the copies of each
// range (so that every row's place, and so every formula's references,
// are known before the first row is written), then to write the rows. The
// layout's elements are in the sheet's row order (LoadWorkbook sorts
// them), so the document comes in the order the rows are written.

// tplCell is a cell of the designed sheet.
type tplCell struct {
	style   int
	value   any // text, a number, true/false; nil for none
	formula string
}

// tplSheet is the designed sheet that is streamed.
type tplSheet struct {
	name    string
	cells   map[int]map[int]tplCell // row → column → cell
	heights map[int]float64         // rows of their own height
	merges  [][4]int                // c1, r1, c2, r2
	maxRow  int
}

// readSheet reads the designed sheet name.
func readSheet(f *excelize.File, name string) (*tplSheet, error) {
	t := &tplSheet{name: name, cells: map[int]map[int]tplCell{}, heights: map[int]float64{}}
	// The cells to read: those of the sheet's dimension, its values, merged
	// cells and defined names, and at least columns A to Z (a cell with a
	// style or a formula alone is not in GetRows).
	maxCol, maxRow := 26, 1
	if dim, err := f.GetSheetDimension(name); err == nil && dim != "" {
		_, last, _ := strings.Cut(dim, ":")
		if c, r, err := excelize.CellNameToCoordinates(cmp.Or(last, dim)); err == nil {
			maxCol, maxRow = max(maxCol, c), max(maxRow, r)
		}
	}
	rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, err
	}
	maxRow = max(maxRow, len(rows))
	for _, r := range rows {
		maxCol = max(maxCol, len(r))
	}
	for _, d := range f.GetDefinedName() {
		if r, ok := parseRef(d.RefersTo); ok && r.sheet == name {
			maxCol, maxRow = max(maxCol, r.c2), max(maxRow, r.r2)
		}
	}
	if merged, err := f.GetMergeCells(name); err == nil {
		for _, m := range merged {
			if c, r, err := excelize.CellNameToCoordinates(m.GetEndAxis()); err == nil {
				maxCol, maxRow = max(maxCol, c), max(maxRow, r)
			}
		}
	}
	props, _ := f.GetSheetProps(name)
	defHeight := 15.0
	if props.DefaultRowHeight != nil && *props.DefaultRowHeight > 0 {
		defHeight = *props.DefaultRowHeight
	}
	for r := 1; r <= maxRow; r++ {
		row := map[int]tplCell{}
		for c := 1; c <= maxCol; c++ {
			cell, _ := excelize.CoordinatesToCellName(c, r)
			var tc tplCell
			if tc.style, err = f.GetCellStyle(name, cell); err != nil {
				return nil, err
			}
			tc.formula, _ = f.GetCellFormula(name, cell)
			if tc.formula == "" && r-1 < len(rows) && c-1 < len(rows[r-1]) && rows[r-1][c-1] != "" {
				tc.value = staticValue(f, name, cell, rows[r-1][c-1])
			}
			if tc != (tplCell{}) {
				row[c] = tc
			}
		}
		if len(row) > 0 {
			t.cells[r] = row
		}
		if h, err := f.GetRowHeight(name, r); err == nil && h != defHeight {
			t.heights[r] = h
		}
	}
	merged, err := f.GetMergeCells(name)
	if err != nil {
		return nil, err
	}
	for _, m := range merged {
		c1, r1, err1 := excelize.CellNameToCoordinates(m.GetStartAxis())
		c2, r2, err2 := excelize.CellNameToCoordinates(m.GetEndAxis())
		if err1 == nil && err2 == nil {
			t.merges = append(t.merges, [4]int{c1, r1, c2, r2})
			maxRow = max(maxRow, r2)
		}
	}
	t.maxRow = maxRow
	return t, nil
}

// staticValue is a designed cell's value with its type. A number is a
// cell without a type (excelize: CellTypeUnset) or of type n.
func staticValue(f *excelize.File, sheet, cell, raw string) any {
	typ, _ := f.GetCellType(sheet, cell)
	switch typ {
	case excelize.CellTypeNumber, excelize.CellTypeUnset:
		if x, err := strconv.ParseFloat(raw, 64); err == nil {
			return x
		}
	case excelize.CellTypeBool:
		return raw == "1" || strings.EqualFold(raw, "true")
	}
	return raw
}

// kid is a range repeated inside a block: its rows in the design, how
// many copies this occurrence of the block has and how many rows they
// take together (copies of a range with ranges in it differ in size).
type kid struct{ r1, r2, n, rows int }

func (k kid) height() int { return k.r2 - k.r1 + 1 }

// extra is how many rows the copies add (none for no copy: the designed
// rows stay, empty).
func (k kid) extra() int {
	if k.n == 0 {
		return 0
	}
	return k.rows - k.height()
}

// copies is what the first reading of the document learnt of an
// occurrence's ranges: their copies and the rows those take.
type copies map[string]*struct{ n, rows int }

// block is an occurrence of the sheet (the root) or of a range copy:
// the designed rows it covers and where this copy starts.
type block struct {
	parent *block
	b1, b2 int // the designed rows
	ob     int // the written row of b1
	kids   map[string]kid
	copies map[string]int // copies of each kid written so far
	filled map[string]int // rows those copies took
	cursor int            // the next designed row to write
	over   map[int]map[int]any
	name   string // the range ("" for the sheet)
}

// at is the written row of designed row t (in a repeated range, its
// first copy's).
func (b *block) at(t int) int {
	if b.parent != nil && (t < b.b1 || t > b.b2) {
		return b.parent.at(t)
	}
	out := b.ob + t - b.b1
	for _, k := range b.kids {
		if k.r2 < t {
			out += k.extra()
		}
	}
	return out
}

// end is the last written row of designed row t: for the last row of a
// repeated range, its last copy's.
func (b *block) end(t int) int {
	if b.parent != nil && (t < b.b1 || t > b.b2) {
		return b.parent.end(t)
	}
	for _, k := range b.kids {
		if k.r2 == t {
			return b.at(k.r1) + max(k.rows, k.height()) - 1
		}
	}
	return b.at(t)
}

// filler writes one workbook.
type filler struct {
	w      *Workbook
	f      *excelize.File
	sheet  *tplSheet
	sw     *excelize.StreamWriter
	styles map[styleKey]int
	counts map[int]copies // by the occurrence's number in the document: its kids' copies
	later  []laterValue   // values of other sheets, set once the stream is done
	root   *block
	seq    int
}

type styleKey struct {
	base   int
	format string
}

type laterValue struct {
	sheet    string
	col, row int
	v        any
}

// Fill reads the document the layout rendered (the file at docPath,
// written by Render or RenderDocs) and writes the designed workbook
// filled with it to out.
func (w *Workbook) Fill(docPath string, out io.Writer) error {
	f, err := excelize.OpenReader(bytes.NewReader(w.data))
	if err != nil {
		return fmt.Errorf("%s: %w", w.file, err)
	}
	defer f.Close()
	fl := &filler{w: w, f: f, styles: map[styleKey]int{}}
	if w.streamSheet != "" {
		if fl.counts, err = w.countCopies(docPath); err != nil {
			return err
		}
		if fl.sheet, err = readSheet(f, w.streamSheet); err != nil {
			return fmt.Errorf("%s: sheet %s: %w", w.file, w.streamSheet, err)
		}
		if fl.sw, err = f.NewStreamWriter(w.streamSheet); err != nil {
			return err
		}
	}
	if err := fl.write(docPath); err != nil {
		return err
	}
	if fl.sw != nil {
		if err := fl.sw.Flush(); err != nil {
			return err
		}
		if err := fl.moveNames(); err != nil {
			return err
		}
	}
	for _, lv := range fl.later {
		cell, _ := excelize.CoordinatesToCellName(lv.col, lv.row)
		c, err := fl.cell(lv.sheet, cell, 0, lv.v)
		if err != nil {
			return err
		}
		if err := setCell(f, lv.sheet, cell, c); err != nil {
			return err
		}
	}
	f.SetCalcProps(&excelize.CalcPropsOptions{FullCalcOnLoad: ptr(true)})
	return f.Write(out)
}

func ptr[T any](v T) *T { return &v }

// setCell writes a cell in normal mode (a sheet not streamed).
func setCell(f *excelize.File, sheet, cell string, c excelize.Cell) error {
	if c.StyleID != 0 {
		if err := f.SetCellStyle(sheet, cell, cell, c.StyleID); err != nil {
			return err
		}
	}
	if s, ok := c.Value.(string); ok {
		return f.SetCellStr(sheet, cell, s)
	}
	return f.SetCellValue(sheet, cell, c.Value)
}

// countCopies reads the document once, counting the copies of each range
// in each occurrence and the rows they take, by the occurrence's number
// in start order.
func (w *Workbook) countCopies(docPath string) (map[int]copies, error) {
	fh, err := os.Open(docPath)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	d := xml.NewDecoder(bufio.NewReaderSize(fh, 64<<10))
	type frame struct {
		seq    int
		name   string
		counts copies
	}
	var stack []*frame // nil for elements that are values
	out := map[int]copies{}
	seq := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the rendered layout: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > 0 && !w.ranges[t.Name.Local] {
				stack = append(stack, nil)
				continue
			}
			stack = append(stack, &frame{seq: seq, name: t.Name.Local})
			seq++
		case xml.EndElement:
			fr := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if fr == nil {
				continue
			}
			if fr.counts != nil {
				out[fr.seq] = fr.counts
			}
			if len(stack) == 0 {
				continue
			}
			// The rows this copy takes: its design's, plus what its
			// ranges' copies add.
			r := w.names[fr.name]
			size := r.r2 - r.r1 + 1
			for kname, c := range fr.counts {
				if c.n > 0 {
					k := w.names[kname]
					size += c.rows - (k.r2 - k.r1 + 1)
				}
			}
			p := stack[len(stack)-1]
			if p.counts == nil {
				p.counts = copies{}
			}
			if p.counts[fr.name] == nil {
				p.counts[fr.name] = &struct{ n, rows int }{}
			}
			p.counts[fr.name].n++
			p.counts[fr.name].rows += size
		}
	}
}

// write reads the document again and writes the streamed sheet's rows,
// and the values of other sheets.
func (fl *filler) write(docPath string) error {
	fh, err := os.Open(docPath)
	if err != nil {
		return err
	}
	defer fh.Close()
	d := xml.NewDecoder(bufio.NewReaderSize(fh, 64<<10))
	var stack []*block // nil for value elements
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the rendered layout: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			text.Reset()
			name := t.Name.Local
			switch {
			case len(stack) == 0:
				fl.root = fl.enter(nil, "")
				stack = append(stack, fl.root)
			case fl.w.ranges[name]:
				b, err := fl.enterRange(stack[len(stack)-1], name)
				if err != nil {
					return err
				}
				stack = append(stack, b)
			default:
				stack = append(stack, nil)
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			b := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if b == nil {
				v, err := decodeValue(text.String())
				if err != nil {
					return fmt.Errorf("reading the rendered layout: %s: %w", t.Name.Local, err)
				}
				if err := fl.value(stack[len(stack)-1], t.Name.Local, v); err != nil {
					return err
				}
				continue
			}
			if err := fl.leave(b); err != nil {
				return err
			}
		}
	}
}

// enter starts an occurrence: the sheet (parent nil) or a copy of range
// name.
func (fl *filler) enter(parent *block, name string) *block {
	b := &block{parent: parent, name: name, copies: map[string]int{}, filled: map[string]int{}, over: map[int]map[int]any{}, kids: map[string]kid{}}
	counts := fl.counts[fl.seq]
	fl.seq++
	if parent == nil {
		b.b1, b.ob = 1, 1
		if fl.sheet != nil {
			b.b2 = fl.sheet.maxRow
		}
	} else {
		r := fl.w.names[name]
		b.b1, b.b2 = r.r1, r.r2
		b.ob = parent.at(r.r1) + parent.filled[name]
	}
	b.cursor = b.b1
	for kname, c := range counts {
		r := fl.w.names[kname]
		b.kids[kname] = kid{r1: r.r1, r2: r.r2, n: c.n, rows: c.rows}
	}
	return b
}

// enterRange starts a copy of range name in p: p's rows above the range
// are written first.
func (fl *filler) enterRange(p *block, name string) (*block, error) {
	r := fl.w.names[name]
	if p.copies[name] == 0 {
		if err := fl.rowsUpTo(p, r.r1-1); err != nil {
			return nil, err
		}
	}
	b := fl.enter(p, name)
	return b, nil
}

// leave ends an occurrence: its rows not yet written are written, and
// its parent goes on below the range.
func (fl *filler) leave(b *block) error {
	if err := fl.rowsUpTo(b, b.b2); err != nil {
		return err
	}
	if p := b.parent; p != nil {
		p.copies[b.name]++
		p.filled[b.name] += b.size()
		p.cursor = max(p.cursor, b.b2+1)
	}
	return nil
}

// size is how many rows the occurrence takes.
func (b *block) size() int {
	n := b.b2 - b.b1 + 1
	for _, k := range b.kids {
		n += k.extra()
	}
	return n
}

// value puts value v of element name into the cell it names in block b.
func (fl *filler) value(b *block, name string, v any) error {
	sheet, col, row, ok := fl.cellOf(name, b)
	if !ok {
		return nil
	}
	if fl.sheet == nil || sheet != fl.sheet.name {
		fl.later = append(fl.later, laterValue{sheet, col, row, v})
		return nil
	}
	if row < b.cursor {
		return fmt.Errorf("%s: %s is on row %d of the design, which is written already; the layout's cells must follow the rows of the sheet", fl.w.file, name, row)
	}
	if err := fl.rowsUpTo(b, row-1); err != nil {
		return err
	}
	if b.over[row] == nil {
		b.over[row] = map[int]any{}
	}
	b.over[row][col] = v
	return nil
}

// cellOf is the cell a value's name points at: a defined name, or in a
// range a column letter on the range's first row.
func (fl *filler) cellOf(name string, b *block) (sheet string, col, row int, ok bool) {
	if r, ok := fl.w.names[name]; ok {
		return r.sheet, r.c1, r.r1, true
	}
	if b.parent != nil && columnRE.MatchString(name) {
		c, err := excelize.ColumnNameToNumber(name)
		return fl.sheet.name, c, b.b1, err == nil
	}
	return "", 0, 0, false
}

// rowsUpTo writes b's designed rows from its cursor to last.
func (fl *filler) rowsUpTo(b *block, last int) error {
	for ; b.cursor <= last; b.cursor++ {
		t := b.cursor
		if k, ok := fl.kidAt(b, t); ok && b.copies[k] > 0 {
			continue // a range written by its copies
		}
		if err := fl.row(b, t); err != nil {
			return err
		}
		delete(b.over, t)
	}
	return nil
}

// kidAt names the range of b that designed row t is in.
func (fl *filler) kidAt(b *block, t int) (string, bool) {
	for name, k := range b.kids {
		if t >= k.r1 && t <= k.r2 {
			return name, true
		}
	}
	return "", false
}

// row writes designed row t of block b: its cells (the values put into
// it, else the design's), its height and its merged cells.
func (fl *filler) row(b *block, t int) error {
	out := b.at(t)
	design := fl.sheet.cells[t]
	over := b.over[t]
	last := 0
	for c := range design {
		last = max(last, c)
	}
	for c := range over {
		last = max(last, c)
	}
	if last == 0 && fl.sheet.heights[t] == 0 {
		return nil
	}
	cells := make([]any, last)
	for c := 1; c <= last; c++ {
		d := design[c]
		cellName, _ := excelize.CoordinatesToCellName(c, out)
		switch v, ok := over[c]; {
		case ok:
			cell, err := fl.cell(fl.sheet.name, cellName, d.style, v)
			if err != nil {
				return err
			}
			cells[c-1] = cell
		case fl.w.bound[b.name][[2]int{t, c}]:
			cells[c-1] = excelize.Cell{StyleID: d.style} // a blank value
		case d.formula != "":
			cells[c-1] = excelize.Cell{StyleID: d.style, Formula: fl.moveFormula(b, d.formula)}
		case d.value != nil || d.style != 0:
			cells[c-1] = excelize.Cell{StyleID: d.style, Value: d.value}
		}
	}
	var opts []excelize.RowOpts
	if h := fl.sheet.heights[t]; h > 0 {
		opts = append(opts, excelize.RowOpts{Height: h})
	}
	start, _ := excelize.CoordinatesToCellName(1, out)
	if err := fl.sw.SetRow(start, cells, opts...); err != nil {
		return err
	}
	for _, m := range fl.sheet.merges {
		if m[1] != t {
			continue
		}
		a, _ := excelize.CoordinatesToCellName(m[0], out)
		z, _ := excelize.CoordinatesToCellName(m[2], out+m[3]-m[1])
		if err := fl.sw.MergeCell(a, z); err != nil {
			return err
		}
	}
	return nil
}

// refRE finds cell references and ranges in a formula: an optional
// sheet, a column and a row (each maybe fixed with $), and optionally
// :column row.
var refRE = regexp.MustCompile(`((?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?(\$?[A-Z]{1,3})(\$?[0-9]+)(?::(\$?[A-Z]{1,3})(\$?[0-9]+))?`)

// moveFormula moves a designed formula's references to the rows they
// are written at from block b: a reference to a row of the same copy to
// that copy's row, one to a range's rows from its first row to its last
// copy's last row (=SUM(E9:E9) adds up every copy), others to where
// their rows moved. References to other sheets, and text in quotes, are
// left alone.
func (fl *filler) moveFormula(b *block, formula string) string {
	parts := strings.Split(formula, `"`)
	for i := 0; i < len(parts); i += 2 { // the even parts are outside quotes
		parts[i] = fl.moveRefs(b, parts[i])
	}
	return strings.Join(parts, `"`)
}

func (fl *filler) moveRefs(b *block, s string) string {
	var out strings.Builder
	prev := 0
	for _, m := range refRE.FindAllStringSubmatchIndex(s, -1) {
		start, end := m[0], m[1]
		// Not a reference when part of a name: LOG10(, a defined name.
		if start > 0 && isNameByte(s[start-1]) || end < len(s) && (isNameByte(s[end]) || s[end] == '(') {
			continue
		}
		sheet := ""
		if m[2] >= 0 {
			sheet = strings.TrimSuffix(s[m[2]:m[3]], "!")
			sheet = strings.ReplaceAll(strings.Trim(sheet, "'"), "''", "'")
		}
		if sheet != "" && sheet != fl.sheet.name {
			continue
		}
		out.WriteString(s[prev:start])
		if m[2] >= 0 {
			out.WriteString(s[m[2]:m[3]])
		}
		r1 := rowNumber(s[m[6]:m[7]])
		out.WriteString(s[m[4]:m[5]])
		if m[8] < 0 {
			out.WriteString(withRow(s[m[6]:m[7]], b.at(r1)))
		} else {
			r2 := rowNumber(s[m[10]:m[11]])
			out.WriteString(withRow(s[m[6]:m[7]], b.at(r1)))
			out.WriteString(":" + s[m[8]:m[9]] + withRow(s[m[10]:m[11]], b.end(r2)))
		}
		prev = end
	}
	out.WriteString(s[prev:])
	return out.String()
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func rowNumber(s string) int { n, _ := strconv.Atoi(strings.TrimPrefix(s, "$")); return n }

func withRow(orig string, row int) string {
	if strings.HasPrefix(orig, "$") {
		return "$" + strconv.Itoa(row)
	}
	return strconv.Itoa(row)
}

// moveNames makes the defined names of the streamed sheet point where
// their cells went: a repeated range at every copy, others moved down.
func (fl *filler) moveNames() error {
	for _, d := range fl.f.GetDefinedName() {
		r, ok := parseRef(d.RefersTo)
		if !ok || r.sheet != fl.sheet.name {
			continue
		}
		r1, r2 := fl.root.at(r.r1), fl.root.end(r.r2)
		if k, ok := fl.root.kids[d.Name]; ok && k.n > 0 {
			r2 = fl.root.at(k.r1) + k.rows - 1
		}
		a, _ := excelize.CoordinatesToCellName(r.c1, r1, true)
		ref := "'" + strings.ReplaceAll(r.sheet, "'", "''") + "'!" + a
		if !r.single() || r2 != r1 {
			z, _ := excelize.CoordinatesToCellName(r.c2, r2, true)
			ref += ":" + z
		}
		if err := fl.f.DeleteDefinedName(&excelize.DefinedName{Name: d.Name, Scope: d.Scope}); err != nil {
			return err
		}
		if err := fl.f.SetDefinedName(&excelize.DefinedName{Name: d.Name, RefersTo: ref, Scope: d.Scope, Comment: d.Comment}); err != nil {
			return err
		}
	}
	return nil
}

// cell is the cell of value v in a cell of the given style: text stays
// text, a decimal is a number unless Excel would lose digits, a date a
// date; a number or date in a cell without a number format gets one that
// shows it.
func (fl *filler) cell(sheet, cell string, style int, v any) (excelize.Cell, error) {
	switch v := expression.Exported(v).(type) {
	case nil:
		return excelize.Cell{StyleID: style}, nil
	case decimal.Decimal:
		x, ok := exactFloat(v)
		if !ok {
			return excelize.Cell{StyleID: style, Value: expression.PlainDecimal(v)}, nil // Excel would lose digits
		}
		format := "0"
		if exp := min(v.Exponent(), 0); exp < 0 {
			format = "0." + strings.Repeat("0", int(-exp))
		}
		id, err := fl.format(style, format, sheet, cell)
		return excelize.Cell{StyleID: id, Value: x}, err
	case time.Time:
		format := "yyyy-mm-dd"
		if v.Hour() != 0 || v.Minute() != 0 || v.Second() != 0 {
			format = "yyyy-mm-dd hh:mm:ss"
		}
		id, err := fl.format(style, format, sheet, cell)
		return excelize.Cell{StyleID: id, Value: v}, err
	default:
		return excelize.Cell{StyleID: style, Value: v}, nil
	}
}

// format is style with a number format, when it has none (General).
// Without a style given (a sheet written in normal mode), the cell's own
// is used.
func (fl *filler) format(style int, format, sheet, cell string) (int, error) {
	if style == 0 && (fl.sheet == nil || sheet != fl.sheet.name) {
		style, _ = fl.f.GetCellStyle(sheet, cell)
	}
	if style != 0 {
		st, err := fl.f.GetStyle(style)
		if err != nil {
			return 0, err
		}
		if st.NumFmt != 0 || (st.CustomNumFmt != nil && *st.CustomNumFmt != "") {
			return style, nil // the designer's format
		}
	}
	key := styleKey{style, format}
	if id, ok := fl.styles[key]; ok {
		return id, nil
	}
	st := &excelize.Style{}
	if style != 0 {
		var err error
		if st, err = fl.f.GetStyle(style); err != nil {
			return 0, err
		}
	}
	st.CustomNumFmt = &format
	id, err := fl.f.NewStyle(st)
	if err != nil {
		return 0, err
	}
	fl.styles[key] = id
	return id, nil
}
