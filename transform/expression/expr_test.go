package expression

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// exprVars are the fields the expression tests use.
var exprVars = map[string]any{
	"amount":  dec("19.99"),
	"rate":    dec("0.25"),
	"qty":     int64(3),
	"blank":   nil,
	"name":    "Acme",
	"empty":   "",
	"due":     time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC),
	"flag":    true,
	"limit":   dec("-5"),
	"big":     int64(9223372036854775807),
	"onefive": dec("1.50"),
}

func TestExpressions(t *testing.T) {
	tests := []struct {
		expr string
		want string // display form of the result
	}{
		// Decimal exactness: float literals are decimals, never float64.
		{"0.1 + 0.2 == 0.3", "true"},
		{"0.1 + 0.2", "0.3"},
		{"19.99 * 3", "59.97"},
		{"amount * qty", "59.97"},
		{"amount * 3 == 59.97", "true"},
		{"amount * rate", "4.9975"},
		{"amount + 1.5", "21.49"},
		{"1.10 * 1.10", "1.2100"},
		{"1 / 4", "0.25"},
		{"10 / 4", "2.5"},
		{"6 / 3", "2"},
		{"10 / 3", "3.3333333333333333"},
		{"7 % 3", "1"},
		{"7.5 % 2", "1.5"},
		{"2 ** 10", "1024"},
		{"-amount", "-19.99"},
		{"-qty", "-3"},
		{"+qty", "3"},
		{"1_000.50 + 0", "1000.50"},
		{"0.000000000000000000001 * 1000", "0.000000000000000001000"},
		{"123456789012345678.25 + 0.5", "123456789012345678.75"},
		{"big + 1", "9223372036854775808"},
		{"big * 2", "18446744073709551614"},
		{"qty + 1", "4"},
		{"onefive == 1.5", "true"},
		{"onefive == 1.50", "true"},
		{"qty == 3.0", "true"},
		{"qty < 3.5", "true"},
		// Blank: arithmetic gives blank; ordering is false; == and != work.
		{"blank + 1", "blank"},
		{"blank * amount", "blank"},
		{"-blank", "blank"},
		{"blank >= 0", "false"},
		{"blank < 0", "false"},
		{"blank == nil", "true"},
		{"blank != nil", "false"},
		{"blank == 0", "false"},
		{`blank == ""`, "true"},
		{`empty == nil`, "true"},
		{`blank != ""`, "false"},
		{"limit == nil || limit >= 0", "false"},
		{"blank == nil || blank >= 0", "true"},
		{"amount == nil || amount >= 0", "true"},
		// Text.
		{`name + "-" + qty`, ""},
		{`"ACC-" + name`, `"ACC-Acme"`},
		{`"ACC-" + blank`, `"ACC-"`},
		{`name == "Acme"`, "true"},
		{`name < "B"`, "true"},
		// Dates.
		{`due == DATEVALUE("2026-01-31")`, "true"},
		{`due < DATEVALUE("2026-02-01")`, "true"},
		// Conditions: blank counts as false; only the branch taken runs.
		{`blank && true`, "false"},
		{`blank || flag`, "true"},
		{`!blank`, "true"},
		{`not flag`, "false"},
		{`flag and qty > 2`, "true"},
		{`IF(blank, 1, 2)`, "2"},
		{`IF(qty > 0, 1, 1 / 0)`, "1"},
		{`qty > 0 ? "pos" : 1 / 0`, `"pos"`},
		{`IF(flag, IF(qty == 3, "three", "other"), "no")`, `"three"`},
		{`blank ?? "default"`, `"default"`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := evalString(t, tt.expr, exprVars)
			// The amounts as the engine keeps them when read from a file.
			got64, err64 := evalString(t, tt.expr, dec64Env(exprVars))
			if fmt.Sprint(err64) != fmt.Sprint(err) || Show(got64) != Show(got) {
				t.Errorf("%s over dec64 amounts = %s, %v; over decimals %s, %v", tt.expr, Show(got64), err64, Show(got), err)
			}
			if tt.want == "" {
				if err == nil {
					t.Fatalf("%s = %s, want an error", tt.expr, Show(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.expr, err)
			}
			if Show(got) != tt.want {
				t.Errorf("%s = %s, want %s", tt.expr, Show(got), tt.want)
			}
			// With the fields' types declared, it still compiles, and its
			// type holds the kind of what it gave.
			prog, probs := Compile(tt.expr, declaredEnv(exprVars))
			if len(probs) > 0 {
				t.Fatalf("%s: refused with the fields' types declared: %+v", tt.expr, probs)
			}
			if prog.Type()&KindOf(got) == 0 {
				t.Errorf("%s gave %s, which its type %s leaves out", tt.expr, Show(got), prog.Type())
			}
			if _, isFloat := got.(float64); isFloat {
				t.Errorf("%s gave a float64", tt.expr)
			}
		})
	}
}

func TestExpressionErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`name == 30`, `can't compare text "Acme" with number 30; put the number in quotes ("30") to compare text, or convert the text with VALUE(...)`},
		{`name > 3`, `can't compare text "Acme" with number 3`},
		{`name + qty`, `can't add text "Acme" and number 3; to join them as text use CONCAT(...) or TEXT(...)`},
		{`name * 2`, `can't use text "Acme" in arithmetic`},
		{`amount / 0`, `division by zero`},
		{`qty % 0`, `division by zero`},
		{`flag < flag`, `can't order true/false values`},
		{`due + 1`, `can't use date 2026-01-31 in arithmetic`},
		{`IF(name, 1, 2)`, `expected a condition (true or false), got text "Acme"`},
		{`name && flag`, `expected a condition`},
		{`2 ** 0.5`, `must be a whole number`},
		{`DATEFORMAT(name, "dd.MM.yyyy")`, `DATEFORMAT needs a date, not text "Acme"; convert text with DATEVALUE`},
		{`ROUND(name, 2)`, `ROUND needs a number, not text "Acme"; convert text with VALUE(...)`},
		{`LEFT(name, 1.5)`, `LEFT: the count must be a whole number, not number 1.5`},
		{`DATEFORMAT(due, "DD")`, `"D" is not a date or time letter`},
		{`NUMBERFORMAT(amount, "x")`, `number format "x" is not supported`},
		{`MID(name, 0, 1)`, `MID: the start must be 1 or more`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := evalString(t, tt.expr, exprVars)
			if err == nil {
				t.Fatalf("%s = %s, want error %q", tt.expr, Show(got), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: error %q, want it to contain %q", tt.expr, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: error has several lines: %q", tt.expr, err)
			}
		})
	}
}

func TestCompileProblems(t *testing.T) {
	env := &Env{Vars: map[string]any{"payment_terms": nil, "amount": nil}, Lookups: exampleLookups, Later: map[string]bool{"total": true}}
	tests := []struct {
		expr      string
		line, col int
		msg       string
	}{
		{"paymentterms", 1, 0, `unknown name "paymentterms" (did you mean "payment_terms"?)`},
		{"amount + total", 1, 9, `"total" is a model field defined further down`},
		{"TRIMM(amount)", 1, 0, `unknown name "TRIMM" (did you mean "TRIM"?)`},
		{`LOOKUP("nope", amount)`, 1, 7, `unknown lookup table "nope"`},
		{"amount +\n  nope", 2, 2, `unknown name "nope"`},
		{"now()", 1, 0, `unknown name "now"`},
		{"len(amount)", 1, 0, `unknown name "len"`},
		{"amount > limit", 1, 9, `unknown name "limit"`}, // in a comparison, which expr's checker lets through
		{"NVL(amount, 0) == 1", 1, 0, `unknown name "NVL"`},
		{"payment_term != \"30\"", 1, 0, `unknown name "payment_term" (did you mean "payment_terms"?)`},
		{"PADLEFT(amount)", 1, 0, `PADLEFT takes 2 to 3 arguments, not 1; write it as PADLEFT(text, length, character)`},
		{"CONCAT()", 1, 0, `CONCAT takes at least 1 arguments, not 0`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, probs := Compile(tt.expr, env)
			if len(probs) == 0 {
				t.Fatal("compiled")
			}
			p := probs[0]
			if p.Line != tt.line || p.Col != tt.col || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("problem %d:%d %q, want %d:%d %q", p.Line, p.Col, p.Msg, tt.line, tt.col, tt.msg)
			}
		})
	}
}

// TestSandbox checks that expressions reach nothing but the fields and
// the function library.
func TestSandbox(t *testing.T) {
	for _, src := range []string{`now()`, `env("HOME")`, `$env`, `date("2026-01-01")`, `duration("1h")`, `toJSON(1)`} {
		_, probs := Compile(src, &Env{Vars: map[string]any{}})
		if len(probs) == 0 {
			t.Errorf("%s compiles", src)
		}
	}
}

func BenchmarkEval(b *testing.B) {
	env := &Env{Vars: map[string]any{"amount": nil, "rate": nil, "name": nil}}
	prog, probs := Compile(`IF(amount >= 0, ROUND(amount * rate, 2), 0) + LEN(TRIM(name))`, env)
	if probs != nil {
		b.Fatal(probs)
	}
	vars := map[string]any{"amount": dec("1234.56"), "rate": dec("0.25"), "name": " Acme  Corp "}
	var ev Evaluator
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ev.Eval(prog, vars); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValuesBounded: what an expression makes from data stays within
// MaxDigits and MaxText, and fails fast (not after minutes or gigabytes)
// when it would not.
func TestValuesBounded(t *testing.T) {
	long := strings.Repeat("x", 110)
	for _, c := range []struct{ src, want string }{
		{"((10 ** 1000) ** 1000) ** 1000", "digits"},
		{"(2 ** 1000) * (3 ** 1000) * (7 ** 1000)", "digits"},
		{"ROUND(1.5, 2000000000)", "decimals"},
		{`PADLEFT(note, 2000000000, "x")`, "1 MiB"},
		{`REPLACE(REPLACE(REPLACE(REPLACE(note, "x", note), "x", note), "x", note), "x", note)`, "1 MiB"},
		{`CONCAT(PADLEFT(note, 1000000, "y"), PADLEFT(note, 1000000, "y"))`, "1 MiB"},
		{`PADLEFT(note, 1000000, "y") + PADLEFT(note, 1000000, "y")`, "1 MiB"},
	} {
		start := time.Now()
		_, err := evalString(t, c.src, map[string]any{"note": long})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", c.src, err, c.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v", c.src, d)
		}
	}
	for _, c := range []struct{ src, want string }{
		{"2 ** 10", "1024"}, {"10 ** 300", "1" + strings.Repeat("0", 300)}, {`LEN(PADLEFT("a", 1000, "b"))`, "1000"},
	} {
		got, err := evalString(t, c.src, nil)
		if err != nil || Text(got) != c.want {
			t.Errorf("%s = %v, %v; want %s", c.src, Text(got), err, c.want)
		}
	}
}

// TestTextOperators: matches, contains, startsWith and endsWith work on a
// field's value (whose type expr does not know), a blank value matches
// nothing, and a pattern that is not a regular expression is a compile
// problem at its place.
func TestTextOperators(t *testing.T) {
	env := &Env{Vars: map[string]any{"account": nil, "amount": nil}}
	for _, c := range []struct {
		src  string
		vars map[string]any
		want bool
	}{
		{`account matches "^[0-9]+$"`, map[string]any{"account": "1920"}, true},
		{`account matches "^[0-9]+$"`, map[string]any{"account": "19A0"}, false},
		{`account matches "^[0-9]+$"`, map[string]any{"account": nil}, false},
		{`account contains "9"`, map[string]any{"account": "1920"}, true},
		{`account startsWith "19"`, map[string]any{"account": "1920"}, true},
		{`account endsWith "19"`, map[string]any{"account": "1920"}, false},
		{`not (account matches "^NO")`, map[string]any{"account": "SE12"}, true},
	} {
		p, probs := Compile(c.src, env)
		if len(probs) > 0 {
			t.Errorf("%s: %v", c.src, probs)
			continue
		}
		var ev Evaluator
		got, err := ev.Eval(p, c.vars)
		if err != nil || got != c.want {
			t.Errorf("%s with %v = %v, %v; want %v", c.src, c.vars, got, err, c.want)
		}
	}
	if _, probs := Compile(`account matches "[0-9"`, env); len(probs) != 1 || probs[0].Col != 16 || !strings.Contains(probs[0].Msg, "not a regular expression") {
		t.Errorf("a bad pattern: %+v", probs)
	}
}
