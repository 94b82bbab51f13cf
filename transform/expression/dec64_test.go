package expression

import (
	"math"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// dec64Env returns env with every decimal that fits turned into a dec64,
// as the engine keeps amounts read from files.
func dec64Env(env map[string]any) map[string]any {
	out := make(map[string]any, len(env))
	for k, v := range env {
		if d, ok := v.(decimal.Decimal); ok && d.Coefficient().IsInt64() {
			v = Dec64{c: d.Coefficient().Int64(), e: d.Exponent()}
		}
		out[k] = v
	}
	return out
}

// sameDecimal reports whether a dec64 is the decimal d: the same digits
// and the same exponent (so the same text).
func sameDecimal(x Dec64, d decimal.Decimal) bool {
	return x.big().Equal(d) && x.e == d.Exponent() && x.String() == PlainDecimal(d)
}

// checkDec64 checks every dec64 operation on a and b against the library.
func checkDec64(t *testing.T, a, b Dec64, places int32) {
	t.Helper()
	da, db := a.big(), b.big()
	if got, want := a.String(), PlainDecimal(da); got != want {
		t.Errorf("%v: String = %q, want %q", da, got, want)
	}
	if r, ok := mul64(a, b); ok && !sameDecimal(r, da.Mul(db)) {
		t.Errorf("%v * %v = %v (exp %d), want %v (exp %d)", da, db, r, r.e, da.Mul(db), da.Mul(db).Exponent())
	}
	if r, ok := add64(a, b, false); ok && !sameDecimal(r, da.Add(db)) {
		t.Errorf("%v + %v = %v, want %v", da, db, r, da.Add(db))
	}
	if r, ok := add64(a, b, true); ok && !sameDecimal(r, da.Sub(db)) {
		t.Errorf("%v - %v = %v, want %v", da, db, r, da.Sub(db))
	}
	if c, ok := cmp64(a, b); ok && c != da.Cmp(db) {
		t.Errorf("cmp(%v, %v) = %d, want %d", da, db, c, da.Cmp(db))
	}
	if r, ok := round64(a, places); ok && !sameDecimal(r, da.Round(places)) {
		t.Errorf("ROUND(%v, %d) = %v, want %v", da, places, r, da.Round(places))
	}
	for _, f := range []string{"0.00", "#,##0.00", "0", "0.0###", "000.0"} {
		nf, err := parseNumberFormat(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := nf.format64(a, ",", " "); ok {
			if want := nf.format(da, ",", " "); got != want {
				t.Errorf("NUMBERFORMAT(%v, %q) = %q, want %q", da, f, got, want)
			}
		}
	}
	// Through the operators, as expressions see them.
	for _, op := range []string{"+", "-", "*"} {
		got, err1 := arith(op, a, b)
		want, err2 := arith(op, da, db)
		if err1 != nil || err2 != nil || Text(got) != Text(want) {
			t.Errorf("%v %s %v = %v (%v), want %v (%v)", da, op, db, got, err1, want, err2)
		}
	}
	for _, op := range []string{"<", "<=", ">", ">="} {
		got, err1 := Order(op, a, b)
		want, err2 := Order(op, da, db)
		if err1 != nil || err2 != nil || got != want {
			t.Errorf("%v %s %v = %v, want %v", da, op, db, got, want)
		}
	}
	got, _ := equal(a, b)
	if want, _ := equal(da, db); got != want {
		t.Errorf("%v == %v = %v, want %v", da, db, got, want)
	}
}

func TestDec64MatchesDecimal(t *testing.T) {
	vals := []Dec64{
		{0, 0}, {0, -2}, {1, 0}, {-1, 0}, {1250, -2}, {-1250, -2}, {12345, -3}, {5, -1}, {-5, -1}, {15, -1}, {-25, -1},
		{123456789012345678, -2}, {-123456789012345678, -18}, {math.MaxInt64, 0}, {math.MinInt64, 0}, {math.MaxInt64, -18},
		{999999999999999999, -4}, {11575, -4}, {1065, -2}, {7, 3}, {-3, 1}, {1, -30},
	}
	for _, a := range vals {
		for _, b := range vals {
			for _, places := range []int32{-2, 0, 1, 2, 4, 18} {
				checkDec64(t, a, b, places)
			}
		}
	}
	// The fast paths are taken for amounts of the usual size.
	if _, ok := mul64(Dec64{1065, -2}, Dec64{11575, -4}); !ok {
		t.Error("10.65 * 1.1575 does not fit")
	}
	if r, ok := round64(Dec64{12327375, -6}, 2); !ok || r != (Dec64{1233, -2}) {
		t.Errorf("ROUND(12.327375, 2) = %v, %v", r, ok)
	}
}

func FuzzDec64(f *testing.F) {
	f.Add(int64(1065), int8(-2), int64(11575), int8(-4), int8(2))
	f.Add(int64(-25), int8(-1), int64(0), int8(0), int8(0))
	f.Add(int64(math.MaxInt64), int8(0), int64(-1), int8(-3), int8(-1))
	f.Fuzz(func(t *testing.T, c1 int64, e1 int8, c2 int64, e2 int8, places int8) {
		a := Dec64{c: c1, e: int32(e1 % 24)}
		b := Dec64{c: c2, e: int32(e2 % 24)}
		checkDec64(t, a, b, int32(places%22))
	})
}

// TestExcelDecimal64 checks the fast path of excelNumber against it.
func TestExcelDecimal64(t *testing.T) {
	for _, s := range []string{"0", "-0", "1250.5", "-1250.50", "25000.00", "0.000123", "123456789012345", "1234567890123456",
		"999999999999999.9", "0.1234567890123456789", "1E-3", "", "-", "1.2.3", "12,5"} {
		digits, neg := strings.CutPrefix(s, "-")
		d, ok := excelDecimal64(digits, neg)
		if !ok {
			continue
		}
		want, wantOK := excelNumber(s)
		if !wantOK || !sameDecimal(d, want) {
			t.Errorf("excelDecimal64(%q) = %v (exp %d), excelNumber gives %v (exp %d) %v", s, d, d.e, want, want.Exponent(), wantOK)
		}
	}
}
