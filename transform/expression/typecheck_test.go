package expression

import (
	"strings"
	"testing"
)

// typedEnv is an environment as a template declares it: input fields of
// each type, a model field, parameters (one dotted) and a name whose type
// is not known.
func typedEnv() *Env {
	env := &Env{Vars: map[string]any{}, Types: map[string]NameType{}, Lookups: exampleLookups}
	for name, nt := range map[string]NameType{
		"payment_terms": {FieldType(TypeString), "field"},
		"amount":        {FieldType(TypeDecimal), "field"},
		"qty":           {FieldType(TypeInteger), "field"},
		"due":           {FieldType(TypeDate), "field"},
		"active":        {FieldType(TypeBoolean), "field"},
		"label":         {KindText, ""}, // a model field
		"sepa":          {FieldType(TypeBoolean), "parameter"},
		"period.start":  {FieldType(TypeDate), "parameter"},
	} {
		env.Vars[name] = nil
		env.Types[name] = nt
	}
	env.Vars["anything"] = nil
	return env
}

// TestTypeCheck: expressions that would fail on every row with a value
// are refused at their place with a fix; blank, and names of unknown
// type, are let through.
func TestTypeCheck(t *testing.T) {
	tests := []struct {
		expr      string
		line, col int    // where the problem is
		msg       string // a part of its message; "" when the expression is fine
	}{
		// Fine: values of kinds that work together, blank, unknown names.
		{expr: `payment_terms == "30"`},
		{expr: `payment_terms == nil || payment_terms == ""`},
		{expr: `payment_terms + "-" + nil`},
		{expr: `amount + nil`},
		{expr: `amount * qty > 0`},
		{expr: `nil > 0`},
		{expr: `due < DATEVALUE("2026-01-01")`},
		{expr: `period.start <= due`},
		{expr: `active && !sepa`},
		{expr: `IF(active, 1, "x")`},
		{expr: `IF(nil, 1, 2)`},
		{expr: `anything == 30 && anything + 1 > 0`},
		{expr: `VALUE(payment_terms) > 30`},
		{expr: `INTVALUE(payment_terms) == 30`},
		{expr: `LOOKUP("payment_terms", payment_terms, 0) == 1`},
		{expr: `LOOKUP("payment_terms", amount) == "Net30"`},
		{expr: `LEN(payment_terms) > 3`},
		{expr: `ROUND(amount, 2)`},
		{expr: `ROUND(nil)`},
		{expr: `DATEFORMAT(nil, "dd.MM.yyyy")`},
		{expr: `CASE(payment_terms, "30", 1, "60", 2, 0) + 1`},
		{expr: `payment_terms ?? "none"`},
		{expr: `payment_terms in ["30", "60"]`},
		{expr: `-amount`},
		{expr: `ADDDAYS(due, qty)`},
		{expr: `TEXT(amount) + "x"`},
		{expr: `IF(amount > 0, amount, nil) + 1`},
		{expr: `CONCAT(payment_terms, amount, due, active)`},
		{expr: `LEFT(payment_terms, 2) == "NO"`},
		{expr: `(amount > 0) == active`},

		// Comparisons.
		{`payment_terms != 30`, 1, 0, `payment_terms is text and 30 is a number, so payment_terms != 30 would fail on every row; compare it with text, payment_terms != "30", or declare the field type: integer`},
		{`payment_terms == 12.5`, 1, 0, `declare the field type: decimal`},
		{`30 < payment_terms`, 1, 0, `compare it with text, "30" < payment_terms`},
		{`amount == "30"`, 1, 0, `amount is a number and "30" is text, so amount == "30" would fail on every row; compare it with a number, amount == 30`},
		{`qty == "A1"`, 1, 0, `declare the field type: string`},
		{`label > 3`, 1, 0, `label is text and 3 is a number, so label > 3 would fail on every row; compare it with text, label > "3", or convert the text with VALUE(label)`},
		{`due >= "2026-01-01"`, 1, 0, `compare it with a date, due >= DATEVALUE("2026-01-01")`},
		{`payment_terms > due`, 1, 0, `convert the text with DATEVALUE(payment_terms, "yyyy-MM-dd"), or declare the field type: date`},
		{`active == "yes"`, 1, 0, `compare it with true or false`},
		{`amount == due`, 1, 0, `amount is a number and due is a date`},
		{`sepa == 1`, 1, 0, `declare the parameter type of sepa: integer`},
		{`active < active`, 1, 0, `true/false values can't be ordered`},
		{`period.start == "2026-01-01"`, 1, 0, `period.start is a date and "2026-01-01" is text`},
		{"amount > 0 &&\n  payment_terms == 30", 2, 2, `payment_terms is text`},
		{`CASE(payment_terms, 30, "a", "b")`, 1, 20, `payment_terms is text and 30 is a number`},

		// Arithmetic.
		{`payment_terms * 2`, 1, 0, `payment_terms is text, so payment_terms * 2 would fail on every row (arithmetic needs numbers); convert it with VALUE(payment_terms), or declare the field type: decimal`},
		{`2 - "1"`, 1, 0, `"1" is text, so 2 - "1" would fail on every row (arithmetic needs numbers); write the number without quotes, 1`},
		{`payment_terms + amount`, 1, 0, `join them as text with CONCAT(payment_terms, amount), or convert it with VALUE(payment_terms), or declare the field type: decimal`},
		{`due + 30`, 1, 0, `due is a date, so due + 30 would fail on every row (arithmetic needs numbers); move a date by days with ADDDAYS(due, 30)`},
		{`due - 30`, 1, 0, `ADDDAYS(due, -30)`},
		{`active * 2`, 1, 0, `IF(active, 1, 0)`},
		{`-payment_terms`, 1, 0, `payment_terms is text, so -payment_terms would fail on every row`},
		{`ROUND(amount, 2) + 1 + payment_terms * 2`, 1, 23, `payment_terms is text`},

		// Conditions.
		{`IF(amount, 1, 2)`, 1, 3, `amount is a number, not a condition (true or false), so it would fail on every row; compare it, e.g. amount > 0`},
		{`payment_terms && active`, 1, 0, `compare it, e.g. payment_terms == "yes", or declare the field type: boolean`},
		{`!due`, 1, 1, `due is a date, not a condition`},
		{`amount > 0 ? 1 : 2`, 0, 0, ``},
		{`amount ? 1 : 2`, 1, 0, `amount is a number, not a condition`},

		// Functions.
		{`ROUND(payment_terms, 2)`, 1, 6, `ROUND needs a number, but payment_terms is text, so ROUND(payment_terms, 2) would fail on every row; convert it with VALUE(payment_terms), or declare the field type: decimal`},
		{`LEFT(payment_terms, "3")`, 1, 20, `LEFT needs a number as its count, but "3" is text`},
		{`DATEFORMAT(payment_terms, "dd.MM.yyyy")`, 1, 11, `DATEFORMAT needs a date, but payment_terms is text, so DATEFORMAT(payment_terms, "dd.MM.yyyy") would fail on every row; convert it with DATEVALUE(payment_terms, "yyyy-MM-dd"), or declare the field type: date`},
		{`DATEFORMAT("2026-01-31", "dd.MM.yyyy")`, 1, 11, `convert it with DATEVALUE("2026-01-31")`},
		{`ADDDAYS(due, "30")`, 1, 13, `ADDDAYS needs a number as its days`},
		{`VALUE(due)`, 1, 6, `VALUE needs text or a number, but due is a date`},
		{`NUMBERFORMAT(due, "0.00")`, 1, 13, `NUMBERFORMAT needs a number`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, probs := Compile(tt.expr, typedEnv())
			if tt.msg == "" {
				if len(probs) > 0 {
					t.Fatalf("refused: %+v", probs)
				}
				return
			}
			if len(probs) != 1 {
				t.Fatalf("problems %+v, want one containing %q", probs, tt.msg)
			}
			p := probs[0]
			if p.Line != tt.line || p.Col != tt.col || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("problem %d:%d %q\nwant      %d:%d %q", p.Line, p.Col, p.Msg, tt.line, tt.col, tt.msg)
			}
		})
	}
}

// declaredEnv is the environment of vars with each name's type declared
// as the kind of its value (or blank).
func declaredEnv(vars map[string]any) *Env {
	env := &Env{Vars: map[string]any{}, Types: map[string]NameType{}, Lookups: exampleLookups}
	for k, v := range vars {
		env.Vars[k] = nil
		env.Types[k] = NameType{Type: KindOf(v) | KindBlank, Decl: "field"}
	}
	return env
}

// TestTypeCheckAgainstRuntime: the mistakes of kind fail at run time and
// are refused at load once the fields' types are declared; failures that
// depend on the values are left to the run.
func TestTypeCheckAgainstRuntime(t *testing.T) {
	for _, c := range []struct {
		expr    string
		refused bool
	}{
		{`name == 30`, true},
		{`name > 3`, true},
		{`name + qty`, true},
		{`name * 2`, true},
		{`flag < flag`, true},
		{`due + 1`, true},
		{`IF(name, 1, 2)`, true},
		{`name && flag`, true},
		{`DATEFORMAT(name, "dd.MM.yyyy")`, true},
		{`ROUND(name, 2)`, true},
		{`LEFT(name, name)`, true},
		{`-due`, true},
		{`amount / 0`, false},
		{`2 ** 0.5`, false},
		{`LEFT(name, 1.5)`, false},
		{`DATEFORMAT(due, "DD")`, false},
		{`NUMBERFORMAT(amount, "x")`, false},
		{`MID(name, 0, 1)`, false},
		{`VALUE(name)`, false},
		{`DATEVALUE(name)`, false},
	} {
		if _, err := evalString(t, c.expr, exprVars); err == nil {
			t.Errorf("%s: runs without an error", c.expr)
		}
		_, probs := Compile(c.expr, declaredEnv(exprVars))
		if refused := len(probs) > 0; refused != c.refused {
			t.Errorf("%s: refused %v (%+v), want %v", c.expr, refused, probs, c.refused)
		}
	}
}
