package transform

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/erpipe/erpipe/internal/filename"
	"github.com/erpipe/erpipe/internal/office"
)

// commitFilled finishes an output.workbook or output.document: the layout
// is rendered (one document, or one per group) into temporary files, each
// filled into a copy of the designed file, and, when asked, converted to
// PDF; all are published together, or none.
func (o *outputs) commitFilled(ctx context.Context) error {
	x := o.xmlw
	defer x.Close()
	outDir := filepath.Dir(o.final[0])
	var docs, names []string
	defer func() {
		for _, d := range docs {
			os.Remove(d)
		}
	}()
	if x.PerDocument() {
		for i, f := range o.files {
			f.Close()
			os.Remove(o.tmp[i])
		}
		var err error
		docs, names, err = x.RenderDocs(outDir)
		o.files, o.tmp, o.final = nil, nil, nil
		if err != nil {
			return err
		}
	} else {
		err := x.Render(o.bufs[0])
		if err == nil {
			err = o.bufs[0].Flush()
		}
		if cerr := o.files[0].Close(); err == nil {
			err = cerr
		}
		docs, names = o.tmp, o.final
		o.files, o.tmp, o.final = nil, nil, nil
		if err != nil {
			return err
		}
	}
	for i, doc := range docs {
		tmp, err := o.fill(doc, names[i])
		if tmp != "" {
			o.tmp, o.final = append(o.tmp, tmp), append(o.final, names[i])
		}
		if err != nil {
			return err
		}
		if !o.filled.WantsPDF() {
			continue
		}
		pdf := strings.TrimSuffix(names[i], filepath.Ext(names[i])) + ".pdf"
		pf, err := os.CreateTemp(outDir, filename.TempPattern(filepath.Base(pdf)))
		if err != nil {
			return err
		}
		pf.Close()
		o.tmp, o.final = append(o.tmp, pf.Name()), append(o.final, pdf)
		if err := office.ConvertToPDF(ctx, tmp, pf.Name(), 0); err != nil {
			return err
		}
	}
	return o.publish()
}

// fill fills the designed file with the rendered document doc into a
// temporary file beside final, and returns its name.
func (o *outputs) fill(doc, final string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(final), filename.TempPattern(filepath.Base(final)))
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = o.filled.Fill(doc, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}
