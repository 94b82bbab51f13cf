package expression

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// FuzzParseDecimal checks that amounts people write either parse to the
// exact value their digits say or are refused, and never panic.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"1250.50", "-3.5", "3.5-", "(3.50)", "1 234,50", "12,5", "1.234.567,89", "", "-", ".", "1e5", "+0.0"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, comma bool) {
		decSep, thouSep := ".", ","
		if comma {
			decSep, thouSep = ",", " "
		}
		d, err := parseDecimalText(s, decSep, thouSep)
		if err != nil {
			if !strings.Contains(err.Msg, "is not a decimal number") {
				t.Errorf("%q: message %q", s, err.Msg)
			}
			return
		}
		// The digits of the input are the digits of the value.
		digits := func(s string) string {
			var b strings.Builder
			for _, r := range s {
				if r >= '0' && r <= '9' {
					b.WriteRune(r)
				}
			}
			return strings.TrimLeft(b.String(), "0")
		}
		if got, want := digits(d.Abs().Coefficient().String()), digits(s); got != want && !d.IsZero() {
			t.Errorf("%q parsed as %s", s, d)
		}
		// Written back plainly, the value reads the same.
		back, err := parseDecimalText(PlainDecimal(d), ".", "")
		if err != nil || !back.Equal(d) {
			t.Errorf("%q → %s → %v, %v", s, PlainDecimal(d), back, err)
		}
	})
}

// FuzzDateLayout checks that any layout either compiles or is refused,
// and that a compiled layout reads what it writes.
func FuzzDateLayout(f *testing.F) {
	for _, s := range []string{"dd.MM.yyyy", "yyyy-MM-ddTHH:mm:ss.fff", "d MMMM yyyy", "'Q'yyyy", `yyyy\-MM`, "DD", "hh:mm tt", "yyyyMMddHHmmss"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseDateLayout(s)
		if err != nil {
			return
		}
		text := l.Format(exampleDate)
		if ambiguous(l) {
			return
		}
		back, err := l.Parse(text)
		if err != nil {
			t.Fatalf("layout %q can't read its own %q: %v", s, text, err)
		}
		if again := l.Format(back); again != text {
			t.Errorf("layout %q: %q read back as %q", s, text, again)
		}
	})
}

// ambiguous reports layouts that can't read back what they write: a part
// given twice or not at all (year, month, day), names (read in English
// only), or a number without a fixed width next to another number.
func ambiguous(l *DateLayout) bool {
	seen := map[byte]bool{}
	numeric := numericSpec
	for i, tok := range l.tokens {
		if tok.kind == "" {
			continue
		}
		c := tok.kind[0]
		if c == 'F' || c == 'f' || tok.kind == "ddd" || tok.kind == "dddd" || tok.kind == "tt" || c == 'h' {
			return true
		}
		if c == 'M' && len(tok.kind) >= 3 {
			c = 'N' // month by name
		}
		if seen[c] || c == 'N' && seen['M'] || c == 'M' && seen['N'] {
			return true
		}
		seen[c] = true
		if len(tok.kind) == 1 && i+1 < len(l.tokens) && numeric(l.tokens[i+1].kind) {
			return true
		}
		if i > 0 && len(tok.kind) == 1 && numeric(l.tokens[i-1].kind) {
			return true
		}
	}
	return !seen['y'] || !(seen['M'] || seen['N']) || !seen['d']
}

// FuzzExpression compiles and runs arbitrary expressions: they must fail
// with an error, never panic, never give a float, and give a value of the
// type the type check says.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{"amount * rate", "0.1 + 0.2", `IF(blank, 1, "x")`, `LOOKUP("payment_terms", name, "")`,
		`NUMBERFORMAT(amount, "#,##0.00", ",")`, `DATEFORMAT(due, "dd.MM.yyyy")`, "qty ** 3", `FORMAT("%1%2", name)`,
		`MID(name, 2, 2) + LEFT(name, -1)`, "big * big", "-big - big", `PADLEFT(name, 1000, "0")`} {
		f.Add(s)
	}
	names := map[string]any{}
	for k := range exprVars {
		names[k] = nil
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 || strings.Contains(s, "**") && strings.Count(s, "*") > 4 {
			return // keep runs quick; huge powers are refused anyway
		}
		prog, probs := Compile(s, &Env{Vars: names, Lookups: exampleLookups})
		if len(probs) > 0 {
			return
		}
		env := map[string]any{}
		for k, v := range exprVars {
			env[k] = v
		}
		var ev Evaluator
		v, err := ev.Eval(prog, env)
		// The amounts as the engine keeps them when read from a file.
		v64, err64 := ev.Eval(prog, dec64Env(env))
		if fmt.Sprint(err64) != fmt.Sprint(err) || Show(v64) != Show(v) {
			t.Errorf("%s over dec64 amounts = %s, %v; over decimals %s, %v", s, Show(v64), err64, Show(v), err)
		}
		if err != nil {
			return
		}
		// The type check, with the fields' types declared, allows what
		// the expression gave.
		if typed, probs := Compile(s, declaredEnv(exprVars)); len(probs) == 0 && typed.Type()&KindOf(v) == 0 {
			t.Errorf("%s gave %s, which its type %s leaves out", s, Show(v), typed.Type())
		}
		switch v.(type) {
		case float64, float32:
			t.Errorf("%s gave a float: %v", s, v)
		case decimal.Decimal:
		}
	})
}
