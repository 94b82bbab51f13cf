package layout

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
	"gopkg.in/yaml.v3"

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
// Fill then reads into the workbook, streaming the sheet of the repeated
// ranges (workbook_fill.go): 100,000 lines fill in about 60 MB of heap.
// What is not moved with the rows: conditional formats, data validations
// and charts keep the design's cell references.

// Workbook is output.workbook.
type Workbook struct {
	xml    *XML
	file   string // the designed workbook, as the template names it
	data   []byte
	names  map[string]cellRange // the workbook's defined names
	ranges map[string]bool      // the layout's repeated ranges (elements with children)
	// bound are the cells (row, column) the layout puts a value into, by
	// the range they are in ("" for none): a cell whose value is blank is
	// written empty, not with what the design holds.
	bound map[string]map[[2]int]bool
	// streamSheet is the sheet of the repeated ranges, written row by row
	// (workbook_fill.go); "" when the layout repeats none.
	streamSheet string
	PDF         bool // a PDF of the filled workbook is written beside it
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
	w := &Workbook{ranges: map[string]bool{}, bound: map[string]map[[2]int]bool{}}
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
		w.checkNames(l, layoutNode, nil)
	}
	// The layout is an XML layout whose root is the workbook.
	w.xml = l.LoadXML(wrapLayout(n, layoutNode, docName, "Workbook"))
	w.xml.typed = true
	if w.names != nil && w.xml.root != nil {
		w.sortByRow(w.xml.root, nil)
	}
	return w
}

// sortByRow puts the elements of the layout in the order of the sheet's
// rows (then columns), the order the sheet is written in: a value below
// a repeated range is written after its copies.
func (w *Workbook) sortByRow(n *xnode, in *cellRange) {
	pos := func(c *xnode) (int, int) {
		if r, ok := w.names[c.name]; ok {
			return r.r1, r.c1
		}
		if in != nil {
			col, _ := excelize.ColumnNameToNumber(c.name)
			return in.r1, col
		}
		return 0, 0
	}
	slices.SortStableFunc(n.children, func(a, b *xnode) int {
		ra, ca := pos(a)
		rb, cb := pos(b)
		if ra != rb {
			return ra - rb
		}
		return ca - cb
	})
	block := ""
	if in != nil {
		block = n.name
	}
	for _, c := range n.children {
		if r, ok := w.names[c.name]; ok && w.ranges[c.name] {
			w.sortByRow(c, &r)
			continue
		}
		if w.bound[block] == nil {
			w.bound[block] = map[[2]int]bool{}
		}
		row, col := pos(c)
		w.bound[block][[2]int{row, col}] = true
	}
}

// checkNames checks that every element of the layout mapping n is a
// defined name of the workbook (or, inside a range, a column letter or a
// name in its rows), and that ranges are ranges and values single cells.
func (w *Workbook) checkNames(l *Loader, n *yaml.Node, in *cellRange) {
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
			switch {
			case w.streamSheet == "":
				w.streamSheet = r.sheet
			case w.streamSheet != r.sheet:
				l.Errorf(k, "layout: %s is on sheet %s, and the other repeated ranges on %s; put the ranges that repeat on one sheet (single values may be on any)", name, r.sheet, w.streamSheet)
			}
			w.checkNames(l, v, &r)
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

// File is the designed workbook's name, as the template gives it.
func (w *Workbook) File() string { return w.file }

// WantsPDF reports whether a PDF of each filled workbook is written too.
func (w *Workbook) WantsPDF() bool { return w.PDF }

// Filled is an output that fills a designed file (a workbook, a Word
// document) from the layout its XML renders.
type Filled interface {
	XML() *XML
	File() string
	WantsPDF() bool
	Fill(docPath string, out io.Writer) error
}

var (
	_ Filled = (*Workbook)(nil)
	_ Filled = (*Document)(nil)
)
