package xml

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// decode returns UTF-8 text from br when the bytes say how they are
// encoded (XML 1.0, appendix F): a byte order mark, or "<?" in UTF-16. The
// BOM is consumed. decoded reports that the encoding was settled here, so
// that the XML declaration's encoding must not be applied again.
func decode(br *bufio.Reader) (r io.Reader, decoded bool) {
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
		return br, true
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.Equal(head, []byte{'<', 0, '?', 0}):
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder()), true
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}), bytes.Equal(head, []byte{0, '<', 0, '?'}):
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder()), true
	}
	return br, false
}

// charsetReader is the decoder's CharsetReader: it decodes the encoding the
// XML declaration names, which encoding/xml calls for anything but UTF-8.
func (r *Reader) charsetReader(label string, in io.Reader) (io.Reader, error) {
	if r.decoded {
		return in, nil // a BOM wins over the declaration
	}
	if l := strings.ToLower(label); strings.HasPrefix(l, "utf-16") || l == "unicode" {
		// Read as 8-bit text so far, so it is not UTF-16 whatever it
		// says; a common mislabelling of UTF-8.
		return in, nil
	}
	enc, err := htmlindex.Get(label)
	if err != nil {
		enc, err = ianaindex.IANA.Encoding(label)
	}
	if err != nil || enc == nil {
		r.charsetErr = fmt.Errorf("the XML declaration names encoding %q, which erpipe can't read; "+
			"save the file as UTF-8", label)
		return nil, r.charsetErr
	}
	if enc == encoding.Encoding(unicode.UTF8) {
		return in, nil
	}
	return enc.NewDecoder().Reader(in), nil
}
