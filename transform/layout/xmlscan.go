package layout

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"strings"
)

// xmlScanner reads the elements of a document back for its control
// totals, fast: what encoding/xml's Decoder does at 13 MB/s (a name and a
// token allocated per element, namespaces resolved), this does with a
// look for the next '<'. It reads well-formed documents, which the
// documents it is given are (written by xmlWriter, and most validated
// against their schema first): start and end tags and their local names
// (an empty element is a start and an end), the text between tags,
// comments, processing instructions, CDATA sections and a DOCTYPE without
// an internal subset. It does not check that tags match.
type xmlScanner struct {
	r     *bufio.Reader
	line  int    // the line the last token ended on, as Decoder.InputPos gives it
	name  []byte // the local name of the last start or end tag
	text  []byte // the text since the last tag, entities not decoded
	empty bool   // the last start tag was empty (<a/>): an end follows
	tag   []byte
}

// Kinds of token.
const (
	scanEOF = iota
	scanStart
	scanEnd
)

func newXMLScanner(r io.Reader) *xmlScanner {
	return &xmlScanner{r: bufio.NewReaderSize(r, 256<<10), line: 1}
}

// next reads up to the next start or end tag; the text before it is in
// s.text.
func (s *xmlScanner) next() (int, error) {
	if s.empty {
		s.empty = false
		s.text = s.text[:0]
		return scanEnd, nil
	}
	s.text = s.text[:0]
	for {
		chunk, err := s.r.ReadSlice('<')
		s.line += bytes.Count(chunk, []byte{'\n'})
		switch {
		case err == bufio.ErrBufferFull:
			s.text = append(s.text, chunk...)
			continue
		case err == io.EOF:
			s.text = append(s.text, chunk...)
			return scanEOF, nil
		case err != nil:
			return scanEOF, err
		}
		s.text = append(s.text, chunk[:len(chunk)-1]...)
		c, err := s.r.Peek(1)
		if err != nil {
			return scanEOF, unexpectedEOF(err)
		}
		switch c[0] {
		case '?': // a processing instruction, <?xml ...?>
			if err := s.skipPast("?>"); err != nil {
				return scanEOF, err
			}
			continue
		case '!':
			if err := s.markup(); err != nil {
				return scanEOF, err
			}
			continue
		}
		if err := s.readTag(); err != nil {
			return scanEOF, err
		}
		t := s.tag
		kind := scanStart
		if t[0] == '/' {
			kind, t = scanEnd, t[1:]
		} else if t[len(t)-1] == '/' {
			s.empty, t = true, t[:len(t)-1]
		}
		end := bytes.IndexAny(t, " \t\r\n")
		if end < 0 {
			end = len(t)
		}
		// The local name after a prefix, as encoding/xml takes it: a name
		// with an empty prefix or local part (":", "a:") is a name whole.
		name := t[:end]
		if i := bytes.IndexByte(name, ':'); i > 0 && i < len(name)-1 {
			name = name[i+1:]
		}
		if len(name) == 0 {
			return scanEOF, fmt.Errorf("line %d: a tag without a name", s.line)
		}
		s.name = append(s.name[:0], name...)
		return kind, nil
	}
}

// readTag reads a tag after its '<' up to its '>' into s.tag (without
// either), past any '>' inside quoted attribute values.
func (s *xmlScanner) readTag() error {
	s.tag = s.tag[:0]
	var quote byte
	for {
		chunk, err := s.r.ReadSlice('>')
		if err != nil && err != bufio.ErrBufferFull {
			return unexpectedEOF(err)
		}
		s.line += bytes.Count(chunk, []byte{'\n'})
		for _, c := range chunk {
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			}
		}
		s.tag = append(s.tag, chunk...)
		if err == nil && quote == 0 {
			s.tag = s.tag[:len(s.tag)-1]
			if len(s.tag) == 0 {
				return fmt.Errorf("line %d: an empty tag <>", s.line)
			}
			return nil
		}
	}
}

// markup reads what follows "<!": a comment, a CDATA section (its text
// joins the text) or a declaration.
func (s *xmlScanner) markup() error {
	head, _ := s.r.Peek(8)
	switch {
	case bytes.HasPrefix(head, []byte("!--")):
		return s.skipPast("-->")
	case bytes.HasPrefix(head, []byte("![CDATA[")):
		s.r.Discard(8)
		at := len(s.text)
		if err := s.readPast("]]>"); err != nil {
			return err
		}
		// Kept escaped, as the text around it is.
		cdata := html.EscapeString(string(s.text[at : len(s.text)-3]))
		s.text = append(s.text[:at], cdata...)
		return nil
	}
	return s.skipPast(">")
}

// skipPast reads past the next end.
func (s *xmlScanner) skipPast(end string) error {
	at := len(s.text)
	err := s.readPast(end)
	s.text = s.text[:at]
	return err
}

// readPast appends everything up to and including the next end to s.text.
func (s *xmlScanner) readPast(end string) error {
	at, last := len(s.text), end[len(end)-1]
	for {
		chunk, err := s.r.ReadSlice(last)
		if err != nil && err != bufio.ErrBufferFull {
			return unexpectedEOF(err)
		}
		s.line += bytes.Count(chunk, []byte{'\n'})
		s.text = append(s.text, chunk...)
		if err == nil && bytes.HasSuffix(s.text[at:], []byte(end)) {
			return nil
		}
	}
}

// textValue is the text since the last tag as encoding/xml gives it:
// entities decoded, line ends as \n.
func (s *xmlScanner) textValue() string {
	t := string(s.text)
	if bytes.IndexByte(s.text, '\r') >= 0 {
		t = strings.ReplaceAll(strings.ReplaceAll(t, "\r\n", "\n"), "\r", "\n")
	}
	if strings.IndexByte(t, '&') >= 0 {
		t = html.UnescapeString(t)
	}
	return t
}
