package transform

import (
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/internal/filename"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/layout"
	"github.com/erpipe/erpipe/transform/template"
)

// Inputs of more than one table.
//
// A workbook with a sheet per entity (input.sheets) feeds a DMF package
// of several entities: each sheet has its own fields and names the output
// entity its rows go to. Model fields, validations, the filter and checks
// belong to the sheet whose fields they use (using the fields of two
// sheets in one expression is an error), and run on that sheet's rows
// only. The sheets are read in turn into one package.
//
// A DMF data package (input.format: dmf) is unpacked (output.unpack):
// one CSV file per entity and one workbook with a sheet per entity.

// errMultiPreview is Preview's answer for templates of several tables.
var errMultiPreview = errors.New("preview shows one table; this template reads several (input.sheets or a DMF package), so run it instead")

// multiInput is the part of a template that reads several tables.
type multiInput struct {
	sheets []*sheetSpec
	subs   []*Template // per sheet: the template as it applies to the sheet's rows
	entity []int       // per sheet: the output entity it feeds
	unpack *unpackSpec
}

// sheetSpec is one item of input.sheets.
type sheetSpec struct {
	node       *yaml.Node
	sheet      string
	entity     string
	entityNode *yaml.Node
	headerRow  int
	fields     []*expression.InputField
}

// unpackSpec is output.unpack.
type unpackSpec struct {
	csv, xlsx bool
}

func (tl *templateLoader) multiSpec() *multiInput {
	if tl.t.multi == nil {
		tl.t.multi = &multiInput{}
	}
	return tl.t.multi
}

// fieldsOptional says whether input may leave out fields: when it lists
// sheets, or reads a DMF package.
func (tl *templateLoader) fieldsOptional(input *yaml.Node) bool {
	if tl.t.multi != nil && len(tl.t.multi.sheets) > 0 {
		return true
	}
	for i := 0; i+1 < len(input.Content); i += 2 {
		if input.Content[i].Value == "format" && input.Content[i+1].Value == template.FormatDMF {
			return true
		}
	}
	return false
}

// loadSheets reads input.sheets.
func (tl *templateLoader) loadSheets(n *yaml.Node) {
	m := tl.multiSpec()
	items := tl.List(n, "input.sheets")
	if len(items) == 0 && template.Resolve(n).Kind == yaml.SequenceNode {
		tl.Errorf(n, "input.sheets is empty; list the sheets to read")
	}
	seen := map[string]int{}
	for _, it := range items {
		s := &sheetSpec{node: it}
		var fieldsNode *yaml.Node
		ok := tl.Mapping(it, "sheet", map[string]template.KeyHandler{
			"sheet": func(_, v *yaml.Node) {
				s.sheet, _ = tl.NonEmpty(v, "sheet")
				if line, dup := seen[strings.ToLower(s.sheet)]; dup {
					tl.Errorf(v, "sheet %q is already read on line %d", s.sheet, line)
				}
				seen[strings.ToLower(s.sheet)] = v.Line
			},
			"entity":     func(_, v *yaml.Node) { s.entityNode = v; s.entity, _ = tl.NonEmpty(v, "entity") },
			"header_row": func(_, v *yaml.Node) { s.headerRow, _ = tl.Int(v, "header_row", 1, 1048576) },
			"fields":     func(_, v *yaml.Node) { fieldsNode = v },
		}, "sheet", "entity", "fields")
		if !ok || fieldsNode == nil {
			continue
		}
		for _, f := range tl.List(fieldsNode, "sheet fields") {
			if fd := tl.loadField(f); fd != nil {
				s.fields = append(s.fields, fd)
			}
		}
		m.sheets = append(m.sheets, s)
	}
}

// loadUnpack reads output.unpack.
func (tl *templateLoader) loadUnpack(n *yaml.Node) {
	u := &unpackSpec{csv: true, xlsx: true}
	tl.Mapping(n, "output.unpack", map[string]template.KeyHandler{
		"csv":  func(_, v *yaml.Node) { u.csv, _ = tl.Bool(v, "output.unpack.csv") },
		"xlsx": func(_, v *yaml.Node) { u.xlsx, _ = tl.Bool(v, "output.unpack.xlsx") },
	})
	if !u.csv && !u.xlsx {
		tl.Errorf(n, "output.unpack: csv and xlsx are both false, so nothing would be written")
	}
	tl.multiSpec().unpack = u
}

// finishMulti checks the multi-table parts once the whole template is
// loaded, and builds the per-sheet templates.
func (tl *templateLoader) finishMulti(input *yaml.Node) {
	t := tl.t
	m := t.multi
	if input == nil {
		return
	}
	if t.input.format == template.FormatDMF && (m == nil || m.unpack == nil) {
		tl.Errorf(input, "input: format dmf reads a whole data package; write it out with output.unpack")
		return
	}
	if m == nil {
		return
	}
	if m.unpack != nil {
		if t.input.format != template.FormatDMF {
			tl.Errorf(input, "input: output.unpack needs input.format: dmf (a D365 data package)")
		}
		if len(t.input.fields) > 0 || len(m.sheets) > 0 || len(t.model) > 0 || len(t.validations) > 0 || len(t.checks) > 0 || t.filter != nil {
			tl.Errorf(input, "input: output.unpack copies every entity as it is; leave out fields, sheets, model, filter, validations and checks")
		}
		return
	}
	if len(m.sheets) == 0 {
		return
	}
	if len(t.input.fields) > 0 {
		tl.Errorf(input, "input: give either fields (one table) or sheets (a table per sheet), not both")
	}
	switch t.input.format {
	case template.FormatAuto, template.FormatXLSX:
		t.input.format = template.FormatXLSX
	default:
		tl.Errorf(input, "input: sheets are read from an Excel workbook; set format to xlsx (or leave it out)")
	}
	if t.output.kind != "dmf" {
		tl.Errorf(input, "input: the rows of each sheet feed an entity of output.dmf; write a DMF package")
		return
	}
	ents := t.output.dmfEntities
	var labels []string
	for _, e := range ents {
		labels = append(labels, e.entity.Name)
	}
	fedBy := make([]int, len(ents))
	for i := range fedBy {
		fedBy[i] = -1
	}
	sheetOf := map[string]int{} // input field → sheet
	for k, s := range m.sheets {
		for _, f := range s.fields {
			sheetOf[f.Name] = k
		}
		j := -1
		for i, e := range ents {
			if strings.EqualFold(e.entity.Name, s.entity) {
				j = i
			}
		}
		switch {
		case j < 0:
			tl.Errorf(s.entityNode, "sheet %q: no entity %q in output.dmf.entities%s", s.sheet, s.entity, expression.DidYouMean(s.entity, labels))
		case fedBy[j] >= 0:
			tl.Errorf(s.entityNode, "sheet %q: entity %q is already fed by sheet %q; one sheet per entity", s.sheet, s.entity, m.sheets[fedBy[j]].sheet)
		default:
			fedBy[j] = k
		}
		m.entity = append(m.entity, j)
	}
	for i, k := range fedBy {
		if k < 0 {
			tl.Errorf(ents[i].node, "entity %q is fed by no sheet; add a sheet with entity: %s under input.sheets", ents[i].entity.Name, ents[i].entity.Name)
		}
	}

	// Which sheet each model field, validation, filter, check and column
	// belongs to: -1 for none (constants), -2 after an error.
	modelOf := map[string]int{}
	owner := func(idents []string, what string, n *yaml.Node) int {
		o := -1
		for _, id := range idents {
			k, ok := sheetOf[id]
			if !ok {
				if k, ok = modelOf[id]; !ok || k == -1 {
					continue
				}
			}
			if k == -2 {
				return -2
			}
			if o >= 0 && k != o {
				tl.Errorf(n, "%s uses fields of sheet %q and of sheet %q; an expression works on the rows of one sheet", what, m.sheets[o].sheet, m.sheets[k].sheet)
				return -2
			}
			o = k
		}
		return o
	}
	models := make([]int, len(t.model))
	for i, mf := range t.model {
		models[i] = owner(mf.prog.Idents, fmt.Sprintf("model field %q", mf.name), tl.names[mf.name])
		modelOf[mf.name] = models[i]
	}
	valids := make([]int, len(t.validations))
	for i, v := range t.validations {
		valids[i] = owner(v.prog.Idents, fmt.Sprintf("validation %q", v.name), input)
	}
	filterOwner := -1
	if t.filter != nil {
		filterOwner = owner(t.filter.Idents, "the filter", input)
	}
	checks := make([]int, len(t.checks))
	for i, c := range t.checks {
		ids := append([]string(nil), c.groupBy.Idents...)
		for _, a := range c.aggs {
			if a.arg != nil {
				ids = append(ids, a.arg.Idents...)
			}
		}
		checks[i] = owner(ids, fmt.Sprintf("check %q", c.name), input)
	}
	for k, j := range m.entity {
		if j < 0 {
			continue
		}
		for _, c := range ents[j].columns {
			if c.Prog == nil {
				continue
			}
			if o := owner(c.Prog.Idents, fmt.Sprintf("entity %q column %q", ents[j].entity.Name, c.Name), ents[j].node); o >= 0 && o != k {
				tl.Errorf(ents[j].node, "entity %q column %q uses the fields of sheet %q, but the entity is fed by sheet %q", ents[j].entity.Name, c.Name, m.sheets[o].sheet, m.sheets[k].sheet)
			}
		}
	}
	if len(tl.Errs) > 0 {
		return
	}
	for k, s := range m.sheets {
		sub := *t
		sub.multi = nil
		sub.slotted = false // its fields are not those the slots were bound for
		sub.input = inputSpec{format: template.FormatXLSX, xlsxSheet: s.sheet, xlsxHeaderRow: s.headerRow, xlsxMissingSheet: "error", sheetsEntry: true, fields: s.fields}
		index := map[string]int{}
		for i, f := range s.fields {
			index[f.Name] = i
		}
		sub.model = nil
		for i, mf := range t.model {
			if models[i] == -1 || models[i] == k {
				mf.input = -1
				if len(mf.prog.Idents) > 0 {
					if x, ok := index[mf.prog.Idents[0]]; ok {
						mf.input = x
					}
				}
				sub.model = append(sub.model, mf)
			}
		}
		sub.validations = nil
		for i, v := range t.validations {
			if valids[i] == -1 || valids[i] == k {
				v.input = -1
				if x, ok := index[v.field]; ok {
					v.input = x
				}
				sub.validations = append(sub.validations, v)
			}
		}
		if filterOwner >= 0 && filterOwner != k {
			sub.filter = nil
		}
		sub.checks = nil
		for i, c := range t.checks {
			if checks[i] == -1 || checks[i] == k {
				sub.checks = append(sub.checks, c)
			}
		}
		sub.output.dmfEntities = []dmfEntity{ents[m.entity[k]]}
		m.subs = append(m.subs, &sub)
	}
}

// runMulti runs a template that reads several tables.
func (t *Template) runMulti(ctx context.Context, inputPath, outDir string, opts RunOptions) (*Result, error) {
	if t.multi.unpack != nil {
		return t.runUnpack(ctx, inputPath, outDir)
	}
	res := &Result{onReject: opts.OnReject, onProgress: opts.OnProgress}
	base := filepath.Base(inputPath)
	modified, err := opts.stamp(inputPath)
	if err != nil {
		return nil, t.fileError(formats.Pos{File: base}, err, "check that the file exists and can be read")
	}
	id, err := opts.runID(t, inputPath)
	if err != nil {
		return nil, t.fileError(formats.Pos{File: base}, err, "check that the file can be read")
	}
	outs, err := t.createOutputs(base, outDir, modified, id)
	if err != nil {
		return nil, err
	}
	err = t.runSheets(ctx, inputPath, res, outs)
	if err == nil {
		err = outs.commit(ctx, res)
	}
	if err != nil {
		outs.abort()
		return nil, err
	}
	res.Outputs = outs.final
	return res, nil
}

// runSheets reads the sheets in turn into the package.
func (t *Template) runSheets(ctx context.Context, inputPath string, res *Result, outs *outputs) error {
	if have := workbookSheets(inputPath); have != nil {
		var missing []string
		for _, s := range t.multi.sheets {
			if !hasSheet(have, s.sheet) {
				missing = append(missing, fmt.Sprintf("%q (entity %s)", s.sheet, s.entity))
			}
		}
		if len(missing) > 0 {
			return t.fileError(formats.Pos{File: filepath.Base(inputPath)},
				fmt.Errorf("the workbook has no sheet %s; its sheets are %s", strings.Join(missing, ", "), quoteList(have)),
				"add the missing sheets with their header rows (a sheet with only the header row imports nothing), or rename the sheets to the names the template expects")
		}
	}
	for k, sub := range t.multi.subs {
		entity := t.multi.entity[k]
		src, err := sub.open(inputPath, res)
		if err != nil {
			return err
		}
		if src.checks, err = sub.prepareChecks(ctx, inputPath); err != nil {
			src.close()
			return err
		}
		err = sub.process(ctx, src, res, func(pos formats.Pos, values [][]string) error {
			if values == nil {
				return nil
			}
			if err := outs.dmfw.Write(entity, values[0]); err != nil {
				return &template.FieldError{Pos: pos, Severity: template.SeverityError, Err: err}
			}
			return nil
		})
		src.close()
		if err != nil {
			return err
		}
	}
	return nil
}

// unpackFile is one output of an unpack, written under a temporary name.
type unpackFile struct {
	tmp, final string
}

// runUnpack writes the entities of a DMF package as CSV files and one
// workbook.
func (t *Template) runUnpack(ctx context.Context, inputPath, outDir string) (res *Result, err error) {
	res = &Result{}
	base := filepath.Base(inputPath)
	pos := formats.Pos{File: base}
	p, err := dmf.Open(inputPath)
	if err != nil {
		hint := "drop the .zip package exported from D365 Data management, as it was downloaded"
		if errors.Is(err, dmf.ErrNoManifest) {
			hint = "export the data project as a data package, which holds Manifest.xml"
		}
		return nil, t.fileError(pos, err, hint)
	}
	defer p.Close()
	probs, err := p.Check()
	if err != nil {
		return nil, t.fileError(pos, err, "the package is damaged; export it again")
	}
	for _, pr := range probs {
		pr.Warning = false // the job lists it as a warning already
		res.addWarning(&template.FieldError{Pos: pos, Template: t.Name, Severity: template.SeverityWarning, Err: pr})
	}
	name := strings.TrimSuffix(base, filepath.Ext(base))
	var files []unpackFile
	defer func() {
		if err != nil {
			for _, f := range files {
				os.Remove(f.tmp)
			}
		}
	}()
	create := func(final string) (*os.File, error) {
		f, err := os.CreateTemp(outDir, filename.TempPattern(final))
		if err != nil {
			return nil, t.fileError(pos, fmt.Errorf("can't create the output: %w", err), "check that the output folder exists and can be written")
		}
		files = append(files, unpackFile{tmp: f.Name(), final: filepath.Join(outDir, final)})
		return f, nil
	}

	var book *excelize.File
	if t.multi.unpack.xlsx {
		book = excelize.NewFile()
		defer book.Close()
	}
	sheets := map[string]bool{}
	for i, e := range p.Entities {
		header := e.Columns
		var r *dmf.EntityReader
		if p.HasData(i) {
			if r, err = p.Open(i); err != nil {
				return nil, t.fileError(pos, err, "the entity's data file can't be read; export the package again")
			}
			header = r.Header()
		}
		err = t.unpackEntity(ctx, e, i, r, header, name, book, sheets, res, create)
		if r != nil {
			r.Close()
		}
		if err != nil {
			return nil, err
		}
	}
	if book != nil {
		if len(p.Entities) > 0 {
			book.DeleteSheet("Sheet1")
		}
		f, err := create(name + ".xlsx")
		if err != nil {
			return nil, err
		}
		bw := bufio.NewWriterSize(f, 64<<10)
		book.SetZipWriter(func(io.Writer) excelize.ZipWriter {
			zw := zip.NewWriter(bw)
			zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) { return flate.NewWriter(out, 5) })
			return zw
		})
		err = book.Write(io.Discard)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, t.fileError(pos, fmt.Errorf("writing the workbook: %w", err), "check that the output folder can be written")
		}
	}
	for i, f := range files {
		if err = os.Rename(f.tmp, f.final); err != nil {
			return nil, fmt.Errorf("writing the output: %w", err)
		}
		files[i].tmp = ""
		res.Outputs = append(res.Outputs, f.final)
	}
	return res, nil
}

// unpackEntity copies one entity into its CSV file and workbook sheet.
func (t *Template) unpackEntity(ctx context.Context, e dmf.ManifestEntity, i int, r *dmf.EntityReader, header []string,
	name string, book *excelize.File, sheets map[string]bool, res *Result, create func(string) (*os.File, error)) error {
	var cw *csv.Writer
	var bw *bufio.Writer
	var out *os.File
	if t.multi.unpack.csv {
		label := strings.TrimSuffix(dmf.DataFileName(dmf.Entity{Name: e.Name, SourceFormat: dmf.CSV}), ".csv")
		if label == "" {
			label = fmt.Sprintf("entity %d", i+1)
		}
		var err error
		if out, err = create(name + "-" + label + ".csv"); err != nil {
			return err
		}
		defer out.Close()
		bw = bufio.NewWriterSize(out, 64<<10)
		if cw, err = csv.NewWriter(bw, csv.WriterOptions{Encoding: "utf-8-bom", CRLF: true, EscapeFormulas: true}); err != nil {
			return err
		}
		if err := cw.Write(header); err != nil {
			return err
		}
	}
	var sw *excelize.StreamWriter
	sheet := ""
	if book != nil {
		sheet = dmf.SheetName(e.Name)
		if sheet == "" {
			sheet = fmt.Sprintf("Entity %d", i+1)
		}
		for n := 2; sheets[strings.ToLower(sheet)]; n++ {
			sheet = fmt.Sprintf("%.27s_%d", dmf.SheetName(e.Name), n)
		}
		sheets[strings.ToLower(sheet)] = true
		if _, err := book.NewSheet(sheet); err != nil {
			return err
		}
		var err error
		if sw, err = book.NewStreamWriter(sheet); err != nil {
			return err
		}
		if err := sw.SetRow("A1", toCells(header)); err != nil {
			return err
		}
	}
	row := 1
	for n := 0; r != nil; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		res.Read++
		if err != nil {
			var pe *formats.ParseError
			if !errors.As(err, &pe) {
				return t.fileError(formats.Pos{File: name}, err, "the package is damaged; export it again")
			}
			res.Rejected++
			res.addError(&template.FieldError{Pos: pe.Pos, Template: t.Name, Severity: template.SeverityError, Err: pe})
			continue
		}
		if cw != nil {
			if err := cw.Write(rec.Fields); err != nil {
				return err
			}
		}
		if sw != nil {
			if row >= layout.MaxSheetRows {
				res.addWarning(&template.FieldError{Pos: rec.Pos, Template: t.Name, Severity: template.SeverityWarning,
					Err:  fmt.Errorf("sheet %q is full (1,048,576 rows); the rest of the entity is only in the CSV file", sheet),
					Hint: "use the CSV file for this entity"})
				sw.Flush()
				sw = nil
			} else {
				ok := true
				for _, v := range rec.Fields {
					if dmf.CheckValue(dmf.Excel, v) != nil {
						ok = false
					}
				}
				row++
				if !ok {
					res.addWarning(&template.FieldError{Pos: rec.Pos, Template: t.Name, Severity: template.SeverityWarning,
						Err:  errors.New("the row holds a control character or a value longer than an Excel cell, so its sheet row is left blank"),
						Hint: "read this row in the CSV file"})
				} else {
					cell, _ := excelize.CoordinatesToCellName(1, row)
					if err := sw.SetRow(cell, toCells(rec.Fields)); err != nil {
						return err
					}
				}
			}
		}
		res.Written++
	}
	if sw != nil {
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	if cw != nil {
		if err := cw.Close(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return out.Sync()
	}
	return nil
}

func toCells(values []string) []any {
	cells := make([]any, len(values))
	for i, v := range values {
		cells[i] = v
	}
	return cells
}

// outputs describes the files an unpack writes.
func (u *unpackSpec) outputs() []string {
	var out []string
	if u.csv {
		out = append(out, "CSV file per entity")
	}
	if u.xlsx {
		out = append(out, "Excel workbook, a sheet per entity")
	}
	return out
}
