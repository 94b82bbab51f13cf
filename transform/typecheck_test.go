package transform

import (
	"strings"
	"testing"
)

// typed is a template with an expression in every place the language has
// one; TestLoadTypeMistakes breaks them one at a time.
const typed = `name: t
parameters:
  - name: sepa
    type: boolean
    default: "false"
input:
  fields:
    - name: account
    - name: payment_terms
    - name: amount
      type: decimal
    - name: posted
      type: date
summary:
  - name: first_posted
    expr: MIN(posted)
lookups:
  codes:
    A: Alpha
model:
  - name: id
    expr: UPPER(account)
  - name: terms_days
    expr: VALUE(payment_terms)
filter: amount == nil || amount >= 0
validations:
  - name: terms
    condition: payment_terms != ""
    message: x
checks:
  - name: balanced
    group_by: account
    condition: SUM(amount) == 0
    message: m
output:
  csv:
    columns:
      Id: id
      Code: LOOKUP("codes", account, "")
`

// TestLoadTypeMistakes: an expression that would fail on every row with
// a value, wherever it is, fails loading (so validate and a pipeline's
// start) at its place, with a fix.
func TestLoadTypeMistakes(t *testing.T) {
	if _, err := loadString(t, typed); err != nil {
		t.Fatalf("the template does not load: %v", err)
	}
	tests := []struct {
		name     string
		old, new string // replace old by new in typed
		want     string
	}{
		{"filter", "filter: amount == nil || amount >= 0", "filter: payment_terms != 30",
			`t.yaml:25:9: filter: payment_terms is text and 30 is a number, so payment_terms != 30 would fail on every row; compare it with text, payment_terms != "30", or declare the field type: integer`},
		{"filter not a condition", "filter: amount == nil || amount >= 0", "filter: amount",
			`t.yaml:25:9: filter: amount is a number, not a condition (true or false), so it would fail on every row; compare it, e.g. amount > 0`},
		{"validation", `condition: payment_terms != ""`, `condition: amount > "0"`,
			`t.yaml:28:16: validation "terms": amount is a number and "0" is text, so amount > "0" would fail on every row; compare it with a number, amount > 0`},
		{"validation in a block", `condition: payment_terms != ""`, "condition: |\n      amount == nil ||\n        amount > \"0\"",
			`t.yaml:30:9: validation "terms": amount is a number and "0" is text`},
		{"model field", "expr: UPPER(account)", "expr: account * 2",
			`t.yaml:22:11: model field "id": account is text, so account * 2 would fail on every row (arithmetic needs numbers); convert it with VALUE(account), or declare the field type: decimal`},
		{"a model field's type", "      Id: id\n", "      Id: terms_days + \"d\"\n",
			`t.yaml:38:11: output column "Id": terms_days is a number and "d" is text, so terms_days + "d" would fail on every row; join them as text with CONCAT(terms_days, "d")`},
		{"output column", "      Id: id\n", "      Id: ADDDAYS(posted, payment_terms)\n",
			`t.yaml:38:27: output column "Id": ADDDAYS needs a number as its days, but payment_terms is text`},
		{"parameter", "filter: amount == nil || amount >= 0", `filter: sepa == "true"`,
			`t.yaml:25:9: filter: sepa is true/false and "true" is text, so sepa == "true" would fail on every row; compare it with true or false, or declare the parameter type: string`},
		{"summary value", "filter: amount == nil || amount >= 0", `filter: first_posted > 5`,
			`t.yaml:25:9: filter: first_posted is a date and 5 is a number`},
		{"lookup default", `Code: LOOKUP("codes", account, "")`, `Code: LOOKUP("codes", account, "") * 2`,
			`output column "Code": LOOKUP("codes", account, "") is text, so LOOKUP("codes", account, "") * 2 would fail on every row`},
		{"check group_by", "group_by: account", "group_by: account - 1",
			`t.yaml:32:15: check "balanced" group_by: account is text, so account - 1 would fail on every row`},
		{"check condition", "condition: SUM(amount) == 0", `condition: SUM(amount) == "0"`,
			`check "balanced" condition: SUM(amount) is a number and "0" is text, so SUM(amount) == "0" would fail on every row; compare it with a number, SUM(amount) == 0`},
		{"check SUM of text", "condition: SUM(amount) == 0", `condition: SUM(account) > 0`,
			`check "balanced" condition: SUM needs numbers, but account is text`},
		{"check not a condition", "condition: SUM(amount) == 0", `condition: SUM(amount)`,
			`check "balanced" condition: SUM(amount) is a number, not a condition`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(typed, tt.old) {
				t.Fatalf("%q is not in the template", tt.old)
			}
			_, err := loadString(t, strings.Replace(typed, tt.old, tt.new, 1))
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
		})
	}
}
