package dmf

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
)

// compressionLevel is the Deflate level of every zip entry.
const compressionLevel = 5

// maxExcelCell is the most UTF-16 code units an Excel cell holds.
const maxExcelCell = 32767

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("dmf: write to a closed package writer")

// Writer writes a package to an io.Writer, streaming: rows are spooled per
// entity on disk, never held in memory. With a single entity the rows go
// straight into the zip. Writer is not safe for concurrent use.
type Writer struct {
	zw      *zip.Writer
	opts    Options
	list    []ManifestEntity // manifest order
	order   []int            // list[k] is entity order[k]
	pos     []int            // entity i is list[pos[i]]
	encs    []encoder        // by entity index as given to NewWriter
	rows    []int            // data rows written, by entity index
	direct  bool             // the only entity streams into its zip entry
	err     error            // first write error; the package is broken
	closed  bool
	closeEr error
}

// NewWriter starts a package holding entities, after checking them: every
// problem found is returned, joined. The zip entries are Deflate-compressed
// at level 5 and named exactly DataFileName(entity), then Manifest.xml and
// PackageHeader.xml, with no folders. Call Close to finish the package.
func NewWriter(w io.Writer, opts Options, entities []Entity) (*Writer, error) {
	if err := validate(opts, entities); err != nil {
		return nil, err
	}
	if opts.Description == "" {
		opts.Description = opts.DefinitionGroup
	}
	if opts.Modified.IsZero() {
		opts.Modified = time.Now()
	}
	pw := &Writer{
		zw:   zip.NewWriter(w),
		opts: opts,
		encs: make([]encoder, len(entities)),
		rows: make([]int, len(entities)),
	}
	pw.zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, compressionLevel)
	})
	pw.list, pw.order = sortEntities(entities)
	pw.pos = make([]int, len(entities))
	for k, i := range pw.order {
		pw.pos[i] = k
	}
	pw.direct = len(entities) == 1
	for k, i := range pw.order {
		enc, err := pw.newEncoder(pw.list[k])
		if err != nil {
			pw.cleanup()
			return nil, fmt.Errorf("dmf: entity %d (%q): %w", i+1, entities[i].Name, err)
		}
		pw.encs[i] = enc
	}
	return pw, nil
}

func (w *Writer) newEncoder(e ManifestEntity) (encoder, error) {
	if e.SourceFormat == Excel {
		return newExcelEncoder(e, w.opts.TempDir)
	}
	var direct io.Writer
	if w.direct {
		var err error
		if direct, err = w.create(e.InputFilePath); err != nil {
			return nil, err
		}
	}
	sp, err := newSpool(w.opts.TempDir, direct)
	if err != nil {
		return nil, err
	}
	enc, err := newTextEncoder(e, sp)
	if err != nil {
		_ = sp.cleanup()
		return nil, err
	}
	return enc, nil
}

// create starts a zip entry.
func (w *Writer) create(name string) (io.Writer, error) {
	return w.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: w.opts.Modified})
}

// Write appends one row (values in Entity.Columns order) to entity i. The
// values must be valid UTF-8; for XML and EXCEL entities they must also hold
// only characters XML 1.0 allows (no control characters but tab, CR and
// LF), and for EXCEL at most 32,767 characters each. A row that breaks
// these rules is refused with an error naming the entity, the data row
// (1-based, header not counted) and the column, and nothing is written; the
// Writer stays usable. Any other error is final: the package is broken,
// Close cleans up and returns it.
func (w *Writer) Write(entity int, values []string) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if entity < 0 || entity >= len(w.encs) {
		return fmt.Errorf("dmf: entity index %d is out of range; the package has %d entities", entity, len(w.encs))
	}
	e := w.entity(entity)
	row := w.rows[entity] + 1
	if len(values) != len(e.Columns) {
		return fmt.Errorf("dmf: entity %q row %d: %d values for %d columns", e.Name, row, len(values), len(e.Columns))
	}
	for j, v := range values {
		if err := CheckValue(e.SourceFormat, v); err != nil {
			return fmt.Errorf("dmf: entity %q row %d column %d (%s): %w", e.Name, row, j+1, e.Columns[j], err)
		}
	}
	if err := w.encs[entity].row(values); err != nil {
		w.err = fmt.Errorf("dmf: entity %q row %d: %w", e.Name, row, err)
		return w.err
	}
	w.rows[entity] = row
	return nil
}

// entity returns the manifest entry of entity index i.
func (w *Writer) entity(i int) *ManifestEntity { return &w.list[w.pos[i]] }

// CheckValue checks that a value can be stored in a data file of the
// given source format (Write refuses the row otherwise): valid UTF-8, and
// for XML and Excel files only characters XML 1.0 allows, and for Excel at
// most the 32,767 UTF-16 units of a cell. A caller that wants to leave out
// one row instead of ending the package checks its values first.
func CheckValue(format, v string) error {
	switch format {
	case XMLElement, XMLAttribute, Excel:
		if err := checkXMLText(v); err != nil {
			return err
		}
		if format == Excel && len(v) > maxExcelCell && utf16Len(v) > maxExcelCell {
			return fmt.Errorf("%d characters are more than an Excel cell holds (%d); use CSV-Unicode", utf16Len(v), maxExcelCell)
		}
	default:
		if !utf8.ValidString(v) {
			return errors.New("the value is not valid UTF-8; save the source as UTF-8")
		}
	}
	return nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// Rows returns the number of data rows written so far to entity i, which
// must be a valid index.
func (w *Writer) Rows(i int) int { return w.rows[i] }

// Close writes the data files, Manifest.xml and PackageHeader.xml and
// finishes the zip. It does not close the underlying writer. Temporary
// files are removed whether or not it succeeds. After an error the bytes
// written are not a usable package. Closing again returns the first
// result.
func (w *Writer) Close() error {
	if w.closed {
		return w.closeEr
	}
	w.closed = true
	w.closeEr = w.finish()
	if err := w.cleanup(); err != nil && w.closeEr == nil {
		w.closeEr = fmt.Errorf("dmf: remove temporary files: %w", err)
	}
	return w.closeEr
}

func (w *Writer) finish() error {
	if w.err != nil {
		return w.err
	}
	for k, i := range w.order {
		e := w.list[k]
		var dst io.Writer = io.Discard // a direct text entity is in its entry already
		if !w.direct || e.SourceFormat == Excel {
			var err error
			if dst, err = w.create(e.InputFilePath); err != nil {
				return fmt.Errorf("dmf: %s: %w", e.InputFilePath, err)
			}
		}
		if err := w.encs[i].finish(dst); err != nil {
			return fmt.Errorf("dmf: write %s: %w", e.InputFilePath, err)
		}
		if err := w.encs[i].cleanup(); err != nil {
			return fmt.Errorf("dmf: remove temporary files of %s: %w", e.InputFilePath, err)
		}
	}
	for _, doc := range []struct{ name, text string }{
		{ManifestName, manifestXML(w.opts.DefinitionGroup, w.opts.Description, w.list)},
		{PackageHeaderName, headerXML(w.opts.DefinitionGroup)},
	} {
		b, err := utf16LE(doc.text)
		if err != nil {
			return fmt.Errorf("dmf: encode %s: %w", doc.name, err)
		}
		f, err := w.create(doc.name)
		if err != nil {
			return fmt.Errorf("dmf: %s: %w", doc.name, err)
		}
		if _, err := f.Write(b); err != nil {
			return fmt.Errorf("dmf: %s: %w", doc.name, err)
		}
	}
	if err := w.zw.Close(); err != nil {
		return fmt.Errorf("dmf: finish the zip: %w", err)
	}
	return nil
}

// cleanup releases every encoder's temporary files.
func (w *Writer) cleanup() error {
	var errs []error
	for _, enc := range w.encs {
		if enc != nil {
			errs = append(errs, enc.cleanup())
		}
	}
	return errors.Join(errs...)
}
