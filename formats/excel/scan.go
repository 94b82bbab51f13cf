package excel

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// The sheet scanner.
//
// excelize reads a sheet's rows with encoding/xml's Decoder, a general
// tokenizer that allocates a token, a name and a slice of attributes for
// every tag, and then decodes each cell into a struct. A sheet's XML has
// a handful of element kinds, so the scanner below reads it as bytes: it
// finds the rows and cells, their attributes and their text, and decodes
// entities and character references itself.
//
// It gives exactly the values excelize's Rows and Columns give with
// RawCellValue, for what it accepts. It accepts only the well-formed XML
// that spreadsheet tools write, checked as encoding/xml checks it (names,
// attributes, quoting, entities, UTF-8 and the XML character range,
// matching end tags), and only the shapes of rows and cells whose
// meaning for excelize is plain: a row holds cells, a cell holds <v>, <f>
// and <is>. Anything else, from a comment between cells to rows out of
// order, is unsupported (an *unsupported error), and the Reader then
// reads the workbook with excelize instead (see fast.go).

// unsupported is what the scanner does not read itself.
type unsupported string

func (u unsupported) Error() string { return "unsupported: " + string(u) }

// errShort means the buffer ends inside the token being read: read more
// and start the token (or the row) again.
var errShort = errors.New("short buffer")

const totalRows = 1048576 // excelize.TotalRows

// scanBufSize is the size the scanner's buffer starts at (a variable for
// the tests, which make it tiny).
var scanBufSize = 256 << 10

// sheetScanner reads a sheet's XML from rd.
type sheetScanner struct {
	rd       io.Reader
	buf      []byte
	pos, end int // buf[pos:end] is unread
	eof      bool
	stack    [][]byte // names of the open elements
	attrs    []scanAttr
	sst      *sharedStrings

	// The row being read.
	arena                       []byte    // decoded values of the row, one after the other
	spans                       []valSpan // cells whose value is in arena
	tmp                         []byte    // the text of the cell's <v>
	isBuf, isHead, isRuns, runT []byte    // an inline string's texts
	cells                       []string  // the row's values as excelize gives them
	rowNo                       int       // r attribute of the row last found; 0: none
	self                        bool      // the row last found is an empty element <row/>
}

type scanAttr struct {
	local []byte
	val   []byte // decoded
}

type valSpan struct{ idx, start, end int }

func newSheetScanner(rd io.Reader, sst *sharedStrings) *sheetScanner {
	return &sheetScanner{rd: rd, buf: make([]byte, scanBufSize), sst: sst}
}

// more reads more of the sheet into the buffer, keeping buf[pos:end]; it
// returns false at the end of the sheet.
func (s *sheetScanner) more() (bool, error) {
	if s.eof {
		return false, nil
	}
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for {
		n, err := s.rd.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
			return n > 0, nil
		}
		if err != nil {
			return false, unsupported("read: " + err.Error())
		}
		if n > 0 {
			return true, nil
		}
	}
}

// short is the error of a token cut by the end of the buffer.
func (s *sheetScanner) short() error {
	if s.eof {
		return unsupported("unexpected end of the sheet")
	}
	return errShort
}

func isNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// name reads a name at b[i:]: ASCII, with at most one colon between a
// prefix and a local part. It returns the index after it and the start of
// its local part.
func (s *sheetScanner) name(b []byte, i int) (j, local int, err error) {
	if i >= len(b) {
		return 0, 0, s.short()
	}
	if !isNameStart(b[i]) {
		return 0, 0, unsupported("name")
	}
	local = i
	colons := 0
	for j = i + 1; j < len(b); j++ {
		c := b[j]
		if isNameChar(c) {
			continue
		}
		if c == ':' {
			colons++
			local = j + 1
			continue
		}
		break
	}
	if j == len(b) {
		return 0, 0, s.short()
	}
	if b[j] >= utf8.RuneSelf || colons > 1 || local == j || (colons == 1 && !isNameStart(b[local])) {
		return 0, 0, unsupported("name")
	}
	return j, local, nil
}

// startTag reads the start tag at b[i] ('<'), its attributes into s.attrs.
func (s *sheetScanner) startTag(b []byte, i int) (next int, name, local []byte, self bool, err error) {
	j, l, err := s.name(b, i+1)
	if err != nil {
		return 0, nil, nil, false, err
	}
	name, local = b[i+1:j], b[l:j]
	s.attrs = s.attrs[:0]
	for {
		k := j
		for k < len(b) && isXMLSpace(b[k]) {
			k++
		}
		if k >= len(b) {
			return 0, nil, nil, false, s.short()
		}
		switch b[k] {
		case '>':
			return k + 1, name, local, false, nil
		case '/':
			if k+1 >= len(b) {
				return 0, nil, nil, false, s.short()
			}
			if b[k+1] != '>' {
				return 0, nil, nil, false, unsupported("tag")
			}
			return k + 2, name, local, true, nil
		}
		ne, al, err := s.name(b, k)
		if err != nil {
			return 0, nil, nil, false, err
		}
		e := ne
		for e < len(b) && isXMLSpace(b[e]) {
			e++
		}
		if e >= len(b) {
			return 0, nil, nil, false, s.short()
		}
		if b[e] != '=' {
			return 0, nil, nil, false, unsupported("attribute without value")
		}
		e++
		for e < len(b) && isXMLSpace(b[e]) {
			e++
		}
		if e >= len(b) {
			return 0, nil, nil, false, s.short()
		}
		q := b[e]
		if q != '"' && q != '\'' {
			return 0, nil, nil, false, unsupported("unquoted attribute")
		}
		val, end, err := s.attrValue(b, e+1, q)
		if err != nil {
			return 0, nil, nil, false, err
		}
		s.attrs = append(s.attrs, scanAttr{local: b[al:ne], val: val})
		j = end
	}
}

// attrValue reads a quoted value from b[i] to the quote q, decoded; it
// returns the index after the quote.
func (s *sheetScanner) attrValue(b []byte, i int, q byte) (val []byte, next int, err error) {
	plain := true
	j := i
	for ; j < len(b); j++ {
		c := b[j]
		if c == q {
			break
		}
		if c == '<' {
			return nil, 0, unsupported("< in attribute")
		}
		if c == '&' || c == '\r' || c >= utf8.RuneSelf || c < 0x20 {
			plain = false
		}
	}
	if j >= len(b) {
		return nil, 0, s.short()
	}
	if plain {
		return b[i:j], j + 1, nil
	}
	var out []byte
	end, err := s.text(b[:j], i, &out, false)
	if err != nil {
		if err == errShort {
			return nil, 0, unsupported("attribute")
		}
		return nil, 0, err
	}
	if end != j {
		return nil, 0, unsupported("attribute")
	}
	return out, j + 1, nil
}

// isInCharacterRange is encoding/xml's test of the characters XML allows.
func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// text reads character data from b[i] up to the next '<' (or the end of
// b), checked and decoded as encoding/xml does: entities and character
// references replaced, \r\n and \r made \n. The decoded text is appended
// to *dst when dst is not nil. inText: b is the buffer, and text cut by
// its end needs more of it (else b ends where the text must).
func (s *sheetScanner) text(b []byte, i int, dst *[]byte, inText bool) (int, error) {
	run := i // start of the bytes not yet appended
	flush := func(j int) {
		if dst != nil {
			*dst = append(*dst, b[run:j]...)
		}
	}
	j := i
	for j < len(b) {
		c := b[j]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != ']' {
			j++
			continue
		}
		switch {
		case c == '<':
			flush(j)
			return j, nil
		case c == '\t' || c == '\n':
			j++
		case c == '\r':
			flush(j)
			if dst != nil {
				*dst = append(*dst, '\n')
			}
			j++
			if j >= len(b) && inText && !s.eof {
				return 0, errShort
			}
			if j < len(b) && b[j] == '\n' {
				j++
			}
			run = j
		case c == ']':
			if j+2 >= len(b) {
				if inText && !s.eof {
					return 0, errShort
				}
				j++
				continue
			}
			if inText && b[j+1] == ']' && b[j+2] == '>' {
				return 0, unsupported("]]> in text")
			}
			j++
		case c == '&':
			flush(j)
			n, err := s.entity(b, j, dst)
			if err != nil {
				if err == errShort && !inText {
					return 0, unsupported("entity")
				}
				return 0, err
			}
			j = n
			run = j
		case c < 0x20:
			return 0, unsupported("control character")
		default:
			if !utf8.FullRune(b[j:]) {
				if inText && !s.eof {
					return 0, errShort
				}
				return 0, unsupported("invalid UTF-8")
			}
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 || !isInCharacterRange(r) {
				return 0, unsupported("invalid character")
			}
			j += size
		}
	}
	if inText && !s.eof {
		return 0, errShort
	}
	flush(j)
	return j, nil
}

// entity decodes the entity or character reference at b[i] ('&').
func (s *sheetScanner) entity(b []byte, i int, dst *[]byte) (int, error) {
	j := i + 1
	semi := bytes.IndexByte(b[j:min(len(b), j+12)], ';')
	if semi < 0 {
		if len(b)-j < 12 {
			return 0, s.short()
		}
		return 0, unsupported("entity")
	}
	ref := b[j : j+semi]
	next := j + semi + 1
	var add []byte
	switch string(ref) {
	case "lt":
		add = []byte{'<'}
	case "gt":
		add = []byte{'>'}
	case "amp":
		add = []byte{'&'}
	case "apos":
		add = []byte{'\''}
	case "quot":
		add = []byte{'"'}
	default:
		if len(ref) < 2 || ref[0] != '#' {
			return 0, unsupported("entity")
		}
		digits, base := ref[1:], 10
		if digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		if len(digits) == 0 {
			return 0, unsupported("character reference")
		}
		for _, c := range digits {
			if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
				return 0, unsupported("character reference")
			}
		}
		n, err := strconv.ParseUint(string(digits), base, 64)
		if err != nil || n > utf8.MaxRune {
			return 0, unsupported("character reference")
		}
		r := rune(n)
		switch {
		case 0xD800 <= r && r <= 0xDFFF:
			r = utf8.RuneError // string(rune(n)) in encoding/xml
		case !isInCharacterRange(r):
			return 0, unsupported("character reference")
		}
		add = utf8.AppendRune(nil, r)
	}
	if dst != nil {
		*dst = append(*dst, add...)
	}
	return next, nil
}

// other reads a comment, CDATA section or XML declaration at b[i]
// ('<!' or '<?'), appending a CDATA section's text to *dst when dst is
// not nil (a comment is left out of text, as in encoding/xml).
func (s *sheetScanner) other(b []byte, i int, dst *[]byte) (int, error) {
	switch {
	case hasPrefixShort(b[i:], "<!--"):
		if len(b)-i < 4 {
			return 0, s.short()
		}
		end := bytes.Index(b[i+4:], []byte("--"))
		if end < 0 {
			return 0, s.short()
		}
		end += i + 4
		if end+2 >= len(b) {
			return 0, s.short()
		}
		if b[end+2] != '>' {
			return 0, unsupported("-- in comment")
		}
		if _, err := s.text(b[:end], i+4, nil, false); err != nil {
			return 0, unsupported("comment")
		}
		if bytes.IndexByte(b[i+4:end], '<') >= 0 {
			return 0, unsupported("comment")
		}
		return end + 3, nil
	case hasPrefixShort(b[i:], "<![CDATA["):
		if len(b)-i < 9 {
			return 0, s.short()
		}
		end := bytes.Index(b[i+9:], []byte("]]>"))
		if end < 0 {
			return 0, s.short()
		}
		end += i + 9
		if err := s.cdata(b[i+9:end], dst); err != nil {
			return 0, err
		}
		return end + 3, nil
	case hasPrefixShort(b[i:], "<?xml "):
		if len(b)-i < 6 {
			return 0, s.short()
		}
		end := bytes.Index(b[i+6:], []byte("?>"))
		if end < 0 {
			return 0, s.short()
		}
		end += i + 6
		if !plainDecl(b[i+6 : end]) {
			return 0, unsupported("XML declaration")
		}
		return end + 2, nil
	}
	return 0, unsupported("markup")
}

// hasPrefixShort reports whether b starts with p, or with the part of p
// that b holds when b is shorter.
func hasPrefixShort(b []byte, p string) bool {
	n := min(len(b), len(p))
	return string(b[:n]) == p[:n]
}

// plainDecl reports whether an XML declaration's content is one that
// encoding/xml reads as UTF-8 XML 1.0 without a character set reader.
func plainDecl(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf || c < 0x20 && !isXMLSpace(c) {
			return false
		}
	}
	content := string(b)
	if ver := procInst("version", content); ver != "" && ver != "1.0" {
		return false
	}
	enc := procInst("encoding", content)
	return enc == "" || strings.EqualFold(enc, "utf-8")
}

// procInst is encoding/xml's: the value of param in a processing
// instruction's content.
func procInst(param, s string) string {
	param = param + "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// cdata checks a CDATA section's text and appends it, \r\n and \r made
// \n, to *dst.
func (s *sheetScanner) cdata(b []byte, dst *[]byte) error {
	for j := 0; j < len(b); {
		c := b[j]
		switch {
		case c >= 0x20 && c < utf8.RuneSelf || c == '\t' || c == '\n':
			if dst != nil {
				*dst = append(*dst, c)
			}
			j++
		case c == '\r':
			if dst != nil {
				*dst = append(*dst, '\n')
			}
			j++
			if j < len(b) && b[j] == '\n' {
				j++
			}
		case c < 0x20:
			return unsupported("control character")
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 || !isInCharacterRange(r) {
				return unsupported("invalid character")
			}
			if dst != nil {
				*dst = append(*dst, b[j:j+size]...)
			}
			j += size
		}
	}
	return nil
}

// endTag reads the end tag at b[i] ('</'), which must close the element
// called want.
func (s *sheetScanner) endTag(b []byte, i int, want []byte) (next int, local []byte, err error) {
	j, l, err := s.name(b, i+2)
	if err != nil {
		return 0, nil, err
	}
	if !bytes.Equal(b[i+2:j], want) {
		return 0, nil, unsupported("end tag does not match")
	}
	local = b[l:j]
	for j < len(b) && isXMLSpace(b[j]) {
		j++
	}
	if j >= len(b) {
		return 0, nil, s.short()
	}
	if b[j] != '>' {
		return 0, nil, unsupported("end tag")
	}
	return j + 1, local, nil
}

// Finding rows.

// What token read.
const (
	tokOther        = iota
	tokRow          // the start tag of a row (its r in s.rowNo)
	tokSheetDataEnd // the end tag of sheetData
	tokEOF          // the end of the sheet
)

// seek reads tokens until the start tag of a row, as excelize's
// Rows.Next does (a start tag called row, at any depth), the end tag of
// sheetData or the end of the sheet, and returns which. Between rows,
// anything but text is unsupported.
func (s *sheetScanner) seek(betweenRows bool) (int, error) {
	for {
		tok, err := s.token(betweenRows)
		if err == errShort {
			if _, err := s.more(); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil || tok != tokOther {
			return tok, err
		}
	}
}

// token reads one token for seek.
func (s *sheetScanner) token(betweenRows bool) (int, error) {
	b := s.buf[:s.end]
	i := s.pos
	if i >= len(b) {
		if s.eof {
			return tokEOF, nil
		}
		return 0, errShort
	}
	if b[i] != '<' {
		j, err := s.text(b, i, nil, true)
		if err != nil {
			return 0, err
		}
		s.pos = j
		return tokOther, nil
	}
	if i+1 >= len(b) {
		return 0, s.short()
	}
	switch b[i+1] {
	case '/':
		if len(s.stack) == 0 {
			return 0, unsupported("end tag without start")
		}
		next, local, err := s.endTag(b, i, s.stack[len(s.stack)-1])
		if err != nil {
			return 0, err
		}
		s.stack = s.stack[:len(s.stack)-1]
		s.pos = next
		if string(local) == "sheetData" {
			return tokSheetDataEnd, nil
		}
		if betweenRows {
			return 0, unsupported("end tag between rows")
		}
		return tokOther, nil
	case '!', '?':
		if betweenRows && !hasPrefixShort(b[i:], "<![CDATA[") {
			return 0, unsupported("markup between rows")
		}
		next, err := s.other(b, i, nil)
		if err != nil {
			return 0, err
		}
		s.pos = next
		return tokOther, nil
	}
	next, name, local, self, err := s.startTag(b, i)
	if err != nil {
		return 0, err
	}
	if string(local) == "row" {
		if err := s.rowAttrs(); err != nil {
			return 0, err
		}
		s.pos = next
		s.self = self
		if !self {
			s.stack = append(s.stack, append([]byte(nil), name...))
		}
		return tokRow, nil
	}
	if betweenRows {
		return 0, unsupported("element between rows")
	}
	s.pos = next
	if !self {
		s.stack = append(s.stack, append([]byte(nil), name...))
	}
	return tokOther, nil
}

// rowAttrs reads the row's r from s.attrs as excelize does
// (attrValToInt: every r attribute, the last one wins, an error stops).
func (s *sheetScanner) rowAttrs() error {
	s.rowNo = 0
	for _, a := range s.attrs {
		if string(a.local) != "r" {
			continue
		}
		n, err := strconv.Atoi(string(a.val))
		if err != nil || n < 0 || n > totalRows {
			return unsupported("row number")
		}
		s.rowNo = n
	}
	return nil
}

// tail reads the rest of the sheet after sheetData, where excelize's
// Next goes on looking for rows: there must be none.
func (s *sheetScanner) tail() error {
	for {
		tok, err := s.seek(false)
		switch {
		case err != nil:
			return err
		case tok == tokEOF:
			return nil
		default:
			return unsupported("rows after sheetData")
		}
	}
}

// Reading a row.

// row reads the cells of the row whose start tag seek found, up to and
// including its end tag, as excelize's Columns gives them (nil when it
// has none).
func (s *sheetScanner) row() ([]string, error) {
	if s.self {
		return nil, nil
	}
	for {
		err := s.rowOnce()
		if err == errShort {
			ok, err := s.more()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, unsupported("unexpected end of the sheet")
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		s.stack = s.stack[:len(s.stack)-1]
		if len(s.cells) == 0 {
			return nil, nil
		}
		cells := make([]string, len(s.cells))
		copy(cells, s.cells)
		if len(s.spans) > 0 {
			str := string(s.arena)
			for _, sp := range s.spans {
				cells[sp.idx] = str[sp.start:sp.end]
			}
		}
		return cells, nil
	}
}

// cell is what a <c> element holds, as excelize's xlsxC.
type cell struct {
	ref, typ []byte
	hasF     bool
	v        []byte // the last <v>'s text (in s.tmp)
	hasIS    bool
	is       []byte // the inline string: its <t>, then its runs' (in s.isBuf)
}

// rowOnce reads the row from s.pos; errShort means it must start again
// with more of the sheet in the buffer.
func (s *sheetScanner) rowOnce() error {
	b := s.buf[:s.end]
	i := s.pos
	rowName := s.stack[len(s.stack)-1]
	s.cells = s.cells[:0]
	s.spans = s.spans[:0]
	s.arena = s.arena[:0]
	col := 0
	for {
		if i >= len(b) {
			return s.short()
		}
		if b[i] != '<' {
			j, err := s.text(b, i, nil, true)
			if err != nil {
				return err
			}
			i = j
			continue
		}
		if i+1 >= len(b) {
			return s.short()
		}
		switch b[i+1] {
		case '/':
			next, _, err := s.endTag(b, i, rowName)
			if err != nil {
				return err
			}
			s.pos = next
			return nil
		case '!', '?':
			return unsupported("markup in a row")
		}
		next, name, local, self, err := s.startTag(b, i)
		if err != nil {
			return err
		}
		if string(local) != "c" {
			return unsupported("element in a row")
		}
		var c cell
		for _, a := range s.attrs {
			switch string(a.local) {
			case "r":
				c.ref = a.val
			case "s":
				if _, err := strconv.ParseInt(string(a.val), 10, 64); err != nil {
					return unsupported("cell style")
				}
			case "t":
				c.typ = a.val
			}
		}
		i = next
		if !self {
			if i, err = s.cellContent(b, i, name, &c); err != nil {
				return err
			}
		}
		col++
		if len(c.ref) > 0 {
			if col, err = cellColumn(c.ref); err != nil {
				return err
			}
		}
		s.addCell(col, &c)
	}
}

// cellColumn is the column of a cell reference, as excelize's
// CellNameToCoordinates gives it; an error is unsupported.
func cellColumn(ref []byte) (int, error) {
	col, i := 0, 0
	for ; i < len(ref) && i < 3 && 'A' <= ref[i] && ref[i] <= 'Z'; i++ {
		col = col*26 + int(ref[i]-'A'+1)
	}
	row, j := 0, i
	for ; j < len(ref) && j-i < 8 && '0' <= ref[j] && ref[j] <= '9'; j++ {
		row = row*10 + int(ref[j]-'0')
	}
	if i > 0 && j > i && j == len(ref) && col <= maxColumns && row >= 1 && row <= totalRows {
		return col, nil
	}
	c, _, err := excelize.CellNameToCoordinates(string(ref))
	if err != nil {
		return 0, unsupported("cell reference")
	}
	return c, nil
}

// sharedIndex is strconv.Atoi(strings.TrimSpace(v)), as excelize reads a
// shared string's index, without a string for the usual digits.
func sharedIndex(v []byte) int {
	if len(v) > 0 && len(v) <= 9 {
		n := 0
		for _, c := range v {
			if c < '0' || c > '9' {
				goto slow
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
slow:
	n, _ := strconv.Atoi(strings.TrimSpace(string(v)))
	return n
}

// addCell appends the cell's value as excelize's rowXMLHandler does: a
// cell with a value or a formula, after blanks up to its column.
func (s *sheetScanner) addCell(col int, c *cell) {
	start := len(s.arena)
	var val string
	switch string(c.typ) {
	case "s":
		if len(c.v) > 0 {
			val = s.sst.get(sharedIndex(c.v))
		}
		if val == "" && !c.hasF {
			return
		}
	case "inlineStr":
		if c.hasIS {
			if bytes.Contains(c.is, []byte("_x")) {
				val = bstrUnmarshal(string(c.is))
				if val == "" && !c.hasF {
					return
				}
				break
			}
			if len(c.is) == 0 && !c.hasF {
				return
			}
			s.arena = append(s.arena, c.is...)
			start = -1 - start
			break
		}
		fallthrough
	default:
		if len(c.v) == 0 && !c.hasF {
			return
		}
		s.arena = append(s.arena, c.v...)
		start = -1 - start
	}
	for k := len(s.cells) + 1; k < col; k++ {
		s.cells = append(s.cells, "")
	}
	if start < 0 {
		s.spans = append(s.spans, valSpan{len(s.cells), -1 - start, len(s.arena)})
	}
	s.cells = append(s.cells, val)
}

// cellContent reads what is inside a <c> element after its start tag, up
// to and including its end tag.
func (s *sheetScanner) cellContent(b []byte, i int, name []byte, c *cell) (int, error) {
	for {
		if i >= len(b) {
			return 0, s.short()
		}
		if b[i] != '<' {
			j, err := s.text(b, i, nil, true)
			if err != nil {
				return 0, err
			}
			i = j
			continue
		}
		if i+1 >= len(b) {
			return 0, s.short()
		}
		switch b[i+1] {
		case '/':
			next, _, err := s.endTag(b, i, name)
			return next, err
		case '!', '?':
			return 0, unsupported("markup in a cell")
		}
		next, el, local, self, err := s.startTag(b, i)
		if err != nil {
			return 0, err
		}
		i = next
		switch string(local) {
		case "v":
			s.tmp = s.tmp[:0]
			if !self {
				if i, err = s.textElement(b, next, el, &s.tmp); err != nil {
					return 0, err
				}
			}
			c.v = s.tmp
		case "f":
			if err := formulaAttrs(s.attrs); err != nil {
				return 0, err
			}
			c.hasF = true
			if !self {
				if i, err = s.textElement(b, next, el, nil); err != nil {
					return 0, err
				}
			}
		case "is":
			if c.hasIS {
				return 0, unsupported("two inline strings")
			}
			c.hasIS = true
			s.isBuf = s.isBuf[:0]
			if !self {
				if i, err = s.inline(b, next, el); err != nil {
					return 0, err
				}
			}
			c.is = s.isBuf
		default:
			return 0, unsupported("element in a cell")
		}
	}
}

// textElement reads the content of an element that holds only text (and
// CDATA sections), appending it to *dst, and its end tag.
func (s *sheetScanner) textElement(b []byte, i int, name []byte, dst *[]byte) (int, error) {
	for {
		if i >= len(b) {
			return 0, s.short()
		}
		if b[i] != '<' {
			j, err := s.text(b, i, dst, true)
			if err != nil {
				return 0, err
			}
			i = j
			continue
		}
		if i+1 >= len(b) {
			return 0, s.short()
		}
		switch b[i+1] {
		case '/':
			next, _, err := s.endTag(b, i, name)
			return next, err
		case '!':
			if !hasPrefixShort(b[i:], "<![CDATA[") {
				return 0, unsupported("markup in text")
			}
			next, err := s.other(b, i, dst)
			if err != nil {
				return 0, err
			}
			i = next
			continue
		}
		return 0, unsupported("element in text")
	}
}

// inline reads an inline string (<is>) as excelize's xlsxSI gives it:
// the text of its last direct <t>, then that of each run's (<r>) last
// <t>, into s.isBuf.
func (s *sheetScanner) inline(b []byte, i int, name []byte) (int, error) {
	s.isHead = s.isHead[:0]
	s.isRuns = s.isRuns[:0]
	for {
		if i >= len(b) {
			return 0, s.short()
		}
		if b[i] != '<' {
			j, err := s.text(b, i, nil, true)
			if err != nil {
				return 0, err
			}
			i = j
			continue
		}
		if i+1 >= len(b) {
			return 0, s.short()
		}
		switch b[i+1] {
		case '/':
			next, _, err := s.endTag(b, i, name)
			if err != nil {
				return 0, err
			}
			s.isBuf = append(append(s.isBuf[:0], s.isHead...), s.isRuns...)
			return next, nil
		case '!', '?':
			return 0, unsupported("markup in an inline string")
		}
		next, el, local, self, err := s.startTag(b, i)
		if err != nil {
			return 0, err
		}
		i = next
		switch string(local) {
		case "t":
			s.isHead = s.isHead[:0]
			if !self {
				if i, err = s.textElement(b, next, el, &s.isHead); err != nil {
					return 0, err
				}
			}
		case "r":
			if !self {
				if i, err = s.run(b, next, el); err != nil {
					return 0, err
				}
				s.isRuns = append(s.isRuns, s.runT...)
			}
		default:
			return 0, unsupported("element in an inline string")
		}
	}
}

// run reads a rich text run: its properties, and its last <t> into
// s.runT.
func (s *sheetScanner) run(b []byte, i int, name []byte) (int, error) {
	s.runT = s.runT[:0]
	for {
		if i >= len(b) {
			return 0, s.short()
		}
		if b[i] != '<' {
			j, err := s.text(b, i, nil, true)
			if err != nil {
				return 0, err
			}
			i = j
			continue
		}
		if i+1 >= len(b) {
			return 0, s.short()
		}
		switch b[i+1] {
		case '/':
			next, _, err := s.endTag(b, i, name)
			return next, err
		case '!', '?':
			return 0, unsupported("markup in a run")
		}
		next, el, local, self, err := s.startTag(b, i)
		if err != nil {
			return 0, err
		}
		i = next
		switch string(local) {
		case "t":
			s.runT = s.runT[:0]
			if !self {
				if i, err = s.textElement(b, next, el, &s.runT); err != nil {
					return 0, err
				}
			}
		case "rPr":
			if !self {
				if i, err = s.runProps(b, next, el); err != nil {
					return 0, err
				}
			}
		default:
			return 0, unsupported("element in a run")
		}
	}
}

// runProps reads a run's properties (<rPr>): empty elements whose typed
// attributes must parse as excelize's xlsxRPr reads them.
func (s *sheetScanner) runProps(b []byte, i int, name []byte) (int, error) {
	for {
		if i >= len(b) {
			return 0, s.short()
		}
		if b[i] != '<' {
			j, err := s.text(b, i, nil, true)
			if err != nil {
				return 0, err
			}
			i = j
			continue
		}
		if i+1 >= len(b) {
			return 0, s.short()
		}
		switch b[i+1] {
		case '/':
			next, _, err := s.endTag(b, i, name)
			return next, err
		case '!', '?':
			return 0, unsupported("markup in run properties")
		}
		next, _, local, self, err := s.startTag(b, i)
		if err != nil {
			return 0, err
		}
		if !self {
			return 0, unsupported("run property with content")
		}
		if err := runPropAttrs(string(local), s.attrs); err != nil {
			return 0, err
		}
		i = next
	}
}

// runPropAttrs checks that the typed attributes of a run property parse
// as encoding/xml parses them into excelize's xlsxRPr.
func runPropAttrs(local string, attrs []scanAttr) error {
	kinds := map[string]byte{}
	switch local {
	case "charset", "family":
		kinds["val"] = 'i'
	case "b", "i", "strike", "outline", "shadow", "condense", "extend":
		kinds["val"] = 'b'
	case "sz":
		kinds["val"] = 'f'
	case "color":
		kinds["auto"], kinds["indexed"], kinds["theme"], kinds["tint"] = 'b', 'i', 'i', 'f'
	default:
		return nil
	}
	for _, a := range attrs {
		if k, ok := kinds[string(a.local)]; ok && !parsesAs(k, a.val) {
			return unsupported("run property")
		}
	}
	return nil
}

// formulaAttrs checks the typed attributes of <f> as parseAs.
func formulaAttrs(attrs []scanAttr) error {
	for _, a := range attrs {
		k := byte(0)
		switch string(a.local) {
		case "aca", "dt2D", "dtr", "del1", "del2", "ca", "bx":
			k = 'b'
		case "si":
			k = 'i'
		}
		if k != 0 && !parsesAs(k, a.val) {
			return unsupported("formula attribute")
		}
	}
	return nil
}

// parsesAs reports whether encoding/xml's copyValue takes v for a bool
// ('b'), an int ('i') or a float64 ('f').
func parsesAs(kind byte, v []byte) bool {
	if len(v) == 0 {
		return true
	}
	t := strings.TrimSpace(string(v))
	var err error
	switch kind {
	case 'b':
		_, err = strconv.ParseBool(t)
	case 'i':
		_, err = strconv.ParseInt(t, 10, 64)
	case 'f':
		_, err = strconv.ParseFloat(t, 64)
	}
	return err == nil
}
