package transform

import (
	"encoding/csv"
	"fmt"
	"os"

	"github.com/erpipe/erpipe/transform/template"
)

// EmptyInput writes at path an input file that the template reads and
// that holds no records: for CSV, the header row of the columns its fields
// read. It is for runs that must produce an empty result, such as a
// scheduled submission for a period with no data. Only CSV input can be
// made so.
func (t *Template) EmptyInput(path string) error {
	formats := t.InputFormats()
	if len(formats) == 0 || (formats[0] != template.FormatCSV && t.input.format != template.FormatAuto) || !t.input.csvHeader || t.multi != nil {
		return fmt.Errorf("template %s does not read CSV files with a header, so erpipe can't make an empty input for it", t.Name)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if t.input.csvComma != 0 {
		w.Comma = t.input.csvComma
	}
	header := make([]string, 0, len(t.input.fields))
	for _, fl := range t.input.fields {
		if fl.Column != "" {
			header = append(header, fl.Column)
		} else {
			header = append(header, fl.Name)
		}
	}
	_ = w.Write(header)
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
