package formats

import "fmt"

// Limits bound what one input may make a reader hold in memory, so that a
// small file crafted to expand (one 2 GB line, a shared string of 1 GiB,
// XML nested millions deep) cannot take a job's memory, and with it the
// daemon. A zero field means its default. Going past a limit is a
// *LimitError, which ends the file's reading.
type Limits struct {
	// RecordBytes is the longest row of a CSV file, or the longest run of
	// text or markup in an XML file (default 16 MiB).
	RecordBytes int64
	// SharedStringsBytes is the largest shared-strings table of a
	// workbook, unpacked (default 256 MiB), and SheetBytes the largest
	// sheet, unpacked (default 2 GiB; sheets are read as a stream).
	SharedStringsBytes, SheetBytes int64
	// ValueBytes is the longest single value: a CSV field, the text an
	// XML field gathers, an element or attribute name (default 1 MiB).
	ValueBytes int64
	// SharedStrings is how many shared strings a workbook may hold
	// (default 4 million): excelize keeps each in memory, so many short
	// ones take far more than their unpacked size.
	SharedStrings int64
	// Depth is how deep XML elements may nest (default 256).
	Depth int
	// MergedCells is how many merged ranges a sheet may have (default
	// 1 million): the Reader keeps them all while it reads the sheet.
	MergedCells int64
}

// Default limits.
const (
	DefaultRecordBytes        = 16 << 20
	DefaultSharedStringsBytes = 256 << 20
	DefaultSheetBytes         = 2 << 30
	DefaultDepth              = 256
	DefaultValueBytes         = 1 << 20
	DefaultSharedStrings      = 4_000_000
	DefaultMergedCells        = 1_000_000
)

// OrDefault returns l with each zero field set to its default.
func (l Limits) OrDefault() Limits {
	if l.RecordBytes <= 0 {
		l.RecordBytes = DefaultRecordBytes
	}
	if l.SharedStringsBytes <= 0 {
		l.SharedStringsBytes = DefaultSharedStringsBytes
	}
	if l.SheetBytes <= 0 {
		l.SheetBytes = DefaultSheetBytes
	}
	if l.Depth <= 0 {
		l.Depth = DefaultDepth
	}
	if l.ValueBytes <= 0 {
		l.ValueBytes = DefaultValueBytes
	}
	if l.SharedStrings <= 0 {
		l.SharedStrings = DefaultSharedStrings
	}
	if l.MergedCells <= 0 {
		l.MergedCells = DefaultMergedCells
	}
	return l
}

// LimitError is input past one of the Limits. Setting names the
// erpipe.yaml setting that raises the limit.
type LimitError struct {
	Pos     Pos
	What    string // what is too large, e.g. "the row"
	Limit   string // the limit, e.g. "16 MiB"
	Setting string // e.g. "limits.record_bytes"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %s is larger than erpipe reads (%s, %s); the file is probably not what the template expects, or damaged",
		e.Pos, e.What, e.Limit, e.Setting)
}

// Size renders a byte count for messages: "16 MiB".
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
