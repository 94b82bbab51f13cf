package dmf

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Limits bound what Open accepts, against zip bombs. The sizes are the
// ones the zip declares; archive/zip refuses an entry that inflates to
// more than it declares, so the bounds hold while reading too.
type Limits struct {
	// MaxTotalSize caps the sum of the entries' uncompressed sizes.
	MaxTotalSize int64
	// MaxRatio caps uncompressed/compressed size of any entry larger
	// than RatioFloor bytes. Real packages stay far below it.
	MaxRatio int64
	// RatioFloor is the uncompressed size under which MaxRatio is not
	// applied (tiny files of repeated characters compress very well).
	RatioFloor int64
	// MaxEntries caps the number of entries.
	MaxEntries int
}

// DefaultLimits are the bounds of Open: 16 GiB in all, a ratio of 400 for
// entries above 1 MiB, and 100,000 entries. A 1M-row CSV-Unicode entity of
// 212 mostly empty columns is about 1 GiB and compresses about 60:1.
var DefaultLimits = Limits{MaxTotalSize: 16 << 30, MaxRatio: 400, RatioFloor: 1 << 20, MaxEntries: 100_000}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultLimits.MaxTotalSize
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultLimits.MaxRatio
	}
	if l.RatioFloor <= 0 {
		l.RatioFloor = DefaultLimits.RatioFloor
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	return l
}

// checkEntries refuses a hostile zip: names that escape the folder it is
// unpacked into, duplicate names (compared as D365 and Windows do:
// regardless of case and slash), and zip bombs.
func checkEntries(files []*zip.File, l Limits) error {
	if len(files) > l.MaxEntries {
		return fmt.Errorf("the zip has %d entries, more than the %d a data package may hold; refusing it", len(files), l.MaxEntries)
	}
	seen := make(map[string]string, len(files))
	var total uint64
	for _, f := range files {
		if !isLocal(f.Name) {
			return fmt.Errorf("entry %q points outside the package (zip-slip or absolute path); refusing it", f.Name)
		}
		k := strings.ToLower(path.Clean(strings.ReplaceAll(f.Name, `\`, "/")))
		if first, dup := seen[k]; dup {
			return fmt.Errorf("entries %q and %q have the same name; a package must hold each file once, refusing it", first, f.Name)
		}
		seen[k] = f.Name
		size := f.UncompressedSize64
		total += size
		if total > uint64(l.MaxTotalSize) || size > uint64(l.MaxTotalSize) {
			return fmt.Errorf("the entries inflate to more than %d MiB (at %q); refusing a possible zip bomb (raise dmf.Limits.MaxTotalSize for larger packages)", l.MaxTotalSize>>20, f.Name)
		}
		if size > uint64(l.RatioFloor) {
			c := max(f.CompressedSize64, 1)
			if size/c > uint64(l.MaxRatio) {
				return fmt.Errorf("entry %q inflates %d times (%d bytes to %d), more than the %d a data file does; refusing a possible zip bomb", f.Name, size/c, f.CompressedSize64, size, l.MaxRatio)
			}
		}
	}
	return nil
}

// D365 error codes of the faults Check finds (see Microsoft's "Data
// management error descriptions").
const (
	CodeNoMappedColumn = "DMF1966" // the file holds none of the mapped columns
	CodeExtraColumn    = "DMF2022" // a file column is not in the mapping
	CodeMissingColumn  = "DMF2025" // a mapped column is not in the file
	CodeUnicodeInASCII = "DMF1957" // Unicode data in a non-Unicode format
	CodeWrongFileType  = "DMF1855" // the file type does not match the format
)

// Problem is something D365 would find wrong with a package, found by
// Check.
type Problem struct {
	Entity  string // the entity's label; "" for the package as a whole
	File    string // the entry concerned, if any
	Code    string // the D365 error code for the same fault, or ""
	Warning bool   // D365 imports the package anyway, but maybe not as meant
	Message string // what is wrong and what to do
}

// Error renders the problem as one line: where, the code, the message.
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Entity != "":
		fmt.Fprintf(&b, "%s (entity %q): ", p.File, p.Entity)
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Entity != "":
		fmt.Fprintf(&b, "entity %q: ", p.Entity)
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Code != "" {
		b.WriteString(p.Code + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Check compares the manifest with the data files, as D365 does when it
// imports the package, and returns what does not agree: an InputFilePath
// with no entry in the zip (a warning: D365 leaves the files of empty
// entities out of exports), two entities sharing a data file, a data file
// of another type than the SourceFormat (DMF1855), a CSV file in UTF-16
// under the non-Unicode format "CSV" (D365 fails with "Selected file is
// Unicode"), or in UTF-8 under "CSV-Unicode", non-ASCII text under "CSV"
// (DMF1957), a column in the file that the entity map lacks (DMF2022), a
// mapped column missing from the file (DMF2025, or DMF1966 when none is
// there), and entries that no entity uses (a warning). CSV data files are
// read through once; XML files up to their first row; EXCEL files their
// header row. The error is for a package that can't be read at all.
func (p *Package) Check() ([]Problem, error) {
	var probs []Problem
	used := map[*zip.File]string{}
	for i, e := range p.Entities {
		add := func(file, code string, warning bool, format string, args ...any) {
			probs = append(probs, Problem{Entity: e.Name, File: file, Code: code, Warning: warning, Message: fmt.Sprintf(format, args...)})
		}
		f := p.data[i]
		switch {
		case e.InputFilePath == "":
			add("", "", true, "the manifest gives no InputFilePath, so the entity has no data in the package")
			continue
		case f == nil:
			add(e.InputFilePath, "", true, "InputFilePath %q has no entry in the zip, so the entity is imported with no rows; add the file or remove the entity from the manifest", e.InputFilePath)
			continue
		}
		if other, dup := used[f]; dup {
			add(f.Name, "", false, "entity %q uses the same data file; give each entity its own file", other)
			continue
		}
		used[f] = e.Name
		head, err := p.checkData(i, f, e, add)
		if err != nil {
			return probs, fmt.Errorf("dmf: %s: %s: %w", p.name, f.Name, err)
		}
		if head != nil && len(e.Columns) > 0 {
			checkColumns(f.Name, e, head, add)
		}
	}
	for _, f := range p.zr.File {
		if _, ok := used[f]; ok || strings.HasSuffix(f.Name, "/") {
			continue
		}
		base := strings.ToLower(path.Base(strings.ReplaceAll(f.Name, `\`, "/")))
		if base == strings.ToLower(ManifestName) || base == strings.ToLower(PackageHeaderName) {
			continue
		}
		probs = append(probs, Problem{File: f.Name, Warning: true, Message: "no entity of the manifest uses this file, so D365 ignores it"})
	}
	return probs, nil
}

// checkData checks a data file's type and encoding against the entity's
// source format and returns its column names (nil when they can't be
// told).
func (p *Package) checkData(i int, f *zip.File, e ManifestEntity, add func(file, code string, warning bool, format string, args ...any)) ([]string, error) {
	ext := strings.ToLower(path.Ext(f.Name))
	format := strings.ToUpper(e.SourceFormat)
	kind := dataKind(e)
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	start, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, err
	}
	isZip := bytes.HasPrefix(start, []byte("PK\x03\x04"))
	switch {
	case kind == ".xlsx" && !isZip:
		add(f.Name, CodeWrongFileType, false, "SourceFormat is %s but the file is not an Excel workbook; export it as .xlsx or change the SourceFormat", e.SourceFormat)
		return nil, nil
	case kind != ".xlsx" && kind != "" && isZip:
		add(f.Name, CodeWrongFileType, false, "the file is an Excel workbook but SourceFormat is %s; set SourceFormat to EXCEL or save the sheet as CSV", e.SourceFormat)
		return nil, nil
	case kind != "" && ext != kind && !(kind == ".csv" && ext == ".txt"):
		add(f.Name, CodeWrongFileType, true, "SourceFormat %s expects a %s file, but the file ends in %q", e.SourceFormat, kind, ext)
	}
	switch kind {
	case ".csv":
		return checkCSV(f.Name, format, e, br, add)
	case ".xml":
		return nil, checkXMLColumns(f.Name, e, br, add)
	case ".xlsx":
		er, err := p.Open(i)
		if err != nil {
			add(f.Name, "", false, "%v", err)
			return nil, nil
		}
		defer er.Close()
		return er.Header(), nil
	}
	return nil, nil
}

func checkCSV(file, format string, e ManifestEntity, br *bufio.Reader, add func(file, code string, warning bool, format string, args ...any)) ([]string, error) {
	tr, utf16, err := textReader(br)
	if err != nil {
		return nil, err
	}
	switch {
	case format == CSV && utf16:
		add(file, CodeWrongFileType, false, `the file is UTF-16 (Unicode) but SourceFormat is CSV, so D365 fails with "Selected file is Unicode"; set SourceFormat to CSV-Unicode`)
	case format == strings.ToUpper(CSVUnicode) && !utf16:
		add(file, CodeWrongFileType, false, "SourceFormat is CSV-Unicode, which D365 reads as UTF-16, but the file is UTF-8; save it as UTF-16 LE with BOM (\"Unicode\") or set SourceFormat to CSV")
	}
	text := bufio.NewReaderSize(tr, 64<<10)
	head, err := readCSVHeader(text)
	if err != nil {
		add(file, "", false, "the header row can't be read: %v", err)
		return nil, nil
	}
	if format == CSV && !utf16 {
		// The rest of the file: non-ASCII text under a non-Unicode format.
		line := 2
		bad := 0
		for {
			c, err := text.ReadByte()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if c == '\n' {
				line++
			}
			if c >= 0x80 && bad == 0 {
				bad = line
			}
		}
		if bad > 0 {
			add(file, CodeUnicodeInASCII, true, "line %d holds characters beyond ASCII, which the non-Unicode format CSV may not carry (D365 reads it with the format's code page); set SourceFormat to CSV-Unicode", bad)
		}
	}
	return head, nil
}

// readCSVHeader reads the first record of r (a quoted header name may
// hold a comma), leaving r at the next line.
func readCSVHeader(r *bufio.Reader) ([]string, error) {
	cr := csv.NewReader(r) // reads r line by line: nothing past the header
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty")
	}
	return head, err
}

// checkXMLColumns reads the first row element of an XML data file and
// reports attributes or child elements the map lacks.
func checkXMLColumns(file string, e ManifestEntity, br *bufio.Reader, add func(file, code string, warning bool, format string, args ...any)) error {
	tr, utf16, err := textReader(br)
	if err != nil {
		return err
	}
	d := xml.NewDecoder(tr)
	d.CharsetReader = charsetReader(utf16)
	mapped := map[string]bool{}
	for _, c := range e.Columns {
		mapped[strings.ToUpper(c)] = true
	}
	var extra []string
	note := func(name string) {
		if len(mapped) > 0 && !mapped[strings.ToUpper(name)] && !containsFold(extra, name) {
			extra = append(extra, name)
		}
	}
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err != io.EOF {
				add(file, "", false, "the file is not well-formed XML: %v", err)
			}
			break
		}
		if s, ok := tok.(xml.StartElement); ok {
			depth++
			switch depth {
			case 2:
				for _, a := range s.Attr {
					if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
						note(a.Name.Local)
					}
				}
			case 3:
				note(s.Name.Local)
			}
		} else if _, ok := tok.(xml.EndElement); ok {
			depth--
			if depth == 1 {
				break // the end of the first row
			}
		}
	}
	if len(extra) > 0 {
		add(file, CodeExtraColumn, false, "field %s of the first row is not in the entity map; D365 stops with %s (ElementNotFoundInCollection): add it to the mapping or remove it from the file", strings.Join(quoteNames(extra), ", "), CodeExtraColumn)
	}
	return nil
}

// checkColumns compares a data file's header with the entity map.
func checkColumns(file string, e ManifestEntity, head []string, add func(file, code string, warning bool, format string, args ...any)) {
	var extra, missing []string
	found := 0
	for _, h := range head {
		if containsFold(e.Columns, strings.TrimSpace(h)) {
			found++
		} else {
			extra = append(extra, h)
		}
	}
	for _, c := range e.Columns {
		if !containsFold(head, c) {
			missing = append(missing, c)
		}
	}
	if found == 0 {
		add(file, CodeNoMappedColumn, false, "the file holds none of the %d mapped columns (its header is %s); D365 stops with %s: check that the file belongs to this entity and has its header row", len(e.Columns), strings.Join(quoteNames(head), ", "), CodeNoMappedColumn)
		return
	}
	if len(extra) > 0 {
		add(file, CodeExtraColumn, false, "column %s is in the file but not in the entity map; D365 stops with %s (ElementNotFoundInCollection): add it to the mapping or remove it from the file", strings.Join(quoteNames(extra), ", "), CodeExtraColumn)
	}
	if len(missing) > 0 {
		add(file, CodeMissingColumn, false, "mapped column %s is not in the file; D365 stops with %s (InvalidColumnErrorCode): add the column to the file or remove it from the mapping", strings.Join(quoteNames(missing), ", "), CodeMissingColumn)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

func quoteNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}
