package template

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// YAML syntax errors. yaml.v3 reports some errors at the start of the
// block it was reading rather than at the line that broke it: a key
// indented one space too few inside a list item gives "line 3: did not
// find expected '-' indicator" for the list that starts on line 3, however
// far below the mistake is, and a tab in the indentation is reported on
// the line before the tab. So for those errors the place is found again
// from the source: the first line, from the one yaml.v3 names on, whose
// indentation does not fit the lines above it (misindented). When no such
// line is found, yaml.v3's line is kept.

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a YAML syntax error of data into a place (1-based line
// and column; 0 when unknown) and a message.
func yamlError(data []byte, err error) (line, col int, msg string) {
	text := err.Error()
	m := yamlLineRE.FindStringSubmatch(text)
	if m == nil {
		return 0, 0, "YAML syntax error: " + strings.TrimPrefix(text, "yaml: ")
	}
	line, _ = strconv.Atoi(m[1])
	msg = "YAML syntax error: " + m[2]
	switch {
	case strings.Contains(m[2], "did not find expected"), strings.Contains(m[2], "tab character"):
		if l, c, why, ok := misindented(data, line); ok {
			return l, c, msg + "; " + why
		}
	case strings.Contains(m[2], "mapping values are not allowed"):
		// yaml.v3 has the line right; the scan may say why.
		if l, c, why, ok := misindented(data, line); ok && l == line {
			return l, c, msg + "; " + why
		}
	}
	return line, 0, msg
}

// level is an open block of a YAML document: a list's items or a
// mapping's keys, at a column.
type level struct {
	indent int
	list   bool
}

// indentScan follows the blocks of a YAML document line by line.
type indentScan struct {
	stack  []level
	opened bool // the line above ends in "key:" or "-": the next may go deeper
	// skipUnder: the lines deeper than this column belong to a block
	// scalar (| or >) and are skipped; -1 when not in one.
	skipUnder int
	// closer: the lines up to one holding this text belong to a value
	// that goes on over several lines (a quoted text, a flow [ or {).
	closer string
}

// misindented returns the first line, from line from on, whose
// indentation does not fit the lines above it, with its column and what
// to do. ok is false when there is none, or when a line above from does
// not fit either (the document is not what the scan understands).
func misindented(data []byte, from int) (line, col int, why string, ok bool) {
	s := &indentScan{skipUnder: -1}
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		ln := strings.TrimRight(raw, "\r")
		text := strings.TrimLeft(ln, " ")
		indent := len(ln) - len(text)
		if s.closer != "" {
			if strings.Contains(text, s.closer) {
				s.closer = ""
			}
			continue
		}
		if text == "" || text[0] == '#' {
			continue
		}
		if s.skipUnder >= 0 {
			if indent > s.skipUnder {
				continue
			}
			s.skipUnder = -1
		}
		if text[0] == '\t' {
			if n < from {
				return 0, 0, "", false
			}
			return n, indent + 1, "indent with spaces, not tabs", true
		}
		if strings.HasPrefix(text, "---") || strings.HasPrefix(text, "...") {
			s.stack, s.opened = nil, false
			continue
		}
		why, skip := s.fit(indent, text)
		if why != "" {
			if n < from {
				return 0, 0, "", false
			}
			return n, indent + 1, why, true
		}
		if !skip {
			s.push(indent, text)
		}
	}
	return 0, 0, "", false
}

// fit checks a line of text at indent against the open blocks, closing
// those it ends. It returns what is wrong with it, or skip for a line that
// goes on the value of the line above.
func (s *indentScan) fit(indent int, text string) (why string, skip bool) {
	if len(s.stack) == 0 {
		return "", false
	}
	item := text == "-" || strings.HasPrefix(text, "- ")
	top := s.stack[len(s.stack)-1]
	if indent > top.indent {
		if s.opened {
			return "", false
		}
		if _, _, isKey := splitKey(text); isKey || item {
			return fmt.Sprintf("this line is indented %d spaces, deeper than the line above it, which already has a value: line it up with that line (%d spaces)", indent, top.indent), false
		}
		return "", true // the rest of a plain text value, written over several lines
	}
	j := len(s.stack) - 1
	for j >= 0 && s.stack[j].indent > indent {
		j--
	}
	if j < 0 || s.stack[j].indent != indent {
		return fmt.Sprintf("this line is indented %d spaces, which lines up with none of the lines above it (they are indented %s): line it up with the key or the - it belongs under", indent, s.indents()), false
	}
	wasOpened := s.opened
	s.stack = s.stack[:j+1]
	s.opened = false
	switch lv := s.stack[j]; {
	case lv.list && !item:
		// A key where a list's dashes are: the list may be the value of
		// a key at the same column (key:\n- a\n- b\nnext: c).
		if j > 0 && s.stack[j-1].indent == indent && !s.stack[j-1].list {
			s.stack = s.stack[:j]
			return "", false
		}
		return fmt.Sprintf("this line is a key where the list's dashes are (%d spaces): indent it like the keys of the item above it", indent), false
	case !lv.list && item:
		if wasOpened {
			return "", false // a list as the value of the key above, not indented
		}
		for k := j - 1; k >= 0; k-- {
			if s.stack[k].list {
				return fmt.Sprintf("this line is a list item (-) where the keys of a mapping are (%d spaces): line its - up with the items above it (%d spaces)", indent, s.stack[k].indent), false
			}
		}
		return fmt.Sprintf("this line is a list item (-) where the keys of a mapping are (%d spaces): put the list under a key with no value", indent), false
	}
	return "", false
}

// indents lists the columns of the open blocks: "0, 2 or 4".
func (s *indentScan) indents() string {
	var cols []string
	for _, lv := range s.stack {
		c := strconv.Itoa(lv.indent)
		if len(cols) == 0 || cols[len(cols)-1] != c {
			cols = append(cols, c)
		}
	}
	if len(cols) == 1 {
		return cols[0]
	}
	return strings.Join(cols[:len(cols)-1], ", ") + " or " + cols[len(cols)-1]
}

// open makes sure the innermost block is one at col of that kind.
func (s *indentScan) open(col int, list bool) {
	if n := len(s.stack); n > 0 && s.stack[n-1].indent == col && s.stack[n-1].list == list {
		return
	}
	s.stack = append(s.stack, level{indent: col, list: list})
}

// push opens the blocks a line starts: "- " items, each opening a list
// at its column, and a key opening a mapping at its column. It notes
// whether the line leaves its value to the lines below.
func (s *indentScan) push(col int, text string) {
	owner := col // the column the lines of a block scalar must be deeper than
	for text == "-" || strings.HasPrefix(text, "- ") {
		s.open(col, true)
		owner = col
		rest := strings.TrimLeft(text[1:], " ")
		col += len(text) - len(rest)
		text = rest
	}
	value := text
	if text != "" && text[0] != '#' {
		if _, v, isKey := splitKey(text); isKey {
			s.open(col, false)
			owner = col
			value = v
		}
	}
	value = strings.TrimSpace(value)
	s.opened = value == "" || value[0] == '#' || onlyProperties(value)
	switch {
	case value == "":
	case value[0] == '|' || value[0] == '>':
		s.skipUnder = owner
	case value[0] == '"' || value[0] == '\'':
		if closes, ok := quoteEnd(value); !ok {
			s.closer = closes
		}
	case value[0] == '[' || value[0] == '{':
		if depth := flowDepth(value); depth > 0 {
			s.closer = map[byte]string{'[': "]", '{': "}"}[value[0]]
		}
	}
}

// splitKey splits "key: value" (or "key:", or a quoted key); isKey is
// false for a line that is not a key.
func splitKey(text string) (key, value string, isKey bool) {
	rest := text
	if text[0] == '"' || text[0] == '\'' {
		end := strings.IndexByte(text[1:], text[0])
		if end < 0 {
			return "", "", false
		}
		key, rest = text[:end+2], text[end+2:]
		rest = strings.TrimLeft(rest, " ")
		if rest == ":" || strings.HasPrefix(rest, ": ") {
			return key, rest[1:], true
		}
		return "", "", false
	}
	if text[0] == '[' || text[0] == '{' || text[0] == '#' {
		return "", "", false
	}
	if i := strings.Index(text, ": "); i > 0 && !strings.Contains(text[:i], " #") {
		return text[:i], text[i+1:], true
	}
	if strings.HasSuffix(text, ":") && !strings.Contains(text, " #") {
		return text[:len(text)-1], "", true
	}
	if i := strings.Index(text, ": #"); i > 0 {
		return text[:i], "", true
	}
	return "", "", false
}

// onlyProperties reports a value that is only an anchor or a tag, so
// that its content is on the lines below (key: &base).
func onlyProperties(v string) bool {
	for _, f := range strings.Fields(v) {
		if f[0] == '#' {
			return true
		}
		if f[0] != '&' && f[0] != '!' {
			return false
		}
	}
	return true
}

// quoteEnd reports whether the quoted text v starts with ends on its line;
// else it returns the quote that will end it.
func quoteEnd(v string) (string, bool) {
	q := v[0]
	for i := 1; i < len(v); i++ {
		switch {
		case q == '"' && v[i] == '\\':
			i++
		case v[i] == q && q == '\'' && i+1 < len(v) && v[i+1] == '\'':
			i++
		case v[i] == q:
			return "", true
		}
	}
	return string(q), false
}

// flowDepth is how many [ and { of v are still open at its end.
func flowDepth(v string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		}
	}
	return depth
}
