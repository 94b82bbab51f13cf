// Package filename makes the names of the files erpipe derives from the
// names of its inputs (archived inputs, reports, rejected rows, outputs
// and their temporary files) fit what file systems hold: most take names
// of at most 255 bytes, and an input's own name may be that long already.
// A name is shortened by cutting its stem, at a character boundary, and
// marking the cut with "~"; its extension stays, so that the file still
// opens with the right program.
package filename

import (
	"path/filepath"
	"unicode/utf8"
)

// Max is the longest file name, in bytes, that most file systems take.
const Max = 255

// maxExt is the longest extension kept whole; a longer "extension" is
// part of the stem (a name such as "report.final-version-2026").
const maxExt = 16

// Shorten returns name when it has at most max bytes, and otherwise name
// with its stem cut so that stem + "~" + extension has at most max bytes.
func Shorten(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := filepath.Ext(name)
	if len(ext) > maxExt || len(ext) >= max-1 {
		ext = ""
	}
	stem := name[:len(name)-len(ext)]
	return cut(stem, max-len(ext)-1) + "~" + ext
}

// TempPattern is the os.CreateTemp pattern of the temporary file a file
// called name is written as before it is renamed: hidden, and short
// enough for the random part and ".partial" to fit.
func TempPattern(name string) string {
	return "." + cut(name, Max-40) + ".*.partial"
}

// cut returns s cut to at most n bytes, at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
