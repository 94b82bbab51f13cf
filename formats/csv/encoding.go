package csv

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// decode returns a reader of UTF-8 text from br, given the configured
// encoding name ("" sniffs). checkUTF8 reports whether the bytes are passed through
// unchanged, so that the caller must check them for valid UTF-8. A BOM is
// consumed. A file read as UTF-8 (sniffed, or named) whose first 64 KiB
// are not UTF-8 is read as legacy when that is set (sniffing only), and is
// refused otherwise (*notUTF8), so that it is never half read.
func decode(br *bufio.Reader, name, legacy string) (r io.Reader, checkUTF8 bool, err error) {
	head, _ := br.Peek(4) // a short peek is fine: the file is short
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "":
		switch {
		case bytes.HasPrefix(head, bomUTF8):
			br.Discard(len(bomUTF8))
			return br, true, nil
		case bytes.HasPrefix(head, bomUTF16LE):
			return utf16(br, unicode.LittleEndian), false, nil
		case bytes.HasPrefix(head, bomUTF16BE):
			return utf16(br, unicode.BigEndian), false, nil
		// No BOM: UTF-16 text of ASCII characters has every other byte
		// zero (SQL Server's bcp -w writes such files). UTF-8 text
		// never starts with NUL bytes, so this guess is safe.
		case len(head) == 4 && head[0] != 0 && head[1] == 0 && head[2] != 0 && head[3] == 0:
			return utf16(br, unicode.LittleEndian), false, nil
		case len(head) == 4 && head[0] == 0 && head[1] != 0 && head[2] == 0 && head[3] != 0:
			return utf16(br, unicode.BigEndian), false, nil
		}
		if bad := firstInvalid(br); bad != nil {
			if legacy != "" {
				return decode(br, legacy, "")
			}
			return nil, false, bad
		}
		return br, true, nil
	case "utf-8", "utf8":
		if bytes.HasPrefix(head, bomUTF8) {
			br.Discard(len(bomUTF8))
		}
		if bad := firstInvalid(br); bad != nil {
			return nil, false, bad
		}
		return br, true, nil
	case "utf-16le", "utf-16-le", "utf16le":
		return utf16(br, unicode.LittleEndian), false, nil
	case "utf-16be", "utf-16-be", "utf16be":
		return utf16(br, unicode.BigEndian), false, nil
	case "windows-1252", "cp1252":
		return transform.NewReader(br, charmap.Windows1252.NewDecoder()), false, nil
	}
	// Any other name the WHATWG Encoding Standard knows (iso-8859-15,
	// shift_jis, ...).
	enc, err := htmlindex.Get(name)
	if err != nil {
		return nil, false, fmt.Errorf("csv: unknown encoding %q; use utf-8, utf-16le, utf-16be or windows-1252", name)
	}
	return transform.NewReader(br, enc.NewDecoder()), false, nil
}

// notUTF8 is the first byte of a file read as UTF-8 that UTF-8 does not
// have: at line row (1-based).
type notUTF8 struct {
	row int
	b   byte
}

func (e *notUTF8) Error() string { return fmt.Sprintf("line %d: byte 0x%02X is not UTF-8", e.row, e.b) }

// firstInvalid looks at the first 64 KiB of br (what its buffer holds) for
// a byte that is not UTF-8, and returns it, or nil when there is none.
func firstInvalid(br *bufio.Reader) *notUTF8 {
	b, err := br.Peek(br.Size())
	if err == nil {
		b = b[:wholeRunes(b)] // the buffer may cut the last character
	}
	if i := invalidAt(b); i >= 0 {
		return &notUTF8{row: 1 + bytes.Count(b[:i], []byte{'\n'}), b: b[i]}
	}
	return nil
}

// utf16 decodes UTF-16 with the given default byte order; a BOM, if present,
// overrides it and is removed.
func utf16(r io.Reader, e unicode.Endianness) io.Reader {
	return transform.NewReader(r, unicode.UTF16(e, unicode.UseBOM).NewDecoder())
}

// encoder returns the encoding a Writer uses, and the BOM it writes first.
func encoder(name string) (enc encoding.Encoding, bom string, err error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utf-8", "utf8":
		return nil, "", nil
	case "utf-8-bom", "utf8-bom":
		return nil, "\uFEFF", nil
	case "utf-16le", "utf-16-le", "utf16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "\uFEFF", nil
	}
	return nil, "", fmt.Errorf("csv: unknown output encoding %q; use utf-8, utf-8-bom or utf-16le", name)
}
