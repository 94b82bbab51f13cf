package transform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixedTemplate reads a small statement file (a header with the account,
// lines with a signed overpunch amount, a trailer with their count and
// sum) and writes it again as a fixed-width file of its own layout.
const fixedTemplate = `name: fw
input:
  format: fixed_width
  fixed_width:
    record: line
    discriminator: {start: 1, length: 2}
    records:
      - name: header
        code: "01"
        fields:
          - {name: code, length: 2}
          - {name: account, length: 11}
      - name: line
        code: "02"
        fields:
          - {name: code, length: 2}
          - {name: date, length: 8}
          - {name: text, length: 20}
          - {name: amount, length: 9, numeric: true, decimals: 2, sign: overpunch}
      - name: trailer
        code: "99"
        fields:
          - {name: code, length: 2}
          - {name: count, length: 4, count: [line]}
          - {name: total, length: 12, decimals: 2, sign: leading, sum: line.amount}
  fields:
    - {name: account, column: header.account}
    - {name: date, type: date, layout: yyyyMMdd}
    - {name: text}
    - {name: amount, type: decimal}
output:
  fixed_width:
    line_ending: crlf
    discriminator: {start: 1, length: 1}
    group_by: account
    records:
      - name: account
        code: A
        write: group_start
        fields:
          - {name: code, length: 1}
          - {name: account, length: 11, value: account}
      - name: entry
        code: E
        write: each
        fields:
          - {name: code, length: 1}
          - {name: date, length: 6, value: 'DATEFORMAT(date, "ddMMyy")'}
          - {name: amount, length: 12, numeric: true, decimals: 2, sign: trailing, pad: " ", value: amount}
          - {name: text, length: 10, truncate: true, value: UPPER(text)}
      - name: total
        code: T
        write: group_end
        fields:
          - {name: code, length: 1}
          - {name: lines, length: 3, count: [entry], scope: account}
          - {name: sum, length: 12, decimals: 2, sign: trailing, sum: entry.amount, scope: account}
`

const fixedInput = "0112345678901\n" +
	"0220240502Salary May          00012500{\n" +
	"0220240503Rent                00009800}\n" +
	"0112345678902\n" +
	"0220240504Coffee              00000045M\n" +
	"990003+00000026546\n"

func TestFixedWidthRun(t *testing.T) {
	tpl, err := loadString(t, fixedTemplate)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "statement.dat")
	// The trailer's total: 1250.00 - 980.00 - 4.54 = 265.46.
	if err := os.WriteFile(in, []byte(fixedInput), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := tpl.Run(context.Background(), in, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 3 || res.Written != 3 || res.Rejected != 0 {
		t.Fatalf("read %d, written %d, rejected %d: %v", res.Read, res.Written, res.Rejected, res.Errors)
	}
	got, err := os.ReadFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.Outputs[0]) != "statement.txt" {
		t.Errorf("output %s, want statement.txt", res.Outputs[0])
	}
	golden(t, "fixedwidth/statement.txt", got)
}

func TestFixedWidthReadErrors(t *testing.T) {
	tpl, err := loadString(t, fixedTemplate)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		rejected   string // the rejected row's message
		fatal      string // or the file's
	}{
		{"bad amount", strings.Replace(fixedInput, "00009800}", "000098X0}", 1), `statement.dat: row 3 column 31: line.amount: "000098X0}" is not a number: "X" at its character 7 is not a digit`, ""},
		{"unknown record", strings.Replace(fixedInput, "0220240503", "0320240503", 1), `statement.dat: row 3 column 1: the record type code "03" is none of the layout's`, ""},
		{"bad count", strings.Replace(fixedInput, "990003", "990004", 1), "", `statement.dat: row 6 column 3: trailer.count is "0004", but counting the line records of the file gives 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "statement.dat")
			if err := os.WriteFile(in, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := tpl.Run(context.Background(), in, dir)
			if tt.fatal != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fatal) {
					t.Fatalf("error %v, want %s", err, tt.fatal)
				}
				return
			}
			if err == nil && res.Rejected > 0 && strings.Contains(res.Errors[0].Error(), tt.rejected) {
				return
			}
			var errs []string
			if res != nil {
				for _, e := range res.Errors {
					errs = append(errs, e.Error())
				}
			}
			t.Fatalf("error %v, rejected %q; want a rejected row %s", err, errs, tt.rejected)
		})
	}
}

func TestFixedWidthLoadErrors(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"no layout", "  fixed_width:\n    record: line\n", "  fixed_widths:\n    record: line\n", `t.yaml:3:3: input: format fixed_width needs fixed_width`},
		{"overlap", "{name: account, length: 11}", "{name: account, start: 2, length: 11}", `t.yaml:12:13: input.fixed_width: record type "header": field "account" (positions 2-12) overlaps field "code" at position 2`},
		{"unknown field", "{name: text}", "{name: txt}", `t.yaml:29:14: input.fields: no record type of the layout has a field "txt"`},
		{"bad sign", "sign: overpunch", "sign: over", `t.yaml:19:73: sign must be one of "none", "leading", "trailing", "overpunch", not "over"`},
		{"bad record", "    record: line\n", "    record: lines\n", `t.yaml:5:13: input.fixed_width.record: "lines" is not one of the record types listed`},
		{"sum of text", "sum: line.amount", "sum: line.text", `t.yaml:25:13: input.fixed_width: record type "trailer": control field "total" adds up "line.text", which is not numeric`},
		{"value expression", "value: UPPER(text)", "value: UPPER(txt)", `t.yaml:50:67: output.fixed_width field entry.text: unknown name "txt" (did you mean "text"?)`},
		{"no write", "        write: each\n", "", `t.yaml:43:9: output.fixed_width: record type "entry": say when it is written`},
		{"value on control", "count: [entry], scope: account}", "count: [entry], scope: account, value: amount}", `value is for data fields`},
		{"write in input", "    record: line\n", "    record: line\n    group_by: x\n", `t.yaml:6:5: input.fixed_width: group_by is for output.fixed_width`},
		{"too long", "{name: account, length: 11, value: account}", "{name: account, length: 11, start: 1, value: account}", `overlaps field "code" at position 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(fixedTemplate, tt.old) {
				t.Fatalf("%q is not in the template", tt.old)
			}
			_, err := loadString(t, strings.Replace(fixedTemplate, tt.old, tt.new, 1))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error:\n%v\nwant %s", err, tt.want)
			}
		})
	}
}
