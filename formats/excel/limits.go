package excel

import (
	"archive/zip"
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
		case strings.HasPrefix(n, "xl/worksheets/") && f.UncompressedSize64 > uint64(lim.SheetBytes):
			return &formats.LimitError{Pos: formats.Pos{File: name}, What: "sheet " + f.Name[len("xl/worksheets/"):] + " unpacked",
				Limit: formats.Size(lim.SheetBytes), Setting: "limits.sheet_bytes"}
		}
	}
	return nil
}
