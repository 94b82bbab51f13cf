// Package dmf writes and reads Dynamics 365 Finance & Operations data
// packages: a flat zip of Manifest.xml, PackageHeader.xml and one data file
// per entity. See shared/docs/dmf-format.md.
package dmf

import (
	"errors"
	"io"
)

// Source formats D365 ships with.
const (
	CSVUnicode   = "CSV-Unicode" // UTF-16 LE with BOM, CRLF (the default)
	CSV          = "CSV"         // UTF-8
	XMLElement   = "XML-Element"
	XMLAttribute = "XML-Attribute"
	Excel        = "EXCEL"
)

// Entity describes one entity of a package.
type Entity struct {
	Name          string   // label as shown in D365, e.g. "Customers V3"
	Target        string   // AOT name, e.g. "CustCustomerV3Entity"
	Columns       []string // staging field names, in file order
	SourceFormat  string   // one of the constants above; "" means CSVUnicode
	ExecutionUnit int      // 0 means 1
	Level         int      // LevelInExecutionUnit; 0 means 1
	Sequence      int      // SequenceInLevel; 0 means 1
}

// Options configure a Writer.
type Options struct {
	DefinitionGroup string // data project name; also the header's Description
	Description     string // manifest Description; "" means DefinitionGroup
	TempDir         string // where entity data is spooled; "" means os.TempDir()
}

// Writer writes a package to an io.Writer, streaming: rows are spooled per
// entity on disk, never held in memory.
type Writer struct{}

// NewWriter starts a package holding entities.
func NewWriter(w io.Writer, opts Options, entities []Entity) (*Writer, error) {
	return nil, errors.New("TODO")
}

// Write appends one row (values in Entity.Columns order) to entity i.
func (w *Writer) Write(entity int, values []string) error { return errors.New("TODO") }

// Close writes the data files, Manifest.xml and PackageHeader.xml and
// finishes the zip. It does not close the underlying writer.
func (w *Writer) Close() error { return errors.New("TODO") }

// FormatValue renders a typed value as D365 expects it in CSV and Excel
// files: time.Time as "yyyy-MM-dd HH:mm:ss", decimal.Decimal and numbers
// with "." and no grouping, bool as "Yes"/"No", nil as "".
func FormatValue(v any) string { return "" }
