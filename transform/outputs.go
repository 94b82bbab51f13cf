package transform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/internal/filename"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/layout"
	"github.com/erpipe/erpipe/transform/template"
)

// A run writes its output files under temporary names in the output
// folder and gives them their final names only once every file is
// complete and, for an XML document, valid (commit); on any failure they
// are removed (abort). The writers are the formats' (CSV, DMF) and the
// layouts' (XLSX, XML).

// outputs are the files a run writes, under temporary names until commit.
type outputs struct {
	tmp, final []string
	files      []*os.File
	bufs       []*bufio.Writer
	csvw       *csv.Writer
	xlsxw      *layout.XLSXWriter
	dmfw       *dmf.Writer
	fixedw     *layout.FixedRun // output.fixed_width
	xmlw       *layout.XMLRun
	filled     layout.Filled // output.workbook or output.document: xmlw renders its layout (filled.go)
}

// createOutputs opens the output file(s) in outDir. modified stamps the
// entries of zip outputs: the input's modification time, so that running
// the same input again makes the same bytes (a job resumed after a crash
// then delivers an identical, idempotent result).
func (t *Template) createOutputs(inputBase, outDir string, modified time.Time, id string) (*outputs, error) {
	ext := filepath.Ext(inputBase)
	name := strings.TrimSuffix(inputBase, ext)
	var ev expression.Evaluator
	env := map[string]any{}
	for k, v := range t.params {
		env[k] = v
	}
	env["input"] = fileNameInput{Name: name, Ext: ext}
	env["template"] = fileNameTemplate{Name: t.Name, Version: t.Version}
	v, err := ev.Eval(t.output.fileName, env)
	pos := formats.Pos{File: inputBase}
	if err != nil {
		return nil, t.fileError(pos, fmt.Errorf("output.file_name: %w", err), "check the template's output.file_name")
	}
	fileName := expression.Text(v)
	if fileName == "" || fileName == "." || fileName == ".." || strings.ContainsAny(fileName, `/\`+"\x00") {
		return nil, t.fileError(pos, fmt.Errorf("output.file_name gave %q, which is not a file name", fileName),
			"make output.file_name give a plain file name such as input.name + \".zip\"")
	}
	// A name from a long input name can be longer than a file system
	// takes, with what a destination may add (" (2)" for a second file of
	// the same name) or the workbook beside a CSV file: its stem is cut.
	fileName = filename.Shorten(fileName, filename.Max-16)
	o := &outputs{}
	final := filepath.Join(outDir, fileName)
	f, err := os.CreateTemp(outDir, filename.TempPattern(fileName))
	if err != nil {
		return nil, t.fileError(pos, fmt.Errorf("can't create the output: %w", err), "check that the output folder exists and can be written")
	}
	o.tmp, o.final, o.files = append(o.tmp, f.Name()), append(o.final, final), append(o.files, f)
	bw := bufio.NewWriterSize(f, 64<<10)
	o.bufs = append(o.bufs, bw)
	switch t.output.kind {
	case "csv":
		out := &t.output
		w, err := csv.NewWriter(bw, csv.WriterOptions{Comma: out.csvComma, Encoding: out.csvEncoding, CRLF: out.csvCRLF, EscapeFormulas: out.csvEscape})
		if err != nil {
			o.abort()
			return nil, err
		}
		o.csvw = w
		if out.csvHeader {
			if err := w.Write(out.csvNames()); err != nil {
				o.abort()
				return nil, err
			}
		}
		if out.xlsx != nil {
			if err := t.createXLSX(o, outDir, final); err != nil {
				o.abort()
				return nil, t.fileError(pos, err, "check the template's output.xlsx section")
			}
		}
	case "xlsx":
		if err := t.createXLSX(o, outDir, final); err != nil {
			o.abort()
			return nil, t.fileError(pos, err, "check the template's output.xlsx section")
		}
	case "dmf":
		ents := make([]dmf.Entity, len(t.output.dmfEntities))
		for i, e := range t.output.dmfEntities {
			ents[i] = e.entity
		}
		w, err := dmf.NewWriter(bw, dmf.Options{DefinitionGroup: t.output.dmfGroup, Description: t.output.dmfDescription, Modified: modified}, ents)
		if err != nil {
			o.abort()
			return nil, t.fileError(pos, err, "check the template's output.dmf section")
		}
		o.dmfw = w
	case "fixed_width":
		o.fixedw = t.output.fixed.NewRun(bw, t.xmlSource(inputBase, modified, id))
	case "json": // rendered by its XML layout, then made JSON (layout/json.go)
		x, err := t.output.xml.NewRun(t.xmlSource(inputBase, modified, id))
		if err != nil {
			o.abort()
			return nil, t.fileError(pos, err, "check the template's output.json section")
		}
		o.xmlw, o.filled = x, t.output.filled
	case "xml", "workbook", "document":
		x, err := t.output.xml.NewRun(t.xmlSource(inputBase, modified, id))
		if err != nil {
			o.abort()
			return nil, t.fileError(pos, err, "check the template's output."+t.output.kind+" section")
		}
		o.xmlw = x
		o.filled = t.output.filled
	}
	return o, nil
}

func (o *outputs) write(pos formats.Pos, values [][]string) error {
	if values == nil {
		return nil
	}
	if o.fixedw != nil {
		return o.fixedw.Add(pos, values[0])
	}
	if o.xlsxw != nil {
		text, err := o.xlsxw.Write(pos, values[0])
		if err != nil || o.csvw == nil {
			return err
		}
		return o.csvw.Write(text)
	}
	if o.csvw != nil {
		return o.csvw.Write(values[0])
	}
	if o.xmlw != nil {
		return o.xmlw.Add(pos, values[0])
	}
	for i, v := range values {
		if err := o.dmfw.Write(i, v); err != nil {
			return &template.FieldError{Pos: pos, Severity: template.SeverityError, Err: err}
		}
	}
	return nil
}

// commit finishes the files and gives them their names. The warnings of
// a document's business rules go to res.
func (o *outputs) commit(ctx context.Context, res *Result) error {
	if o.filled != nil {
		return o.commitFilled(ctx) // filled.go
	}
	if o.xmlw != nil && o.xmlw.PerDocument() {
		return o.commitDocs(ctx, res) // one document per group
	}
	var err error
	if o.csvw != nil {
		err = o.csvw.Close()
	}
	if o.xlsxw != nil && err == nil {
		err = o.xlsxw.Finish()
	}
	if o.dmfw != nil {
		err = o.dmfw.Close()
	}
	if o.xmlw != nil {
		defer o.xmlw.Close()
		if err = o.xmlw.Render(o.bufs[0]); err != nil {
			var fe *template.FieldError
			if errors.As(err, &fe) {
				return err
			}
		}
	}
	if o.fixedw != nil {
		err = o.fixedw.Finish()
	}
	for i, f := range o.files {
		if err == nil {
			err = o.bufs[i].Flush()
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	o.files = nil
	if err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	if o.xmlw != nil {
		// An invalid document is never published.
		if err := o.xmlw.Verify(o.tmp[0]); err != nil {
			return err
		}
		if err := o.checkRules(ctx, res); err != nil {
			return err
		}
	}
	return o.publish()
}

// publish gives the written files their final names.
func (o *outputs) publish() error {
	for i, tmp := range o.tmp {
		if err := os.Rename(tmp, o.final[i]); err != nil {
			return fmt.Errorf("writing the output: %w", err)
		}
		o.tmp[i] = ""
	}
	return nil
}

// abort removes what was written.
func (o *outputs) abort() {
	if o.xlsxw != nil {
		o.xlsxw.Close()
	}
	if o.dmfw != nil {
		o.dmfw.Close() // releases its spool files
	}
	if o.xmlw != nil {
		o.xmlw.Close()
	}
	for _, f := range o.files {
		f.Close()
	}
	for _, tmp := range o.tmp {
		if tmp != "" {
			os.Remove(tmp)
		}
	}
}

// createXLSX opens the workbook of the outputs: into the output file for
// an xlsx-only output, else into a second file beside the CSV file.
func (t *Template) createXLSX(o *outputs, outDir, csvFinal string) error {
	if t.output.kind == "xlsx" {
		x, err := t.output.xlsx.Open(o.bufs[0], t.output.csvNames())
		o.xlsxw = x
		return err
	}
	final := filepath.Join(outDir, xlsxName(filepath.Base(csvFinal)))
	f, err := os.CreateTemp(outDir, filename.TempPattern(filepath.Base(final)))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	o.tmp, o.final, o.files, o.bufs = append(o.tmp, f.Name()), append(o.final, final), append(o.files, f), append(o.bufs, bw)
	x, err := t.output.xlsx.Open(bw, t.output.csvNames())
	o.xlsxw = x
	return err
}

// xlsxName is the name of the workbook written beside the CSV file name.
func xlsxName(csvName string) string {
	ext := filepath.Ext(csvName)
	if e := strings.ToLower(ext); e == ".csv" || e == ".txt" {
		return strings.TrimSuffix(csvName, ext) + ".xlsx"
	}
	return csvName + ".xlsx"
}

// csvNames returns the names of the output table's columns.
func (out *outputSpec) csvNames() []string {
	names := make([]string, len(out.csvColumns))
	for i, c := range out.csvColumns {
		names[i] = c.Name
	}
	return names
}

// withRejected adds to a document's failed check (err, a *FieldError) the
// rows the template left out, which are often why it fails: a document
// without the row its header comes from, a transaction without one of
// its lines.
func withRejected(err error, res *Result) error {
	var fe *template.FieldError
	if err == nil || res.Rejected == 0 || len(res.Errors) == 0 || !errors.As(err, &fe) {
		return err
	}
	fe.Hint = fmt.Sprintf("%s. %d rows were left out by the template's rules, which is often why; the first: %s", fe.Hint, res.Rejected, res.Errors[0].Error())
	return err
}

// commitDocs replaces commit for a layout with one document per group:
// the file output.file_name opened for the run is left unused.
func (o *outputs) commitDocs(ctx context.Context, res *Result) error {
	x := o.xmlw
	defer x.Close()
	outDir := filepath.Dir(o.final[0])
	for i, f := range o.files {
		f.Close()
		os.Remove(o.tmp[i])
	}
	o.files, o.tmp, o.final = nil, nil, nil
	tmps, finals, err := x.RenderDocs(outDir)
	o.tmp, o.final = tmps, finals
	if err == nil {
		err = o.checkRules(ctx, res)
	}
	if err != nil {
		return err
	}
	return o.publish()
}

// checkRules runs the XML layout's business rules over every document
// written, at once; their warnings go to res.
func (o *outputs) checkRules(ctx context.Context, res *Result) error {
	warnings, err := o.xmlw.CheckRules(ctx, o.tmp, o.final)
	for _, w := range warnings {
		res.addWarning(w)
	}
	return err
}

// BusinessRules reports whether the template's documents are checked by
// Schematron rules (output.xml.schematron), which need an XSLT 2.0
// processor.
func (t *Template) BusinessRules() bool {
	return t.output.xml != nil && t.output.xml.HasRules()
}

// xmlSource is what the XML document of a run over the input file
// inputBase is made from.
func (t *Template) xmlSource(inputBase string, modified time.Time, id string) layout.Source {
	cols := make(map[string]string, len(t.input.fields))
	for _, f := range t.input.fields {
		cols[f.Name] = f.Column
	}
	// A model field is blamed on the input column it is computed from.
	for _, m := range t.model {
		if m.input >= 0 {
			cols[m.name] = t.input.fields[m.input].Column
		}
	}
	return layout.Source{Template: t.Name, File: inputBase, Modified: modified, ID: id, Params: t.params, Columns: cols, Names: len(t.vars)}
}
