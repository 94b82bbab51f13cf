package dmf

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// textReader returns r decoded to UTF-8, sniffing the encoding: a UTF-8,
// UTF-16 LE or UTF-16 BE byte order mark, or, without one, UTF-16 told by
// the zero byte of an ASCII first character; otherwise UTF-8. The byte order
// mark is dropped. utf16 reports whether the input was UTF-16.
func textReader(r io.Reader) (_ io.Reader, utf16 bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(3)
	if err != nil && err != io.EOF {
		return nil, false, err
	}
	var (
		order unicode.Endianness
		skip  int
	)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
		return br, false, nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		order, skip = unicode.LittleEndian, 2
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		order, skip = unicode.BigEndian, 2
	case len(head) >= 2 && head[0] != 0 && head[1] == 0:
		order = unicode.LittleEndian
	case len(head) >= 2 && head[0] == 0 && head[1] != 0:
		order = unicode.BigEndian
	default:
		return br, false, nil
	}
	_, _ = br.Discard(skip)
	dec := unicode.UTF16(order, unicode.IgnoreBOM).NewDecoder()
	return transform.NewReader(br, dec), true, nil
}

// charsetReader is an xml.Decoder CharsetReader for text that textReader
// has already turned into UTF-8 (transcoded says it was UTF-16). A UTF-8 or
// UTF-16 declaration passes the text through; another declared charset
// decodes bytes that were not transcoded.
func charsetReader(transcoded bool) func(string, io.Reader) (io.Reader, error) {
	return func(label string, in io.Reader) (io.Reader, error) {
		l := strings.ToLower(strings.TrimSpace(label))
		if transcoded || l == "utf-8" || l == "utf8" || strings.HasPrefix(l, "utf-16") || l == "unicode" {
			return in, nil
		}
		enc, err := htmlindex.Get(l)
		if err != nil {
			return nil, fmt.Errorf("unknown encoding %q in the XML declaration", label)
		}
		return enc.NewDecoder().Reader(in), nil
	}
}
