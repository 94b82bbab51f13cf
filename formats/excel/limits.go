package excel

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/erpipe/erpipe/formats"
)

// CheckSizes refuses a workbook whose shared-strings table or a sheet is
// larger, unpacked, than lim allows (a *formats.LimitError naming the file
// as name), before anything is unpacked: excelize holds the shared strings
// in memory, so a 1 MB file holding one 1 GiB string, or 40 million empty
// ones, would take gigabytes. The sizes are those the zip file declares,
// which archive/zip enforces while unpacking: an entry that unpacks to more
// is an error, not more memory. A file that is not a zip file is left to
// the caller to report.
func CheckSizes(path, name string, lim formats.Limits) error {
	lim = lim.OrDefault()
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil
	}
	defer z.Close()
	for _, f := range z.File {
		n := strings.ToLower(f.Name)
		switch {
		case n == "xl/sharedstrings.xml" && f.UncompressedSize64 > uint64(lim.SharedStringsBytes):
			return &formats.LimitError{Pos: formats.Pos{File: name}, What: "the workbook's table of shared strings",
				Limit: formats.Size(lim.SharedStringsBytes), Setting: "limits.shared_strings_bytes"}
		case n == "xl/sharedstrings.xml" && int64(f.UncompressedSize64) > lim.SharedStrings*minSharedString:
			// Enough room for more strings than allowed: count them.
			if count, err := countStrings(f); err == nil && count > lim.SharedStrings {
				return &formats.LimitError{Pos: formats.Pos{File: name}, What: fmt.Sprintf("the workbook's %d shared strings", count),
					Limit: fmt.Sprint(lim.SharedStrings, " strings"), Setting: "limits.shared_strings"}
			}
		case strings.HasPrefix(n, "xl/worksheets/") && f.UncompressedSize64 > uint64(lim.SheetBytes):
			return &formats.LimitError{Pos: formats.Pos{File: name}, What: "sheet " + f.Name[len("xl/worksheets/"):] + " unpacked",
				Limit: formats.Size(lim.SheetBytes), Setting: "limits.sheet_bytes"}
		}
	}
	return nil
}

// minSharedString is the fewest bytes a shared string takes in
// sharedStrings.xml (<si><t/></si>): a table smaller than the limit times
// this cannot hold too many, and is not counted.
const minSharedString = 13

// countStrings counts the shared strings (<si> elements) of the table in
// f, unpacking it as a stream. The last three bytes of each chunk are read
// again with the next, so that a tag cut by a chunk's end is counted once:
// a tag is four bytes, so none fits whole in the three carried.
func countStrings(f *zip.File) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var n int64
	buf := make([]byte, 64<<10)
	carry := 0
	for {
		m, err := io.ReadFull(rc, buf[carry:])
		b := buf[:carry+m]
		n += int64(bytes.Count(b, []byte("<si>")) + bytes.Count(b, []byte("<si ")))
		carry = copy(buf, b[max(len(b)-3, 0):])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
