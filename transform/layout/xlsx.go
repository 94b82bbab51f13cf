package layout

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
)

// output.xlsx writes the output table as an Excel workbook of one sheet:
// on its own (with its own columns), or beside output.csv, with the CSV
// file's columns. The rows are streamed with excelize's StreamWriter, and
// each cell keeps its value's type: text as text, whole numbers and
// decimals as numbers, dates as dates, true/false as booleans, blank as
// an empty cell. A decimal is written as a number only when the number
// Excel reads back is exactly the decimal (at most 15 significant digits,
// which Excel keeps); otherwise it is written as text, so that no digit
// of an amount is lost.

// XLSX is output.xlsx.
type XLSX struct {
	sheet  string
	header bool
}

// MaxSheetRows is the number of rows an Excel sheet holds.
const MaxSheetRows = 1 << 20

// LoadXLSX reads output.xlsx. It returns its columns: node, if it has
// one, for the runner to compile with the output table's other columns.
func (l *Loader) LoadXLSX(n *yaml.Node) (*XLSX, *yaml.Node) {
	x := &XLSX{sheet: "Sheet1", header: true}
	var cols *yaml.Node
	l.Mapping(n, "output.xlsx", map[string]template.KeyHandler{
		"sheet": func(_, v *yaml.Node) {
			s, ok := l.NonEmpty(v, "output.xlsx.sheet")
			if !ok {
				return
			}
			if len([]rune(s)) > 31 || strings.ContainsAny(s, `[]:*?/\`) || strings.HasPrefix(s, "'") || strings.HasSuffix(s, "'") {
				l.Errorf(v, "output.xlsx.sheet %q is not a sheet name Excel accepts: at most 31 characters, without [ ] : * ? / \\ and not starting or ending with '", s)
				return
			}
			x.sheet = s
		},
		"header":  func(_, v *yaml.Node) { x.header, _ = l.Bool(v, "output.xlsx.header") },
		"columns": func(_, v *yaml.Node) { cols = v },
	})
	return x, cols
}

// EncodedText is the text of a value encoded by EncodeValue, as expression.Text
// renders it (what the CSV file beside a workbook holds).
func EncodedText(s string) string {
	if s == "" {
		return ""
	}
	switch s[0] {
	case 's', 'd', 'i':
		return s[1:]
	case 'n':
		return ""
	case 'b':
		if s[1:] == "1" {
			return "true"
		}
		return "false"
	}
	v, err := decodeValue(s)
	if err != nil {
		return s
	}
	return expression.Text(v)
}

// XLSXWriter writes the rows of the output table into a workbook.
type XLSXWriter struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	sheet  string
	w      *bufio.Writer // where the workbook goes when it is complete
	row    int
	cells  []any
	styles map[int32]int // number formats by a decimal's exponent; dates: 1, date-times: 2
	text   []string      // the row as text, for the CSV file beside the workbook
}

// Open starts the workbook, with a header row of columns when the spec
// asks for one; it is written to w on finish.
func (spec *XLSX) Open(w *bufio.Writer, columns []string) (*XLSXWriter, error) {
	f := excelize.NewFile()
	if spec.sheet != "Sheet1" {
		if err := f.SetSheetName("Sheet1", spec.sheet); err != nil {
			f.Close()
			return nil, err
		}
	}
	sw, err := f.NewStreamWriter(spec.sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	x := &XLSXWriter{f: f, sw: sw, sheet: spec.sheet, w: w, styles: map[int32]int{}}
	if spec.header {
		names := make([]any, len(columns))
		for i, c := range columns {
			names[i] = c
		}
		if err := x.setRow(names); err != nil {
			f.Close()
			return nil, err
		}
	}
	return x, nil
}

func (x *XLSXWriter) setRow(cells []any) error {
	if x.row >= MaxSheetRows {
		return fmt.Errorf("sheet %q is full: an Excel sheet holds %d rows; write a CSV file (output.csv) for this much data", x.sheet, MaxSheetRows)
	}
	x.row++
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, cells)
}

// Write adds one row of encoded values (EncodeValue); it returns the
// row as text.
func (x *XLSXWriter) Write(pos formats.Pos, values []string) ([]string, error) {
	x.cells = x.cells[:0]
	x.text = x.text[:0]
	for _, s := range values {
		v, err := decodeValue(s)
		if err != nil {
			return nil, &template.FieldError{Pos: pos, Severity: template.SeverityError, Err: err}
		}
		x.text = append(x.text, EncodedText(s))
		c, err := x.cell(v)
		if err != nil {
			return nil, &template.FieldError{Pos: pos, Severity: template.SeverityError, Err: err}
		}
		x.cells = append(x.cells, c)
	}
	if err := x.setRow(x.cells); err != nil {
		return nil, &template.FieldError{Pos: pos, Severity: template.SeverityError, Err: err, Hint: "write a CSV file instead"}
	}
	return x.text, nil
}

// cell is the workbook cell of value v.
func (x *XLSXWriter) cell(v any) (any, error) {
	switch v := expression.Exported(v).(type) {
	case decimal.Decimal:
		f, ok := exactFloat(v)
		if !ok {
			return expression.PlainDecimal(v), nil // text: Excel would lose digits
		}
		exp := min(v.Exponent(), 0)
		style, err := x.style(exp, func() string {
			if exp == 0 {
				return "0"
			}
			return "0." + strings.Repeat("0", int(-exp))
		})
		return excelize.Cell{StyleID: style, Value: f}, err
	case time.Time:
		key, layout := int32(1), "yyyy-mm-dd"
		if v.Hour() != 0 || v.Minute() != 0 || v.Second() != 0 || v.Nanosecond() != 0 {
			key, layout = 2, "yyyy-mm-dd hh:mm:ss"
		}
		style, err := x.style(key, func() string { return layout })
		return excelize.Cell{StyleID: style, Value: v}, err
	}
	return v, nil // text, whole numbers, booleans, blank
}

// style returns the cell style of a number format, made once per key.
func (x *XLSXWriter) style(key int32, format func() string) (int, error) {
	if id, ok := x.styles[key]; ok {
		return id, nil
	}
	f := format()
	id, err := x.f.NewStyle(&excelize.Style{CustomNumFmt: &f})
	if err != nil {
		return 0, err
	}
	x.styles[key] = id
	return id, nil
}

// exactFloat returns d as a float64 when that is exact in the file: the
// number written (Go's shortest form of the float) is d itself, which
// holds for every decimal of at most 15 significant digits.
func exactFloat(d decimal.Decimal) (float64, bool) {
	f, _ := d.Float64()
	back, err := decimal.NewFromString(strconv.FormatFloat(f, 'f', -1, 64))
	if err != nil || !back.Equal(d) {
		return 0, false
	}
	return f, true
}

// Finish writes the complete workbook.
func (x *XLSXWriter) Finish() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteTo(x.w)
	return err
}

// Close releases the workbook's temporary files.
func (x *XLSXWriter) Close() { x.f.Close() }
