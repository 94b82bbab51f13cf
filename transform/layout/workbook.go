package layout

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
)

// output.workbook fills a workbook that someone designed in Excel (kept
// beside the template) with the data, as ER's Excel format does. Its
// layout is written in the language of the XML layouts, with the
// workbook's defined names as element names:
//
//   - `Name: expression` puts a value into the cell the defined name
//     Name points at (the value of the file, or of the document's group:
//     aggregates such as SUM(amount) work as in XML);
//   - `Name:` with `$each: row` (or `$group: key`) and keys under it
//     repeats the rows of the range Name points at, once per row (or per
//     group); under it, a column letter (`B: item`) or a defined name in
//     the range's rows puts a value into that cell of each copy, and a
//     range inside it repeats within each copy (lines in an order).
//
// The rows below a repeated range move down, and what Excel would move
// with them moves too: formulas, merged cells, defined names, styles. The
// cells of each copy take the range's styles, heights, merged cells and
// formulas (their references to the range's own rows follow each copy),
// and a formula outside the range that adds up the range's rows (=SUM(D10:D10)
// for a one-row range at row 10) adds up all the copies. With $group at
// the top of the layout, one workbook is written per group, named by
// document_name. Values keep their types: text stays text (leading zeros
// too), numbers are numbers in the cell's own number format, dates are
// dates.
//
// The layout is rendered by an XMLRun with typed element texts into a
// temporary XML file (so that groups and aggregates stay on disk), which
// Fill then reads into the workbook.

// Workbook is output.workbook.
type Workbook struct {
	xml    *XML
	file   string // the designed workbook, as the template names it
	data   []byte
	names  map[string]cellRange // the workbook's defined names
	ranges map[string]bool      // the layout's repeated ranges (elements with children)
	PDF    bool                 // a PDF of the filled workbook is written beside it
}

// cellRange is where a defined name points: a sheet and a block of cells.
type cellRange struct {
	sheet          string
	c1, r1, c2, r2 int
}

func (r cellRange) single() bool { return r.c1 == r.c2 && r.r1 == r.r2 }

// XML is the layout the rows are rendered with.
func (w *Workbook) XML() *XML { return w.xml }

var columnRE = regexp.MustCompile(`^[A-Z]{1,3}$`)

// LoadWorkbook reads output.workbook: the designed workbook, checked to
// have every defined name the layout binds, and the layout, compiled as
// an XML layout.
func (l *Loader) LoadWorkbook(n *yaml.Node) *Workbook {
	w := &Workbook{ranges: map[string]bool{}}
	var fileNode, layoutNode, docName *yaml.Node
	ok := l.Mapping(n, "output.workbook", map[string]template.KeyHandler{
		"file":          func(_, v *yaml.Node) { fileNode = v },
		"layout":        func(_, v *yaml.Node) { layoutNode = v },
		"document_name": func(_, v *yaml.Node) { docName = v },
		"pdf":           func(_, v *yaml.Node) { w.PDF, _ = l.Bool(v, "output.workbook.pdf") },
	}, "file", "layout")
	if !ok || fileNode == nil || layoutNode == nil {
		w.xml = &XML{}
		return w
	}
	w.file, _ = l.NonEmpty(fileNode, "output.workbook.file")
	if w.file != "" {
		fsys, dir := l.fileBase(fileNode)
		data, err := fs.ReadFile(fsys, path.Join(dir, w.file))
		if err != nil {
			l.Errorf(fileNode, "output.workbook.file: %v; put the workbook beside the template", err)
		} else if w.names, err = definedNames(data); err != nil {
			l.Errorf(fileNode, "output.workbook.file %s: %v", w.file, err)
		}
		w.data = data
	}
	if template.Resolve(layoutNode).Kind != yaml.MappingNode {
		l.Errorf(layoutNode, "output.workbook.layout must be the workbook's defined names, each with an expression or, for a range, its cells")
		w.xml = &XML{}
		return w
	}
	if w.names != nil {
		w.checkNames(l, layoutNode, nil, 0)
	}
	// The layout is an XML layout whose root is the workbook.
	root := &yaml.Node{Kind: yaml.MappingNode, Line: layoutNode.Line, Column: layoutNode.Column, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "Workbook", Line: layoutNode.Line, Column: layoutNode.Column}, layoutNode}}
	spec := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "layout", Line: n.Line, Column: n.Column}, root}}
	if docName != nil {
		spec.Content = append(spec.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "document_name", Line: docName.Line, Column: docName.Column}, docName)
	}
	w.xml = l.LoadXML(spec)
	w.xml.typed = true
	return w
}

// checkNames checks that every element of the layout mapping n is a
// defined name of the workbook (or, inside a range, a column letter or a
// name in its rows), and that ranges are ranges and values single cells.
func (w *Workbook) checkNames(l *Loader, n *yaml.Node, in *cellRange, depth int) {
	keys, vals := l.Pairs(n, "output.workbook.layout")
	for i, k := range keys {
		name := k.Value
		if strings.HasPrefix(name, "$") {
			continue
		}
		v := template.Resolve(vals[i])
		isRange := v.Kind == yaml.MappingNode
		if in != nil && !isRange && columnRE.MatchString(name) {
			col, _ := excelize.ColumnNameToNumber(name)
			if col < in.c1 || col > in.c2 {
				l.Errorf(k, "layout: column %s is outside the range it is in (columns %s to %s)", name, colName(in.c1), colName(in.c2))
			}
			continue
		}
		r, ok := w.names[name]
		switch {
		case !ok:
			l.Errorf(k, "layout: %q is not a defined name of %s%s; its names are %s (define names in Excel with Formulas > Define Name)",
				name, w.file, columnHint(in), strings.Join(sortedNames(w.names), ", "))
			continue
		case in != nil && (r.sheet != in.sheet || r.r1 < in.r1 || r.r2 > in.r2):
			l.Errorf(k, "layout: %s (%s) is not inside the rows of the range it is in", name, r)
		case !isRange && !r.single():
			l.Errorf(k, "layout: %s is the range %s; give a single value a name of one cell, or repeat the range with $each: row and its cells under it", name, r)
		}
		if isRange {
			w.ranges[name] = true
			w.checkNames(l, v, &r, depth+1)
		}
	}
}

func columnHint(in *cellRange) string {
	if in == nil {
		return ""
	}
	return " (inside a range a cell is also named by its column letter, e.g. B)"
}

func sortedNames(m map[string]cellRange) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func colName(c int) string { s, _ := excelize.ColumnNumberToName(c); return s }

func (r cellRange) String() string {
	a, _ := excelize.CoordinatesToCellName(r.c1, r.r1)
	if r.single() {
		return r.sheet + "!" + a
	}
	b, _ := excelize.CoordinatesToCellName(r.c2, r.r2)
	return r.sheet + "!" + a + ":" + b
}

// definedNames reads the workbook's defined names that point at cells.
func definedNames(data []byte) (map[string]cellRange, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a workbook Excel can open: %w", err)
	}
	defer f.Close()
	out := map[string]cellRange{}
	for _, d := range f.GetDefinedName() {
		if r, ok := parseRef(d.RefersTo); ok {
			out[d.Name] = r
		}
	}
	return out, nil
}

// parseRef reads a defined name's reference, such as 'My sheet'!$A$10:$E$10.
func parseRef(ref string) (cellRange, bool) {
	ref = strings.TrimPrefix(strings.TrimSpace(ref), "=")
	i := strings.LastIndexByte(ref, '!')
	if i < 0 {
		return cellRange{}, false
	}
	sheet := strings.ReplaceAll(strings.Trim(ref[:i], "'"), "''", "'")
	a, b, _ := strings.Cut(strings.ReplaceAll(ref[i+1:], "$", ""), ":")
	if b == "" {
		b = a
	}
	c1, r1, err1 := excelize.CellNameToCoordinates(a)
	c2, r2, err2 := excelize.CellNameToCoordinates(b)
	if err1 != nil || err2 != nil || sheet == "" {
		return cellRange{}, false
	}
	return cellRange{sheet: sheet, c1: min(c1, c2), r1: min(r1, r2), c2: max(c1, c2), r2: max(r1, r2)}, true
}

// occurrence is one copy of a range (or the workbook itself): the values
// of its cells and the copies of the ranges in it, in document order.
type occurrence struct {
	vals  map[string]any
	kids  map[string][]*occurrence
	order []string // the ranges in it, in the order they first came
}

func newOccurrence() *occurrence {
	return &occurrence{vals: map[string]any{}, kids: map[string][]*occurrence{}}
}

// readDocument reads a document the layout rendered (typed texts) into
// occurrences.
func (w *Workbook) readDocument(r io.Reader) (*occurrence, error) {
	d := xml.NewDecoder(r)
	type frame struct {
		name string
		occ  *occurrence
		text strings.Builder
	}
	var stack []*frame
	var root *occurrence
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the rendered layout: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			f := &frame{name: t.Name.Local}
			if len(stack) == 0 || w.ranges[f.name] {
				f.occ = newOccurrence()
			}
			if len(stack) == 0 {
				root = f.occ
			} else if f.occ != nil {
				parent := stack[len(stack)-1].occ
				if _, seen := parent.kids[f.name]; !seen {
					parent.order = append(parent.order, f.name)
				}
				parent.kids[f.name] = append(parent.kids[f.name], f.occ)
			}
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.occ == nil && len(stack) > 0 {
				v, err := decodeValue(f.text.String())
				if err != nil {
					return nil, fmt.Errorf("reading the rendered layout: %s: %w", f.name, err)
				}
				stack[len(stack)-1].occ.vals[f.name] = v
			}
		}
	}
	if root == nil {
		return nil, errors.New("reading the rendered layout: no document")
	}
	return root, nil
}

// Fill reads the document the layout rendered (a file written by Render
// or RenderDocs) and writes the designed workbook filled with it to out.
func (w *Workbook) Fill(doc io.Reader, out io.Writer) error {
	root, err := w.readDocument(doc)
	if err != nil {
		return err
	}
	f, err := excelize.OpenReader(bytes.NewReader(w.data))
	if err != nil {
		return fmt.Errorf("%s: %w", w.file, err)
	}
	defer f.Close()
	fl := &filler{w: w, f: f, styles: map[styleKey]int{}}
	if err := fl.fill(root, nil, 0); err != nil {
		return err
	}
	if err := fl.expandTotals(); err != nil {
		return err
	}
	f.SetCalcProps(&excelize.CalcPropsOptions{FullCalcOnLoad: ptr(true)})
	return f.Write(out)
}

func ptr[T any](v T) *T { return &v }

// filler fills one workbook.
type filler struct {
	w      *Workbook
	f      *excelize.File
	styles map[styleKey]int
	grown  []grownRange // top-level ranges and how many rows they grew by, for the totals under them
}

type styleKey struct {
	base   int
	format string
}

type grownRange struct {
	r     cellRange // the range's first copy, where the template's rows are
	extra int       // rows added below it
}

// fill puts occurrence o into the workbook: its values into the cells
// their names point at, moved down by shift rows (the copies above it),
// and each of its ranges repeated once per copy.
func (fl *filler) fill(o *occurrence, in *cellRange, shift int) error {
	for name, v := range o.vals {
		sheet, col, row, ok := fl.cellOf(name, in)
		if !ok {
			continue
		}
		if err := fl.set(sheet, col, row+shift, v); err != nil {
			return err
		}
	}
	// Ranges lower in the sheet first, so that the rows they add do not
	// move the ranges above them, which are still to fill.
	names := slices.Clone(o.order)
	slices.SortFunc(names, func(a, b string) int { return fl.w.names[b].r1 - fl.w.names[a].r1 })
	for _, name := range names {
		if err := fl.repeat(name, o.kids[name], shift, in == nil); err != nil {
			return err
		}
	}
	return nil
}

// cellOf is the cell a value's name points at: a defined name, or inside
// range in a column letter on the range's first row.
func (fl *filler) cellOf(name string, in *cellRange) (sheet string, col, row int, ok bool) {
	if r, ok := fl.w.names[name]; ok {
		return r.sheet, r.c1, r.r1, true
	}
	if in != nil && columnRE.MatchString(name) {
		c, err := excelize.ColumnNameToNumber(name)
		return in.sheet, c, in.r1, err == nil
	}
	return "", 0, 0, false
}

// repeat writes the copies of range name, whose template rows are moved
// down by shift: the rows below make room for the copies after the first,
// which take the template rows' cells (styles, fixed values, formulas),
// heights and merged cells; then each copy is filled.
func (fl *filler) repeat(name string, copies []*occurrence, shift int, top bool) error {
	r := fl.w.names[name]
	r.r1, r.r2 = r.r1+shift, r.r2+shift
	h := r.r2 - r.r1 + 1
	if len(copies) > 1 {
		if err := fl.makeRoom(r, len(copies)-1); err != nil {
			return fmt.Errorf("%s: range %s: %w", fl.w.file, name, err)
		}
	}
	if top {
		fl.grown = append(fl.grown, grownRange{r: r, extra: (len(copies) - 1) * h})
	}
	for i := len(copies) - 1; i >= 0; i-- {
		if err := fl.fill(copies[i], &r, shift+i*h); err != nil {
			return err
		}
	}
	return nil
}

// makeRoom inserts n copies of the rows of r below it.
func (fl *filler) makeRoom(r cellRange, n int) error {
	f := fl.f
	h := r.r2 - r.r1 + 1
	if err := f.InsertRows(r.sheet, r.r2+1, n*h); err != nil {
		return err
	}
	merged, err := f.GetMergeCells(r.sheet)
	if err != nil {
		return err
	}
	cols, err := f.GetCols(r.sheet)
	if err != nil {
		return err
	}
	lastCol := max(r.c2, len(cols))
	for dr := 0; dr < h; dr++ {
		src := r.r1 + dr
		height, err := f.GetRowHeight(r.sheet, src)
		if err != nil {
			return err
		}
		for c := 1; c <= lastCol; c++ {
			cell, _ := excelize.CoordinatesToCellName(c, src)
			style, err := f.GetCellStyle(r.sheet, cell)
			if err != nil {
				return err
			}
			formula, _ := f.GetCellFormula(r.sheet, cell)
			value, _ := f.GetCellValue(r.sheet, cell, excelize.Options{RawCellValue: true})
			for k := 1; k <= n; k++ {
				dst := src + k*h
				to, _ := excelize.CoordinatesToCellName(c, dst)
				if style != 0 {
					if err := f.SetCellStyle(r.sheet, to, to, style); err != nil {
						return err
					}
				}
				switch {
				case formula != "":
					if err := f.SetCellFormula(r.sheet, to, shiftRows(formula, r.r1, r.r2, k*h)); err != nil {
						return err
					}
				case value != "":
					if err := f.SetCellValue(r.sheet, to, value); err != nil {
						return err
					}
				}
			}
		}
		for k := 1; k <= n; k++ {
			if err := f.SetRowHeight(r.sheet, src+k*h, height); err != nil {
				return err
			}
		}
	}
	for _, m := range merged {
		c1, r1, err1 := excelize.CellNameToCoordinates(m.GetStartAxis())
		c2, r2, err2 := excelize.CellNameToCoordinates(m.GetEndAxis())
		if err1 != nil || err2 != nil || r1 < r.r1 || r2 > r.r2 {
			continue
		}
		for k := 1; k <= n; k++ {
			a, _ := excelize.CoordinatesToCellName(c1, r1+k*h)
			b, _ := excelize.CoordinatesToCellName(c2, r2+k*h)
			if err := f.MergeCell(r.sheet, a, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// refRE finds cell references in a formula: an optional sheet, then a
// column and a row, each maybe fixed with $.
var refRE = regexp.MustCompile(`((?:'[^']+'|[A-Za-z_][\w.]*)!)?(\$?)([A-Z]{1,3})(\$?)([0-9]+)\b`)

// shiftRows moves the references of a formula copied by by rows: the
// relative references to rows r1..r2 (the range's own rows) follow the
// copy; others stay.
func shiftRows(formula string, r1, r2, by int) string {
	return replaceRefs(formula, func(m []string) string {
		row, _ := strconv.Atoi(m[5])
		if m[4] == "$" || m[1] != "" || row < r1 || row > r2 {
			return m[0]
		}
		return m[2] + m[3] + strconv.Itoa(row+by)
	})
}

// replaceRefs replaces the references outside string literals.
func replaceRefs(formula string, fn func(m []string) string) string {
	var b strings.Builder
	parts := strings.Split(formula, `"`)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('"')
		}
		if i%2 == 1 {
			b.WriteString(p) // inside a string literal
			continue
		}
		b.WriteString(refRE.ReplaceAllStringFunc(p, func(s string) string { return fn(refRE.FindStringSubmatch(s)) }))
	}
	return b.String()
}

// expandTotals makes the formulas outside a top-level range that add up
// its rows (a reference from its first row to its last, C10:C10) add up
// every copy of it.
func (fl *filler) expandTotals() error {
	for _, g := range fl.grown {
		if g.extra == 0 {
			continue
		}
		rows, err := fl.f.GetRows(g.r.sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			return err
		}
		for ri := range rows {
			row := ri + 1
			if row >= g.r.r1 && row <= g.r.r2+g.extra {
				continue
			}
			for ci := range rows[ri] {
				cell, _ := excelize.CoordinatesToCellName(ci+1, row)
				formula, _ := fl.f.GetCellFormula(g.r.sheet, cell)
				if formula == "" {
					continue
				}
				if grown := expandRange(formula, g.r.r1, g.r.r2, g.extra); grown != formula {
					if err := fl.f.SetCellFormula(g.r.sheet, cell, grown); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// rangeRE finds A1:B2 references (no sheet: the range's own sheet).
var rangeRE = regexp.MustCompile(`(^|[^!\w$'])(\$?[A-Z]{1,3}\$?)([0-9]+):(\$?[A-Z]{1,3}\$?)([0-9]+)\b`)

// expandRange makes references that span rows r1..r2 exactly span extra
// rows more.
func expandRange(formula string, r1, r2, extra int) string {
	var b strings.Builder
	parts := strings.Split(formula, `"`)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('"')
		}
		if i%2 == 1 {
			b.WriteString(p)
			continue
		}
		b.WriteString(rangeRE.ReplaceAllStringFunc(p, func(s string) string {
			m := rangeRE.FindStringSubmatch(s)
			a, _ := strconv.Atoi(m[3])
			z, _ := strconv.Atoi(m[5])
			if a != r1 || z != r2 {
				return s
			}
			return m[1] + m[2] + m[3] + ":" + m[4] + strconv.Itoa(z+extra)
		}))
	}
	return b.String()
}

// set writes value v into a cell, keeping the cell's style; a number or a
// date in a cell without a number format gets one that shows it.
func (fl *filler) set(sheet string, col, row int, v any) error {
	cell, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		return err
	}
	f := fl.f
	switch v := expression.Exported(v).(type) {
	case nil:
		return nil
	case decimal.Decimal:
		x, ok := exactFloat(v)
		if !ok {
			return f.SetCellStr(sheet, cell, expression.PlainDecimal(v)) // Excel would lose digits
		}
		if err := f.SetCellFloat(sheet, cell, x, -1, 64); err != nil {
			return err
		}
		if exp := min(v.Exponent(), 0); exp < 0 {
			return fl.format(sheet, cell, "0."+strings.Repeat("0", int(-exp)))
		}
		return nil
	case time.Time:
		if err := f.SetCellValue(sheet, cell, v); err != nil {
			return err
		}
		layout := "yyyy-mm-dd"
		if v.Hour() != 0 || v.Minute() != 0 || v.Second() != 0 {
			layout = "yyyy-mm-dd hh:mm:ss"
		}
		return fl.format(sheet, cell, layout)
	case string:
		return f.SetCellStr(sheet, cell, v)
	}
	return f.SetCellValue(sheet, cell, v)
}

// format gives a cell a number format when its style has none (General),
// keeping the rest of its style.
func (fl *filler) format(sheet, cell, layout string) error {
	base, err := fl.f.GetCellStyle(sheet, cell)
	if err != nil {
		return err
	}
	if base != 0 {
		st, err := fl.f.GetStyle(base)
		if err != nil {
			return err
		}
		if st.NumFmt != 0 || (st.CustomNumFmt != nil && *st.CustomNumFmt != "") {
			return nil // the designer's format
		}
	}
	key := styleKey{base, layout}
	id, ok := fl.styles[key]
	if !ok {
		st := &excelize.Style{}
		if base != 0 {
			if st, err = fl.f.GetStyle(base); err != nil {
				return err
			}
		}
		st.CustomNumFmt = &layout
		if id, err = fl.f.NewStyle(st); err != nil {
			return err
		}
		fl.styles[key] = id
	}
	return fl.f.SetCellStyle(sheet, cell, cell, id)
}

// File is the designed workbook's name, as the template gives it.
func (w *Workbook) File() string { return w.file }
