package excel

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/klauspost/compress/zip"
	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
)

// Merged cells.
//
// Excel shows the value of a merged range's top-left cell across the whole
// range, while the file holds it in that cell only: the others are absent
// or blank. The Reader gives each blank cell of a range the top-left
// cell's value, as people see it.
//
// The ranges are listed in <mergeCells>, which comes after <sheetData> in
// the sheet's XML, so they are needed before the rows are read. excelize's
// GetMergeCells decodes the whole sheet into memory, so instead a pre-pass
// looks through the sheet's XML as bytes for <mergeCell ref="A1:C3"/>
// elements only: from the copy excelize holds in memory when the sheet is
// small, else unpacked again from the file as a stream. Rows are then
// filled as they are read, remembering only the top-left values of the
// ranges that reach the rows still to come.
//
// The pre-pass does not parse the XML: a "<mergeCell" inside a CDATA
// section or a comment of the sheet would count too. Excel and LibreOffice
// write neither in sheets.

// mergedRange is a merged range of a sheet: rows r1 to r2 and columns c1
// to c2, 1-based and inclusive.
type mergedRange struct{ r1, c1, r2, c2 int32 }

// activeRange is a range that reaches the row being read, with the value
// of its top-left cell.
type activeRange struct {
	mergedRange
	value string
}

// merges fills the merged ranges of a sheet into its rows as they are read.
type merges struct {
	todo   []mergedRange // ranges whose first row is still to come, by first row
	active []activeRange // ranges that reach the current row
	width  int           // the columns the active ranges span together
}

// maxColumns is the number of columns of an Excel sheet (A to XFD).
const maxColumns = 16384

// fill gives the blank cells of row that merged ranges cover the value of
// their range's top-left cell, up to column limit, and returns the row,
// lengthened when a range reaches past it. Rows must come one by one, in
// order. A sheet whose ranges overlap, which Excel never writes, is an
// error: filling it could take rows times ranges.
func (m *merges) fill(row int, cols []string, limit int) ([]string, error) {
	for len(m.todo) > 0 && int(m.todo[0].r1) <= row {
		g := m.todo[0]
		m.todo = m.todo[1:]
		if int(g.r1) < row {
			continue // rows out of order: the top-left value went by
		}
		a := activeRange{mergedRange: g}
		if int(g.c1) <= len(cols) {
			a.value = cols[g.c1-1]
		}
		m.active = append(m.active, a)
		if m.width += int(g.c2 - g.c1 + 1); m.width > maxColumns {
			return cols, fmt.Errorf("the sheet's merged ranges overlap (%s and others); "+
				"open the workbook in Excel and save it again", g)
		}
	}
	if len(m.active) == 0 {
		return cols, nil
	}
	kept := m.active[:0]
	for _, a := range m.active {
		if a.value != "" {
			for c := int(a.c1); c <= min(int(a.c2), limit); c++ {
				for len(cols) < c {
					cols = append(cols, "")
				}
				if cols[c-1] == "" {
					cols[c-1] = a.value
				}
			}
		}
		if int(a.r2) > row {
			kept = append(kept, a)
		} else {
			m.width -= int(a.c2 - a.c1 + 1)
		}
	}
	clear(m.active[len(kept):])
	m.active = kept
	return cols, nil
}

func (g mergedRange) String() string {
	return fmt.Sprintf("%s%d:%s%d", formats.ColumnName(int(g.c1)), g.r1, formats.ColumnName(int(g.c2)), g.r2)
}

// readMerges returns the merged ranges of the sheet called name, in the
// workbook at path that f holds open, by first row: ranges of one cell
// are left out. More than lim.MergedCells ranges is a *formats.LimitError.
// A sheet whose part can't be found has none: excelize reports what is
// wrong with it.
func readMerges(f *excelize.File, zipPath, file, name string, lim formats.Limits) ([]mergedRange, error) {
	z, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, nil
	}
	defer z.Close()
	p := parts{f: f, z: &z.Reader}
	part := p.sheetPart(name)
	if part == "" {
		return nil, nil
	}
	rc, err := p.open(part)
	if err != nil {
		return nil, nil
	}
	defer rc.Close()
	var list []mergedRange
	err = scanMerges(rc, func(ref []byte) error {
		g, ok := parseRange(string(ref))
		if !ok {
			return nil
		}
		if int64(len(list)) >= lim.MergedCells {
			return &formats.LimitError{Pos: formats.Pos{File: file, Sheet: name},
				What:  "the number of the sheet's merged ranges",
				Limit: fmt.Sprint(lim.MergedCells, " ranges"), Setting: "limits.merged_cells"}
		}
		list = append(list, g)
		return nil
	})
	var le *formats.LimitError
	if errors.As(err, &le) {
		return nil, err
	}
	if err != nil {
		return nil, nil // a broken part: excelize reports it as the rows are read
	}
	slices.SortFunc(list, func(a, b mergedRange) int { return cmp.Or(cmp.Compare(a.r1, b.r1), cmp.Compare(a.c1, b.c1)) })
	return list, nil
}

// parseRange parses a range such as "A1:C3" (the corners in any order).
// A single cell, or a reference that is not a range of cells, gives false.
func parseRange(ref string) (mergedRange, bool) {
	from, to, ok := strings.Cut(ref, ":")
	if !ok {
		return mergedRange{}, false
	}
	c1, r1, err1 := excelize.CellNameToCoordinates(from)
	c2, r2, err2 := excelize.CellNameToCoordinates(to)
	if err1 != nil || err2 != nil || c1 > maxColumns || c2 > maxColumns {
		return mergedRange{}, false
	}
	g := mergedRange{int32(min(r1, r2)), int32(min(c1, c2)), int32(max(r1, r2)), int32(max(c1, c2))}
	return g, g.r1 != g.r2 || g.c1 != g.c2
}

// Pre-pass.
const (
	scanChunk = 64 << 10
	maxTag    = 1 << 10 // the longest <mergeCell> tag looked at
	maxPrefix = 64      // the longest namespace prefix of its name
)

var mergeCellName = []byte("mergeCell")

// scanMerges calls found with the ref attribute of each <mergeCell>
// element of a sheet's XML, read from rd a chunk at a time. The last
// maxTag bytes of each chunk are looked at again with the next one, so
// that a tag a chunk cuts is seen whole once: tags that start in them are
// left to the next chunk. A longer tag is not a merged range Excel writes,
// and is passed over.
func scanMerges(rd io.Reader, found func(ref []byte) error) error {
	buf := make([]byte, scanChunk+maxTag)
	carry := 0
	for {
		n, err := io.ReadFull(rd, buf[carry:])
		end := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !end {
			return err
		}
		b := buf[:carry+n]
		keep := len(b) // tags that start here or later wait for the next chunk
		if !end {
			keep -= maxTag
		}
		for i := 0; ; {
			j := bytes.Index(b[i:], mergeCellName)
			if j < 0 {
				break
			}
			at := i + j
			i = at + len(mergeCellName)
			lt := tagStart(b, at)
			if lt >= keep {
				break
			}
			if lt < 0 || i >= len(b) || !(isSpace(b[i]) || b[i] == '/' || b[i] == '>') {
				continue // </mergeCell>, <mergeCells>, or text
			}
			gt := bytes.IndexByte(b[i:], '>')
			if gt < 0 || i+gt-lt >= maxTag {
				continue // cut by the end of the part, or too long
			}
			if ref, ok := attr(b[i:i+gt], "ref"); ok {
				if err := found(ref); err != nil {
					return err
				}
			}
		}
		if end {
			return nil
		}
		carry = copy(buf, b[keep:])
	}
}

// tagStart returns the index of the < that opens the element whose name
// (its local part) starts at b[at], or -1 when none does: the name follows
// < directly, or a namespace prefix and a colon.
func tagStart(b []byte, at int) int {
	i := at - 1
	switch {
	case i < 0:
		return -1
	case b[i] == '<':
		return i
	case b[i] != ':':
		return -1
	}
	for i--; i >= 0 && at-i <= maxPrefix+2; i-- {
		switch c := b[i]; {
		case c == '<' && i < at-2:
			return i
		case !isNameByte(c):
			return -1
		}
	}
	return -1
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c >= 0x80
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// attr returns the value of the attribute called name (without a
// namespace prefix) among the attributes in s, as written.
func attr(s []byte, name string) ([]byte, bool) {
	for {
		s = bytes.TrimLeft(s, " \t\r\n")
		eq := bytes.IndexByte(s, '=')
		if eq < 0 {
			return nil, false
		}
		key := bytes.TrimSpace(s[:eq])
		s = bytes.TrimLeft(s[eq+1:], " \t\r\n")
		if len(s) == 0 || s[0] != '"' && s[0] != '\'' {
			return nil, false
		}
		q := bytes.IndexByte(s[1:], s[0])
		if q < 0 {
			return nil, false
		}
		if string(key) == name {
			return s[1 : 1+q], true
		}
		s = s[2+q:]
	}
}

// parts reads the parts of a workbook: from f, which holds the small ones
// in memory, else from its zip file.
type parts struct {
	f *excelize.File
	z *zip.Reader
}

// maxSmallPart bounds what is read of the parts that name the sheets
// (workbook.xml and relationships).
const maxSmallPart = 16 << 20

func (p parts) open(name string) (io.ReadCloser, error) {
	if b, ok := p.f.Pkg.Load(name); ok {
		if b, ok := b.([]byte); ok && len(b) > 0 && !isStub(b) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}
	}
	for _, zf := range p.z.File {
		if strings.ReplaceAll(zf.Name, `\`, "/") == name {
			return zf.Open()
		}
	}
	return nil, fmt.Errorf("no part %s", name)
}

// sheetPart returns the name of the part that holds the sheet called
// sheet, found as excelize finds it: the workbook from the package's
// relationships, the sheet's relationship id from the workbook, its target
// from the workbook's relationships. "" means the workbook doesn't say.
func (p parts) sheetPart(sheet string) string {
	workbook := "xl/workbook.xml"
	for _, rel := range p.rels("_rels/.rels") {
		if strings.HasSuffix(rel.Type, "/officeDocument") {
			workbook = strings.TrimPrefix(rel.Target, "/")
			break
		}
	}
	id := p.sheetID(workbook, sheet)
	if id == "" {
		return ""
	}
	dir, base := path.Split(workbook)
	for _, rel := range p.rels(dir + "_rels/" + base + ".rels") {
		if rel.ID != id {
			continue
		}
		if strings.HasPrefix(rel.Target, "/") {
			return strings.TrimPrefix(path.Clean(rel.Target), "/")
		}
		return strings.TrimPrefix(path.Clean("/"+dir+rel.Target), "/")
	}
	return ""
}

type relationship struct {
	ID     string `xml:"Id,attr"`
	Type   string `xml:"Type,attr"`
	Target string `xml:"Target,attr"`
}

// rels returns the relationships of the part called name.
func (p parts) rels(name string) []relationship {
	rc, err := p.open(name)
	if err != nil {
		return nil
	}
	defer rc.Close()
	var rels struct {
		List []relationship `xml:"Relationship"`
	}
	xml.NewDecoder(io.LimitReader(rc, maxSmallPart)).Decode(&rels)
	return rels.List
}

// sheetID returns the relationship id of the sheet called sheet in the
// workbook part called name (capitals don't matter, as for excelize).
func (p parts) sheetID(name, sheet string) string {
	rc, err := p.open(name)
	if err != nil {
		return ""
	}
	defer rc.Close()
	d := xml.NewDecoder(io.LimitReader(rc, maxSmallPart))
	id := ""
	for {
		tok, err := d.Token()
		if err != nil {
			return id
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "sheet" {
			continue
		}
		var n, rid string
		for _, a := range se.Attr {
			switch {
			case a.Name.Local == "name" && a.Name.Space == "":
				n = a.Value
			case a.Name.Local == "id" && a.Name.Space != "":
				rid = a.Value
			}
		}
		if n == sheet {
			return rid
		}
		if id == "" && strings.EqualFold(n, sheet) {
			id = rid
		}
	}
}
