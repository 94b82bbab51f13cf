package transform

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// entityTemplate is a two-entity package template; extra goes into the
// second entity.
func entityTemplate(first, second string) string {
	return `name: order
input:
  fields:
    - name: code
output:
  dmf:
    entities:
      - name: Currencies
        target: CurrencyEntity
` + first + `
        columns:
          CURRENCYCODE: code
      - name: Exchange rates
        target: ExchangeRateEntity
` + second + `
        columns:
          FROMCURRENCY: code
`
}

func TestEntityOrder(t *testing.T) {
	cases := []struct {
		name, first, second string
		want                []string
	}{
		{"dependency first", "        level: 1", "        level: 2\n        depends_on: [Currencies]", nil},
		{"same level, later sequence", "        sequence: 1", "        sequence: 2\n        depends_on: Currencies", nil},
		{"wrong order", "        level: 2", "        level: 1\n        depends_on: [Currencies]",
			[]string{`t.yaml:16:22: entity "Exchange rates" depends_on "Currencies", but it comes first (level 1, sequence 1 against level 2, sequence 1); give "Exchange rates" a higher level or sequence than "Currencies"`}},
		{"same place", "", "        depends_on: [Currencies]", []string{"but it comes first (level 1, sequence 1 against level 1, sequence 1)"}},
		{"other execution unit", "", "        execution_unit: 2\n        depends_on: [Currencies]", []string{"which D365 runs in parallel; put both in the same execution_unit"}},
		{"unknown entity", "", "        depends_on: [Currency]", []string{`t.yaml:15:22: entity "Exchange rates" depends_on: no entity "Currency" in the package`}},
		{"itself", "", "        depends_on: [Exchange rates]", []string{"an entity can't depend on itself"}},
		{"cycle", "        depends_on: [Exchange rates]", "        depends_on: [Currencies]", []string{
			`depends_on "Exchange rates", but it comes first`,
			`depends_on "Currencies", but it comes first`,
			`the entities depend on each other in a cycle ("Currencies" → "Exchange rates" → "Currencies")`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, entityTemplate(tc.first, tc.second))
			var msgs []string
			if err != nil {
				msgs = strings.Split(err.Error(), "\n")
			}
			if len(msgs) != len(tc.want) {
				t.Fatalf("errors %q, want %d", msgs, len(tc.want))
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, w) }) {
					t.Errorf("no error contains %q in %q", w, msgs)
				}
			}
		})
	}
}

const journalTemplate = `name: journal
input:
  fields:
    - name: voucher
    - name: debit
      type: decimal
    - name: credit
      type: decimal
validations:
  - name: positive
    condition: (debit ?? 0) >= 0 && (credit ?? 0) >= 0
    message: negative
checks:
  - name: balanced
    group_by: voucher
    condition: SUM(debit) == SUM(credit) && COUNT() >= 2
    message: The voucher does not balance.
  - name: small
    group_by: voucher
    condition: MAX(debit) == nil || MAX(debit) < 1000
    message: A large voucher; check it.
    severity: warning
output:
  csv:
    columns:
      Voucher: voucher
      Debit: debit
      Credit: credit
`

func TestGroupChecks(t *testing.T) {
	tpl, err := loadString(t, journalTemplate)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "j.csv", "voucher,debit,credit\n"+
		"A,0.1,\n"+ // A balances exactly: 0.1 + 0.2 = 0.3
		"B,10,\n"+ // B is off by a cent
		"A,0.2,\n"+
		"B,,9.99\n"+
		"A,,0.3\n"+
		"C,5,\n"+ // C's credit row is rejected by a validation, so C fails too
		"C,,-5\n"+
		"D,1500,\n"+ // D balances but warns once
		"D,,1500\n"+
		"E,1,1\n") // one row only: COUNT() >= 2 fails
	out := t.TempDir()
	res, err := tpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 10 || res.Written != 5 || res.Rejected != 5 {
		t.Errorf("read %d written %d rejected %d, want 10, 5, 5", res.Read, res.Written, res.Rejected)
	}
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		`j.csv: row 3: rule balanced: The voucher does not balance. (voucher "B": SUM(debit) = 10, SUM(credit) = 9.99, COUNT() = 2)`,
		`j.csv: row 5: rule balanced: The voucher does not balance. (voucher "B": SUM(debit) = 10, SUM(credit) = 9.99, COUNT() = 2)`,
		`j.csv: row 7: rule balanced: The voucher does not balance. (voucher "C": SUM(debit) = 5, SUM(credit) = 0, COUNT() = 1)`,
		`j.csv: row 8 column 2 ("debit"): rule positive: negative`,
		`j.csv: row 11: rule balanced: The voucher does not balance. (voucher "E": SUM(debit) = 1, SUM(credit) = 1, COUNT() = 1)`,
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Error(), `row 9: rule small (warning): A large voucher; check it. (voucher "D": MAX(debit) = 1500)`) {
		t.Errorf("warnings %v", res.Warnings)
	}
	data, err := os.ReadFile(filepath.Join(out, "j.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); got != "Voucher,Debit,Credit\nA,0.1,\nA,0.2,\nA,,0.3\nD,1500,\nD,,1500\n" {
		t.Errorf("output:\n%s", got)
	}
}

func TestGroupCheckErrors(t *testing.T) {
	base := strings.Split(journalTemplate, "checks:")[0] + "checks:\n"
	tail := "output:\n  csv:\n    columns:\n      V: voucher\n"
	cases := []struct{ check, want string }{
		{"  - {name: c, group_by: voucher, condition: debit == credit, message: m}", `check "c" condition: debit is used outside SUM, COUNT, MIN or MAX`},
		{"  - {name: c, group_by: voucher, condition: 'true', message: m}", `use SUM(x), COUNT(), MIN(x) or MAX(x)`},
		{"  - {name: c, group_by: voucher, condition: 'SUM(debit, credit) == 0', message: m}", `SUM takes 1 argument(s), not 2`},
		{"  - {name: c, group_by: voucher, condition: SUM(SUM(debit)) == 0, message: m}", `aggregates can't be nested`},
		{"  - {name: c, group_by: vocher, condition: SUM(debit) == 0, message: m}", `check "c" group_by: unknown name "vocher" (did you mean "voucher"?)`},
		{"  - {name: c, group_by: voucher, condition: SUM(debt) == 0, message: m}", `in SUM(debt): unknown name "debt"`},
		{"  - {name: c, group_by: voucher, condition: SUM(debit) ==, message: m}", `check "c" condition: syntax error`},
	}
	for _, tc := range cases {
		_, err := loadString(t, base+tc.check+"\n"+tail)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.check, err, tc.want)
		}
	}
}

const sheetsTemplate = `name: setup
input:
  sheets:
    - sheet: Currencies
      entity: Currencies
      fields:
        - {name: code, column: Code, required: true}
    - sheet: Rates
      entity: Exchange rates
      fields:
        - {name: from, column: From}
        - {name: rate, column: Rate, type: decimal}
model:
  - name: code_id
    expr: UPPER(code)
validations:
  - name: rate-positive
    condition: rate > 0
    message: The rate must be positive.
output:
  dmf:
    entities:
      - name: Exchange rates
        target: ExchangeRateEntity
        level: 2
        depends_on: [Currencies]
        columns:
          FROMCURRENCY: from
          RATE: rate
      - name: Currencies
        target: CurrencyEntity
        columns:
          CURRENCYCODE: code_id
`

func TestSheets(t *testing.T) {
	tpl, err := loadString(t, sheetsTemplate)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "Rates")
	f.NewSheet("Currencies")
	for i, row := range [][]any{{"From", "Rate"}, {"EUR", "11.5"}, {"USD", "-1"}} {
		f.SetSheetRow("Rates", "A"+string(rune('1'+i)), &row)
	}
	for i, row := range [][]any{{"Code"}, {"nok"}, {"eur"}} {
		f.SetSheetRow("Currencies", "A"+string(rune('1'+i)), &row)
	}
	in := filepath.Join(dir, "setup.xlsx")
	if err := f.SaveAs(in); err != nil {
		t.Fatal(err)
	}
	res, err := tpl.Run(context.Background(), in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 4 || res.Written != 3 || res.Rejected != 1 {
		t.Errorf("read %d written %d rejected %d", res.Read, res.Written, res.Rejected)
	}
	if len(res.Errors) != 1 || res.Errors[0].Error() != `setup.xlsx: sheet "Rates" row 3 column B ("Rate"): rule rate-positive: The rate must be positive.` {
		t.Errorf("errors %v", res.Errors)
	}
	if got := zipEntryUTF16(t, res.Outputs[0], "Currencies.csv"); got != "CURRENCYCODE\r\nNOK\r\nEUR\r\n" {
		t.Errorf("Currencies.csv %q", got)
	}
	if got := zipEntryUTF16(t, res.Outputs[0], "Exchange rates.csv"); got != "FROMCURRENCY,RATE\r\nEUR,11.5\r\n" {
		t.Errorf("Exchange rates.csv %q", got)
	}
}

func TestSheetsErrors(t *testing.T) {
	cases := []struct{ from, to, want string }{
		{"entity: Exchange rates", "entity: Exchange rate", `sheet "Rates": no entity "Exchange rate" in output.dmf.entities (did you mean "Exchange rates"?)`},
		{"FROMCURRENCY: from", "FROMCURRENCY: code", `entity "Exchange rates" column "FROMCURRENCY" uses the fields of sheet "Currencies", but the entity is fed by sheet "Rates"`},
		{"condition: rate > 0", "condition: rate > 0 && code != nil", `validation "rate-positive" uses fields of sheet "Rates" and of sheet "Currencies"`},
		{"input:\n", "input:\n  fields: [{name: x}]\n", "give either fields (one table) or sheets"},
	}
	for _, tc := range cases {
		_, err := loadString(t, strings.Replace(sheetsTemplate, tc.from, tc.to, 1))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.to, err, tc.want)
		}
	}
}

func TestUnpack(t *testing.T) {
	tpl, err := loadString(t, "name: unpack\ninput:\n  format: dmf\noutput:\n  unpack: {csv: true, xlsx: true}\n")
	if err != nil {
		t.Fatal(err)
	}
	in, err := filepath.Abs("../formats/dmf/testdata/usmf_asset-major-types-01.zip")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := tpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 11 || res.Written != 11 || len(res.Outputs) != 2 {
		t.Fatalf("read %d written %d outputs %q", res.Read, res.Written, res.Outputs)
	}
	csvData, err := os.ReadFile(filepath.Join(out, "usmf_asset-major-types-01-Fixed asset major type.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(csvData), "\uFEFFMAJORTYPEID,DESCRIPTION\r\nCOMP,Computer hardware\r\n") {
		t.Errorf("CSV starts %q", csvData[:40])
	}
	book, err := excelize.OpenFile(filepath.Join(out, "usmf_asset-major-types-01.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	rows, err := book.GetRows("Fixed_asset_major_type")
	if err != nil || len(rows) != 12 || !slices.Equal(rows[1], []string{"COMP", "Computer hardware"}) {
		t.Errorf("sheets %q, rows %q, %v", book.GetSheetList(), rows, err)
	}

	for src, want := range map[string]string{
		"name: u\ninput:\n  format: dmf\noutput:\n  csv: {columns: {A: '1'}}\n":            "format dmf reads a whole data package; write it out with output.unpack",
		"name: u\ninput:\n  fields: [{name: a}]\noutput:\n  unpack: {}\n":                  "output.unpack needs input.format: dmf",
		"name: u\ninput:\n  format: dmf\noutput:\n  unpack: {csv: false, xlsx: false}\n":   "csv and xlsx are both false",
		"name: u\ninput:\n  format: dmf\nfilter: 'true'\noutput:\n  unpack: {csv: true}\n": "leave out fields, sheets, model, filter, validations and checks",
	} {
		if _, err := loadString(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", src, err, want)
		}
	}
}
