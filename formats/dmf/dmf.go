// Package dmf writes and reads Dynamics 365 Finance & Operations data
// packages: a flat zip of Manifest.xml, PackageHeader.xml and one data file
// per entity. See shared/docs/dmf-format.md.
//
// A Writer streams: each entity's rows are encoded as the final data-file
// bytes while Write is called (spooled to a temporary file when the package
// has more than one entity), so memory stays flat however many rows are
// written. Open reads a package, D365-made or ours, and streams each
// entity's data file as records through the formats.Reader interface.
package dmf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Source formats D365 ships with.
const (
	CSVUnicode   = "CSV-Unicode" // UTF-16 LE with BOM, CRLF (the default)
	CSV          = "CSV"         // UTF-8
	XMLElement   = "XML-Element"
	XMLAttribute = "XML-Attribute"
	Excel        = "EXCEL"
)

// sourceFormats lists the formats this package writes and reads, in the
// order error messages name them.
var sourceFormats = []string{CSVUnicode, CSV, XMLElement, XMLAttribute, Excel}

// Names of the two package files at the root of the zip.
const (
	ManifestName      = "Manifest.xml"
	PackageHeaderName = "PackageHeader.xml"
)

// Entity describes one entity of a package.
type Entity struct {
	Name          string   // label as shown in D365, e.g. "Customers V3"
	Target        string   // AOT name, e.g. "CustCustomerV3Entity"; required for XML formats
	Columns       []string // staging field names, in file order
	SourceFormat  string   // one of the constants above; "" means CSVUnicode
	ExecutionUnit int      // 0 means 1
	Level         int      // LevelInExecutionUnit; 0 means 1
	Sequence      int      // SequenceInLevel; 0 means 1
}

// Options configure a Writer.
type Options struct {
	DefinitionGroup string // data project name; also the header's Description; required
	Description     string // manifest Description; "" means DefinitionGroup
	TempDir         string // where entity data is spooled; "" means os.TempDir()
	// Modified is the time stamped on the zip entries; the zero value
	// means the time NewWriter is called. Set it to make packages
	// byte-for-byte reproducible.
	Modified time.Time
}

// normalized returns e with the defaults filled in.
func (e Entity) normalized() Entity {
	if e.SourceFormat == "" {
		e.SourceFormat = CSVUnicode
	}
	if e.ExecutionUnit == 0 {
		e.ExecutionUnit = 1
	}
	if e.Level == 0 {
		e.Level = 1
	}
	if e.Sequence == 0 {
		e.Sequence = 1
	}
	return e
}

// formatExt maps a source format to its data file extension.
func formatExt(format string) (string, bool) {
	switch format {
	case CSVUnicode, CSV:
		return ".csv", true
	case XMLElement, XMLAttribute:
		return ".xml", true
	case Excel:
		return ".xlsx", true
	}
	return "", false
}

// DataFileName returns the name of e's data file in the package, as D365
// makes it: the label with the characters \ / : * ? " < > | (and control
// characters) removed, plus .csv, .xml or .xlsx after the source format.
// It returns "" when the format is unknown or nothing is left of the label.
func DataFileName(e Entity) string {
	e = e.normalized()
	ext, ok := formatExt(e.SourceFormat)
	if !ok {
		return ""
	}
	base := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`\/:*?"<>|`, r) {
			return -1
		}
		return r
	}, e.Name)
	if strings.TrimSpace(base) == "" {
		return ""
	}
	return base + ext
}

// maxSheetName is how many characters D365 keeps of a label in a sheet
// name (Excel allows 31).
const maxSheetName = 30

// SheetName returns the worksheet name D365 gives an entity's Excel file:
// the label with spaces and / replaced by _, cut to 30 characters. The
// other characters Excel forbids in sheet names (\ : ? * [ ]) and a
// leading or trailing apostrophe are replaced by _ as well (D365's rule for
// them is not known). The manifest's ExcelSheetName is this name plus "$".
func SheetName(label string) string {
	r := []rune(strings.Map(func(r rune) rune {
		if r == ' ' || strings.ContainsRune(`/\:?*[]`, r) {
			return '_'
		}
		return r
	}, label))
	if len(r) > maxSheetName {
		r = r[:maxSheetName]
	}
	if len(r) > 0 && r[0] == '\'' {
		r[0] = '_'
	}
	if len(r) > 0 && r[len(r)-1] == '\'' {
		r[len(r)-1] = '_'
	}
	return string(r)
}

// validate checks the entities of a package and returns every problem
// found, joined.
func validate(opts Options, entities []Entity) error {
	var errs []error
	if strings.TrimSpace(opts.DefinitionGroup) == "" {
		errs = append(errs, errors.New("dmf: Options.DefinitionGroup is empty; set it to the data project name"))
	}
	for _, s := range []struct{ what, v string }{{"DefinitionGroup", opts.DefinitionGroup}, {"Description", opts.Description}} {
		if err := checkXMLText(s.v); err != nil {
			errs = append(errs, fmt.Errorf("dmf: Options.%s: %w", s.what, err))
		}
	}
	if len(entities) == 0 {
		errs = append(errs, errors.New("dmf: a package needs at least one entity"))
	}
	files := make(map[string]int)  // lower-cased data file name → entity index
	labels := make(map[string]int) // lower-cased label → entity index
	for i, e := range entities {
		e = e.normalized()
		where := fmt.Sprintf("dmf: entity %d (%q)", i+1, e.Name)
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf(where+": "+format, args...))
		}
		if strings.TrimSpace(e.Name) == "" {
			bad("Name is empty; set it to the entity label shown in D365, e.g. \"Customers V3\"")
		} else if err := checkXMLText(e.Name); err != nil {
			bad("Name: %v", err)
		} else if first, dup := labels[strings.ToLower(e.Name)]; dup {
			bad("entity %d has the same label; D365 refuses a package that holds an entity twice", first+1)
		} else {
			labels[strings.ToLower(e.Name)] = i
		}
		if err := checkXMLText(e.Target); err != nil {
			bad("Target: %v", err)
		}
		if _, ok := formatExt(e.SourceFormat); !ok {
			bad("unknown SourceFormat %q; use one of %s", e.SourceFormat, strings.Join(sourceFormats, ", "))
		}
		if e.ExecutionUnit < 0 || e.Level < 0 || e.Sequence < 0 {
			bad("ExecutionUnit, Level and Sequence must not be negative")
		}
		isXML := e.SourceFormat == XMLElement || e.SourceFormat == XMLAttribute
		if isXML {
			if e.Target == "" {
				bad("Target is empty; %s rows are named after the AOT entity name, e.g. \"CustCustomerV3Entity\"", e.SourceFormat)
			} else if !isXMLName(strings.ToUpper(e.Target)) {
				bad("Target %q is not usable as an XML element name", e.Target)
			}
		}
		if len(e.Columns) == 0 {
			bad("Columns is empty; list the staging field names of the entity")
		}
		seen := make(map[string]int)
		for j, c := range e.Columns {
			switch {
			case strings.TrimSpace(c) == "":
				bad("column %d has no name", j+1)
				continue
			case checkXMLText(c) != nil:
				bad("column %d (%q): %v", j+1, c, checkXMLText(c))
				continue
			case isXML && !isXMLName(c):
				bad("column %q is not usable as an XML name in %s", c, e.SourceFormat)
			}
			k := strings.ToUpper(c)
			if first, dup := seen[k]; dup {
				bad("column %q appears twice (columns %d and %d)", c, first+1, j+1)
			} else {
				seen[k] = j
			}
		}
		name := DataFileName(e)
		if name == "" {
			if _, ok := formatExt(e.SourceFormat); ok && strings.TrimSpace(e.Name) != "" {
				bad("nothing is left of the label for a file name once \\ / : * ? \" < > | are removed")
			}
			continue
		}
		k := strings.ToLower(name)
		if k == strings.ToLower(ManifestName) || k == strings.ToLower(PackageHeaderName) {
			bad("its data file would be named %q, which is reserved for the package; change the label or the format", name)
		} else if first, dup := files[k]; dup {
			bad("its data file %q has the same name as the one of entity %d (%q); labels must differ", name, first+1, entities[first].Name)
		} else {
			files[k] = i
		}
	}
	return errors.Join(errs...)
}

// FormatValue renders a typed value as D365 expects it in CSV and Excel
// files: time.Time as "yyyy-MM-dd HH:mm:ss" (in the time's own location:
// convert UTC datetime fields first), decimal.Decimal as plain digits with
// "." and no exponent, keeping its scale (750000.50 stays 750000.50),
// integers in decimal, bool as "Yes"/"No", string as is, nil as "". Other
// types use their String method or fmt.Sprint.
func FormatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time:
		return v.Format(time.DateTime)
	case decimal.Decimal:
		// Keep the scale the amount came with: 750000.50 stays 750000.50.
		if e := v.Exponent(); e < 0 {
			return v.StringFixed(-e)
		}
		return v.String()
	case bool:
		if v {
			return "Yes"
		}
		return "No"
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// checkXMLText reports the first character of s that XML 1.0 cannot
// carry, or invalid UTF-8.
func checkXMLText(s string) error {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("byte %d is not valid UTF-8; save the source as UTF-8", i+1)
		}
		if !isXMLChar(r) {
			return fmt.Errorf("character %U at byte %d is not allowed in XML; remove it", r, i+1)
		}
		i += size
	}
	return nil
}

// isXMLChar reports whether r is a Char of XML 1.0.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// isXMLName reports whether s is an XML name without a prefix, usable as an
// element or attribute name.
func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' ||
			r >= 0xC0 && r <= 0x2FF && r != 0xD7 && r != 0xF7 ||
			r >= 0x370 && r <= 0x1FFF && r != 0x37E ||
			r >= 0x200C && r <= 0x200D || r >= 0x2070 && r <= 0x218F ||
			r >= 0x2C00 && r <= 0x2FEF || r >= 0x3001 && r <= 0xD7FF ||
			r >= 0xF900 && r <= 0xFDCF || r >= 0xFDF0 && r <= 0xFFFD ||
			r >= 0x10000 && r <= 0xEFFFF:
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9' || r == 0xB7 ||
			r >= 0x300 && r <= 0x36F || r == 0x203F || r == 0x2040):
		default:
			return false
		}
	}
	return true
}
