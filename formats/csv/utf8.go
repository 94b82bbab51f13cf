package csv

import (
	"io"
	"unicode/utf8"
)

// utf8Check passes bytes through and checks them for valid UTF-8 as they
// go, a buffer at a time: much cheaper than checking every value of every
// record, and nearly every file is valid. Once it has seen an invalid byte
// (or a character cut short by the end of the file) it sets bad, and the
// Reader then checks the values of each record, to name the one at fault.
//
// The Reader parses only bytes that have passed through utf8Check, so bad
// is set before the record holding the invalid byte is returned.
type utf8Check struct {
	r    io.Reader
	tail []byte // the start of a character cut by the end of the last buffer
	bad  bool
}

func (c *utf8Check) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if !c.bad {
		c.check(p[:n])
		if err == io.EOF && len(c.tail) > 0 {
			c.bad = true
		}
	}
	return n, err
}

func (c *utf8Check) check(b []byte) {
	// Finish the character the last buffer cut.
	for len(c.tail) > 0 && len(b) > 0 {
		c.tail = append(c.tail, b[0])
		b = b[1:]
		if utf8.FullRune(c.tail) {
			if r, size := utf8.DecodeRune(c.tail); r == utf8.RuneError && size <= 1 || size != len(c.tail) {
				c.bad = true
				return
			}
			c.tail = c.tail[:0]
		}
	}
	if len(b) == 0 {
		return
	}
	// Keep back a character this buffer cuts.
	end := wholeRunes(b)
	if !utf8.Valid(b[:end]) {
		c.bad = true
		return
	}
	c.tail = append(c.tail, b[end:]...)
}

// wholeRunes returns the length of b without a character cut short at its
// end (the next buffer holds the rest of it).
func wholeRunes(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

// invalidAt returns the index of the first byte of b that is not UTF-8,
// or -1.
func invalidAt(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}
