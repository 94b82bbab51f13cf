package dmf

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/erpipe/erpipe/formats"
	"github.com/klauspost/compress/flate"
)

// ErrNoManifest is returned by Open for a zip without Manifest.xml: it is
// not a data package.
var ErrNoManifest = errors.New("the zip has no Manifest.xml, so it is not a D365 data package; export the data project as a package or add the manifest")

// ErrNoDataFile is returned by Package.Open for an entity the manifest
// lists but whose data file is not in the zip. D365 leaves the files of
// empty entities out of exports, so this is common; see Package.HasData.
var ErrNoDataFile = errors.New("the package has no data file for this entity")

// Package is an open data package. Its fields describe the package; Open
// streams an entity's rows. Close it when done.
type Package struct {
	Header              Header           // from PackageHeader.xml; zero if the file is missing
	DefinitionGroupName string           // the data project, from Manifest.xml
	Description         string           // from Manifest.xml
	Entities            []ManifestEntity // in manifest order
	// TempDir is where Open copies EXCEL data files to read them; ""
	// means os.TempDir().
	TempDir string

	zr     *zip.Reader
	closer io.Closer   // the file Open opened, or nil
	name   string      // base name of the zip, for positions
	data   []*zip.File // by entity; nil when missing
}

// Open opens the data package at path with DefaultLimits and reads its
// Manifest.xml and PackageHeader.xml. Both are found by name regardless of case, at the root
// of the zip (or, failing that, in a single folder), in UTF-8 or UTF-16
// with or without a byte order mark, with their elements in any order and
// any whitespace, in the DataManagement namespace or none. A hostile zip is
// refused: entry names that reach outside the package (zip-slip, absolute
// paths, drive letters), two entries with the same name, and zip bombs
// (see Limits). Check reports what D365 would find wrong with the package.
func Open(path string) (*Package, error) { return OpenWithLimits(path, DefaultLimits) }

// OpenWithLimits is Open with other bounds against zip bombs.
func OpenWithLimits(path string, limits Limits) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dmf: %s is not a readable zip: %w", filepath.Base(path), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dmf: %s is not a readable zip: %w", filepath.Base(path), err)
	}
	p, err := OpenReaderWithLimits(f, fi.Size(), filepath.Base(path), limits)
	if err != nil {
		f.Close()
		return nil, err
	}
	p.closer = f
	return p, nil
}

// OpenReader is Open for a package of size bytes read from r; name (the
// package's base name) is used in positions and messages.
func OpenReader(r io.ReaderAt, size int64, name string) (*Package, error) {
	return OpenReaderWithLimits(r, size, name, DefaultLimits)
}

// OpenReaderWithLimits is OpenReader with other bounds against zip bombs.
func OpenReaderWithLimits(r io.ReaderAt, size int64, name string, limits Limits) (*Package, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("dmf: %s is not a readable zip: %w", name, err)
	}
	if err := checkEntries(zr.File, limits.withDefaults()); err != nil {
		return nil, fmt.Errorf("dmf: %s: %w", name, err)
	}
	p := &Package{zr: zr, name: name}
	if err := p.load(); err != nil {
		return nil, fmt.Errorf("dmf: %s: %w", p.name, err)
	}
	return p, nil
}

func (p *Package) load() error {
	p.zr.RegisterDecompressor(zip.Deflate, flate.NewReader)
	mf := p.find(ManifestName)
	if mf == nil {
		return ErrNoManifest
	}
	var xm xmlManifest
	if err := p.decode(mf, "DataManagementPackageManifest", &xm); err != nil {
		return err
	}
	p.DefinitionGroupName = strings.TrimSpace(xm.DefinitionGroupName)
	p.Description = strings.TrimSpace(xm.Description)
	var err error
	if p.Entities, err = parseEntities(&xm); err != nil {
		return err
	}
	if hf := p.find(PackageHeaderName); hf != nil {
		var xh xmlHeader
		if err := p.decode(hf, "DataManagementPackageHeader", &xh); err != nil {
			return err
		}
		if p.Header, err = parseHeader(&xh); err != nil {
			return err
		}
	}
	p.data = make([]*zip.File, len(p.Entities))
	for i, e := range p.Entities {
		if e.InputFilePath != "" {
			p.data[i] = p.find(e.InputFilePath)
		}
	}
	return nil
}

func (p *Package) decode(f *zip.File, root string, v any) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	return decodeDoc(rc, f.Name, root, v)
}

// isLocal reports whether a zip entry name stays inside the package on
// every system: relative, no "..", no drive letter, either slash.
func isLocal(name string) bool {
	n := strings.ReplaceAll(name, `\`, "/")
	if len(n) >= 2 && n[1] == ':' {
		return false
	}
	return filepath.IsLocal(n) && !strings.HasPrefix(n, "/")
}

// find returns the entry named name (case-insensitively, either slash), or
// else the only entry of that base name in the package.
func (p *Package) find(name string) *zip.File {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, `\`, "/")) }
	want := norm(name)
	for _, f := range p.zr.File {
		if norm(f.Name) == want {
			return f
		}
	}
	base := path.Base(want)
	var found *zip.File
	for _, f := range p.zr.File {
		if !strings.HasSuffix(f.Name, "/") && path.Base(norm(f.Name)) == base {
			if found != nil {
				return nil
			}
			found = f
		}
	}
	return found
}

// HasData reports whether the package holds the data file of entity i.
func (p *Package) HasData(i int) bool { return p.data[i] != nil }

// DataFile returns entity i's data file as the package holds it (bytes
// unchanged), and its name in the zip. For an entity without a data file
// the error wraps ErrNoDataFile. The sizes were checked when the package
// was opened (Limits).
func (p *Package) DataFile(i int) (io.ReadCloser, string, error) {
	if i < 0 || i >= len(p.Entities) {
		return nil, "", fmt.Errorf("dmf: %s: entity index %d is out of range; the package has %d entities", p.name, i, len(p.Entities))
	}
	f := p.data[i]
	if f == nil {
		return nil, "", fmt.Errorf("dmf: %s: entity %q (%s): %w", p.name, p.Entities[i].Name, p.Entities[i].InputFilePath, ErrNoDataFile)
	}
	r, err := f.Open()
	return r, path.Base(strings.ReplaceAll(f.Name, `\`, "/")), err
}

// Close closes the package file, when Open opened it. Entity readers must
// be closed first.
func (p *Package) Close() error {
	if p.closer == nil {
		return nil
	}
	c := p.closer
	p.closer = nil
	return c.Close()
}

// Open returns a reader of entity i's rows, from the data file named by its
// InputFilePath. CSV files may be UTF-8 or UTF-16 (the byte order mark is
// sniffed) with CRLF or LF; XML files may hold the columns as attributes or
// child elements of each row element; for EXCEL the sheet named by
// ExcelSheetName is read, or the first sheet. The header is the file's
// header row, or for XML the manifest's columns. For an entity without a
// data file the error wraps ErrNoDataFile. Close the reader when done.
func (p *Package) Open(i int) (*EntityReader, error) {
	if i < 0 || i >= len(p.Entities) {
		return nil, fmt.Errorf("dmf: %s: entity index %d is out of range; the package has %d entities", p.name, i, len(p.Entities))
	}
	e := p.Entities[i]
	f := p.data[i]
	if f == nil {
		return nil, fmt.Errorf("dmf: %s: entity %q (%s): %w", p.name, e.Name, e.InputFilePath, ErrNoDataFile)
	}
	file := p.name + "/" + f.Name
	var (
		src source
		err error
	)
	switch kind := dataKind(e); kind {
	case ".csv":
		src, err = openCSV(f, file)
	case ".xml":
		src, err = openXML(f, file, e)
	case ".xlsx":
		src, err = openExcel(f, file, e, p.TempDir)
	default:
		err = fmt.Errorf("unknown SourceFormat %q and file type; dmf reads CSV, XML and EXCEL data files", e.SourceFormat)
	}
	if err != nil {
		var pe *formats.ParseError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, &formats.ParseError{Pos: formats.Pos{File: file}, Err: err}
	}
	return &EntityReader{src: src}, nil
}

// dataKind tells how to read an entity's data file: by its source format,
// or by the file's extension for formats customers defined themselves.
func dataKind(e ManifestEntity) string {
	switch strings.ToUpper(e.SourceFormat) {
	case strings.ToUpper(CSVUnicode), CSV:
		return ".csv"
	case strings.ToUpper(XMLElement), strings.ToUpper(XMLAttribute):
		return ".xml"
	case Excel:
		return ".xlsx"
	}
	switch ext := strings.ToLower(path.Ext(e.InputFilePath)); ext {
	case ".csv", ".txt":
		return ".csv"
	case ".xml", ".xlsx":
		return ext
	}
	return ""
}

// source is one kind of data file reader.
type source interface {
	header() []string
	read() (formats.Record, error)
	fieldPos(i int) formats.Pos
	close() error
}

// EntityReader reads the rows of one entity's data file. See
// formats.Reader. It is not safe for concurrent use.
type EntityReader struct {
	src source
}

var _ formats.Reader = (*EntityReader)(nil)

// Header returns the column names, in the order of Record.Fields.
func (r *EntityReader) Header() []string { return r.src.header() }

// Read returns the next row, or io.EOF after the last one. Every record
// has exactly len(Header()) fields. A malformed row gives a
// *formats.ParseError; reading may go on after it when the file's
// structure allows (CSV field counts, unknown XML fields).
func (r *EntityReader) Read() (formats.Record, error) { return r.src.read() }

// FieldPos returns the position of field i of the record last returned by
// Read: the line (CSV, XML) or sheet row (EXCEL), and Col = i+1.
func (r *EntityReader) FieldPos(i int) formats.Pos { return r.src.fieldPos(i) }

// Close releases the data file and any temporary copy of it.
func (r *EntityReader) Close() error { return r.src.close() }

// copyToTemp copies a zip entry into a new temporary file, checking its
// checksum, and returns the file's path.
func copyToTemp(f *zip.File, dir, pattern string) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(tmp, rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
