package expression

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestPlainDecimalText checks the fast path of parseDecimalText against
// decimal.NewFromString: the same digits and exponent.
func TestPlainDecimalText(t *testing.T) {
	for _, c := range []struct {
		in, sep string
		neg, ok bool
	}{
		{"12.50", ".", false, true}, {"0.00", ".", true, true}, {"007", ".", false, true}, {"1234,5", ",", false, true},
		{"123456789012345678", ".", false, true}, {"1234567890123456789", ".", false, false},
		{".5", ".", false, true}, {"5.", ".", false, true}, {"1.2.3", ".", false, false}, {"1,5", ".", false, false},
		{"", ".", false, false}, {".", ".", false, false}, {"1 000", ".", false, false}, {"9.999999999999999999", ".", true, false},
	} {
		d, ok := plainDecimalText(c.in, c.sep, c.neg)
		if ok != c.ok {
			t.Errorf("%q: ok %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		text := strings.Replace(c.in, c.sep, ".", 1)
		if c.neg {
			text = "-" + text
		}
		want, err := decimal.NewFromString(text)
		if err != nil {
			t.Fatal(err)
		}
		if d.Exponent() != want.Exponent() || d.Coefficient().Cmp(want.Coefficient()) != 0 {
			t.Errorf("%q: %s (exp %d), want %s (exp %d)", c.in, d, d.Exponent(), want, want.Exponent())
		}
	}
}

// TestIdentFastPath checks that an expression made of a name alone is
// evaluated without the VM, with the VM's result.
func TestIdentFastPath(t *testing.T) {
	env := &Env{Vars: map[string]any{"amount": nil, "name": nil}}
	for src, ident := range map[string]string{"amount": "amount", " name ": "name", "amount + 1": "", "(amount)": "", `"amount"`: ""} {
		p, probs := Compile(src, env)
		if len(probs) > 0 {
			t.Fatal(src, probs)
		}
		if p.ident != ident {
			t.Errorf("%q: ident %q, want %q", src, p.ident, ident)
		}
	}
	p, _ := Compile("amount", env)
	var ev Evaluator
	for _, v := range []any{nil, "x", int64(3), 7, decimal.RequireFromString("1.50")} {
		got, err := ev.Eval(p, map[string]any{"amount": v})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ev.vm.Run(p.prog, map[string]any{"amount": v})
		if fmt.Sprint(got) != fmt.Sprint(Normalize(want)) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", Normalize(want)) {
			t.Errorf("%v: %#v, the VM gives %#v", v, got, want)
		}
	}
}

// TestDirectMatchesVM checks that the direct evaluator gives what the VM
// gives, values and errors, and that it takes the expressions it should.
func TestDirectMatchesVM(t *testing.T) {
	env := &Env{Vars: map[string]any{"amount": nil, "rate": nil, "name": nil},
		Lookups: map[string]map[string]string{"t": {"a": "A"}}}
	rows := []map[string]any{
		{"amount": decimal.RequireFromString("10.65"), "rate": decimal.RequireFromString("1.1575"), "name": "a"},
		{"amount": decimal.RequireFromString("-2.005"), "rate": int64(0), "name": "b"},
		{"amount": nil, "rate": "x", "name": nil},
		{"amount": int64(7), "rate": decimal.RequireFromString("0.5"), "name": " a "},
	}
	for src, wantDirect := range map[string]bool{
		"amount > 0": true, "ROUND(amount * rate, 2)": true, `NUMBERFORMAT(amount, "0.00")`: true,
		"amount / rate": true, "UPPER(name)": true, `CONCAT(name, "-", amount)`: true, "-amount": true,
		`LOOKUP("t", TRIM(name), "x")`: true, "amount == nil": true, "1.5 * 2": true,
		"IF(amount > 0, 1, 2)": false, "amount ?? 0": false, "amount > 0 && rate > 0": false,
	} {
		p, probs := Compile(src, env)
		if len(probs) > 0 {
			t.Fatal(src, probs)
		}
		if (p.direct != nil) != wantDirect {
			t.Errorf("%s: direct %v, want %v", src, p.direct != nil, wantDirect)
		}
		var ev Evaluator
		for _, row := range rows {
			got, err := ev.Eval(p, row)
			want, werr := ev.vm.Run(p.prog, row)
			if werr != nil {
				werr = runtimeError(werr)
			}
			if fmt.Sprint(err) != fmt.Sprint(werr) || fmt.Sprintf("%T %v", got, got) != fmt.Sprintf("%T %v", Normalize(want), Normalize(want)) {
				t.Errorf("%s over %v: %#v, %v; the VM gives %#v, %v", src, row, got, err, want, werr)
			}
		}
	}
}

// TestDecimalFastPaths checks mulDecimal and roundHalfAway against
// decimal's Mul and Round: the same digits and exponent.
func TestDecimalFastPaths(t *testing.T) {
	vals := []string{"0", "-0.00", "10.65", "1.1575", "-2.005", "2.345", "-2.345", "0.005", "-0.005", "0.0049",
		"999999999.99", "-123456789012.345678", "12345678901234567.8", "1e-30", "5", "1234", "0.5", "-0.5"}
	for _, as := range vals {
		a := decimal.RequireFromString(as)
		for _, bs := range vals {
			b := decimal.RequireFromString(bs)
			got, want := mulDecimal(a, b), a.Mul(b)
			if got.Exponent() != want.Exponent() || got.Coefficient().Cmp(want.Coefficient()) != 0 {
				t.Errorf("%s * %s: %s (exp %d), want %s (exp %d)", as, bs, got, got.Exponent(), want, want.Exponent())
			}
		}
		for places := int32(-3); places <= 6; places++ {
			got, want := roundHalfAway(a, places), a.Round(places)
			if got.Exponent() != want.Exponent() || got.Coefficient().Cmp(want.Coefficient()) != 0 {
				t.Errorf("ROUND(%s, %d): %s (exp %d), want %s (exp %d)", as, places, got, got.Exponent(), want, want.Exponent())
			}
		}
	}
}

// TestFixedText checks fixedText against decimal.StringFixed.
func TestFixedText(t *testing.T) {
	for _, s := range []string{"0", "0.00", "1.50", "-1.50", "0.05", "0.005", "123456789012345678", "12345678901234567.8",
		"1234567890123456789.12", "0.000000000000000001", "99.999", "7"} {
		d := decimal.RequireFromString(s)
		for places := 0; places <= 20; places++ {
			r := d.Round(int32(places)) // fixedText is called with places decimals
			if got, want := fixedText(r, places), r.StringFixed(int32(places)); got != want {
				t.Errorf("fixedText(%s, %d) = %q, want %q", r, places, got, want)
			}
		}
	}
}

// TestDateText checks dateText against time.Format.
func TestDateText(t *testing.T) {
	for _, y := range []int{-1, 0, 1, 999, 1900, 2024, 9999, 10000} {
		for _, md := range [][2]int{{1, 1}, {2, 29}, {12, 31}, {10, 9}} {
			d := time.Date(y, time.Month(md[0]), md[1], 0, 0, 0, 0, time.UTC)
			if got, want := dateText(d), d.Format("2006-01-02"); got != want {
				t.Errorf("dateText(%v) = %q, want %q", d, got, want)
			}
		}
	}
}
