package expression

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Values in expressions are one of: nil (blank), string, int64,
// decimal.Decimal or dec64 (the same numbers, see dec64.go), time.Time,
// bool. Integer literals arrive as int and are treated as int64. Operators never use floating point: float literals are
// rewritten to decimals when an expression is compiled (see patcher).

// divisionPlaces is how many decimals a division keeps when it does not
// come out exact (10 / 3 = 3.3333333333333333).
const divisionPlaces = 16

// KindName names the type of v for messages.
func KindName(v any) string {
	switch v.(type) {
	case nil:
		return "blank"
	case string:
		return "text"
	case int, int64, int32, decimal.Decimal, Dec64, float64:
		return "number"
	case time.Time:
		return "date"
	case bool:
		return "true/false"
	}
	return fmt.Sprintf("%T", v)
}

// Show renders v for messages: text quoted, blank as "blank".
func Show(v any) string {
	switch x := v.(type) {
	case nil:
		return "blank"
	case string:
		return strconv.Quote(x)
	}
	return Text(v)
}

// Text renders a value as text: decimals plain with the decimals they
// have ("1250.50"), dates as yyyy-MM-dd (with " HH:mm:ss" when they have a
// time), true/false, blank as "".
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case Dec64:
		return x.String()
	case decimal.Decimal:
		return PlainDecimal(x)
	case time.Time:
		if h, m, s := x.Clock(); h != 0 || m != 0 || s != 0 || x.Nanosecond() != 0 {
			return x.Format("2006-01-02 15:04:05")
		}
		return dateText(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return PlainDecimal(decimal.NewFromFloat(x))
	}
	return fmt.Sprint(v)
}

// PlainDecimal renders d without exponent, keeping its decimals: 1250.50
// stays "1250.50".
func PlainDecimal(d decimal.Decimal) string {
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}

// number converts a numeric value. isInt reports an integer (int64) value.
func number(v any) (d decimal.Decimal, i int64, isInt, ok bool) {
	switch x := v.(type) {
	case int:
		return decimal.Decimal{}, int64(x), true, true
	case int64:
		return decimal.Decimal{}, x, true, true
	case int32:
		return decimal.Decimal{}, int64(x), true, true
	case Dec64:
		return x.big(), 0, false, true
	case decimal.Decimal:
		return x, 0, false, true
	case float64:
		return decimal.NewFromFloat(x), 0, false, true
	}
	return decimal.Decimal{}, 0, false, false
}

// ToDecimal converts a number to a decimal.
func ToDecimal(v any) (decimal.Decimal, bool) {
	d, i, isInt, ok := number(v)
	if isInt {
		return decimal.NewFromInt(i), true
	}
	return d, ok
}

// Normalize maps the integer kinds to int64 and floats to decimal, so
// callers see only the documented value types.
func Normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float64:
		return decimal.NewFromFloat(x)
	}
	return v
}

func opError(format string, args ...any) error { return fmt.Errorf(format, args...) }

// arith applies + - * / % to a and b. Blank (nil) in arithmetic gives
// blank, except that + with text joins text and treats blank as "".
func arith(op string, a, b any) (any, error) {
	if r, ok := arith64(op, a, b); ok {
		return r, nil
	}
	_, aStr := a.(string)
	_, bStr := b.(string)
	if op == "+" && (aStr || bStr) {
		if (aStr || a == nil) && (bStr || b == nil) {
			at, bt := Text(a), Text(b)
			if err := checkText("joining text with +", int64(len(at))+int64(len(bt))); err != nil {
				return nil, err
			}
			return at + bt, nil
		}
		return nil, opError("can't add %s %s and %s %s; to join them as text use CONCAT(...) or TEXT(...)", KindName(a), Show(a), KindName(b), Show(b))
	}
	if a == nil || b == nil {
		if a != nil {
			if _, _, _, ok := number(a); !ok {
				return nil, opError("can't use %s %s in arithmetic", KindName(a), Show(a))
			}
		}
		if b != nil {
			if _, _, _, ok := number(b); !ok {
				return nil, opError("can't use %s %s in arithmetic", KindName(b), Show(b))
			}
		}
		return nil, nil
	}
	ad, ai, aInt, aok := number(a)
	bd, bi, bInt, bok := number(b)
	if !aok || !bok {
		bad := a
		if aok {
			bad = b
		}
		return nil, opError("can't use %s %s in arithmetic (%s %s %s)", KindName(bad), Show(bad), Show(a), op, Show(b))
	}
	if aInt && bInt {
		switch op {
		case "+":
			if r := ai + bi; (r > ai) == (bi > 0) {
				return r, nil
			}
		case "-":
			if r := ai - bi; (r < ai) == (bi > 0) {
				return r, nil
			}
		case "*":
			if ai == 0 || bi == 0 {
				return int64(0), nil
			}
			if r := ai * bi; r/bi == ai && !(ai == -1 && bi == math.MinInt64) && !(bi == -1 && ai == math.MinInt64) {
				return r, nil
			}
		case "%":
			if bi == 0 {
				return nil, opError("division by zero (%d %% 0)", ai)
			}
			return ai % bi, nil
		}
		ad, bd = decimal.NewFromInt(ai), decimal.NewFromInt(bi)
	} else {
		if aInt {
			ad = decimal.NewFromInt(ai)
		}
		if bInt {
			bd = decimal.NewFromInt(bi)
		}
	}
	switch op {
	case "+", "-":
		if err := checkSum(ad, bd); err != nil {
			return nil, err
		}
		if op == "+" {
			return ad.Add(bd), nil
		}
		return ad.Sub(bd), nil
	case "*":
		if err := checkProduct(ad, bd); err != nil {
			return nil, err
		}
		return mulDecimal(ad, bd), nil
	case "/":
		if bd.IsZero() {
			return nil, opError("division by zero (%s / 0)", PlainDecimal(ad))
		}
		return trimZeros(ad.DivRound(bd, divisionPlaces)), nil
	case "%":
		if bd.IsZero() {
			return nil, opError("division by zero (%s %% 0)", PlainDecimal(ad))
		}
		return ad.Mod(bd), nil
	case "**":
		if !bd.IsInteger() || bd.Abs().GreaterThan(decimal.NewFromInt(1000)) {
			return nil, opError("the power %s must be a whole number between -1000 and 1000", PlainDecimal(bd))
		}
		if err := checkPower(ad, bd.IntPart()); err != nil {
			return nil, err
		}
		if bd.Sign() < 0 {
			if ad.IsZero() {
				return nil, opError("division by zero (0 ** %s)", PlainDecimal(bd))
			}
			return trimZeros(decimal.NewFromInt(1).DivRound(ad.Pow(bd.Neg()), divisionPlaces)), nil
		}
		return ad.Pow(bd), nil
	}
	return nil, opError("unknown operator %s", op)
}

// dateText is t.Format("2006-01-02"), without parsing the layout.
func dateText(t time.Time) string {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format("2006-01-02")
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}

// pow10 holds the powers of ten that fit in an int64.
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// mulDecimal is a.Mul(b), computed in int64 when the product's digits fit
// (amounts times rates nearly always do): the same digits and exponent,
// with one allocation instead of two.
func mulDecimal(a, b decimal.Decimal) decimal.Decimal {
	if a.NumDigits()+b.NumDigits() <= 18 {
		if e := int64(a.Exponent()) + int64(b.Exponent()); e >= math.MinInt32 && e <= math.MaxInt32 {
			return decimal.New(a.CoefficientInt64()*b.CoefficientInt64(), int32(e))
		}
	}
	return a.Mul(b)
}

// roundHalfAway is d.Round(places), rounding half away from zero, computed
// in int64 when d's digits fit: the same steps as decimal.Round (truncate to
// one more decimal, add or take 5, truncate the last digit), the same
// digits and exponent, with one allocation instead of four.
func roundHalfAway(d decimal.Decimal, places int32) decimal.Decimal {
	shift := int64(-places) - 1 - int64(d.Exponent())
	if shift >= 0 && shift < int64(len(pow10)) && d.NumDigits() <= 18 {
		t := d.CoefficientInt64() / pow10[shift]
		if t < 0 {
			t -= 5
		} else {
			t += 5
		}
		return decimal.New(t/10, -places)
	}
	return d.Round(places)
}

// negate returns -v; blank stays blank.
func negate(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	d, i, isInt, ok := number(v)
	if !ok {
		return nil, opError("can't negate %s %s", KindName(v), Show(v))
	}
	if isInt && i != math.MinInt64 {
		return -i, nil
	}
	if isInt {
		return decimal.NewFromInt(i).Neg(), nil
	}
	return d.Neg(), nil
}

// equal reports whether a and b are the same value. Blank equals blank and
// the empty text; numbers compare by value (1.50 == 1.5); values of
// different kinds are an error, because such a comparison is always a
// mistake in the template.
func equal(a, b any) (bool, error) {
	if a == nil || b == nil {
		if a == nil && b == nil {
			return true, nil
		}
		other := a
		if a == nil {
			other = b
		}
		if s, ok := other.(string); ok {
			return s == "", nil
		}
		return false, nil
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return x == y, nil
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y, nil
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Equal(y), nil
		}
	default:
		c, err := Compare(a, b)
		if err != nil {
			return false, err
		}
		return c == 0, nil
	}
	return false, mismatch(a, b)
}

func mismatch(a, b any) error {
	hint := ""
	_, aStr := a.(string)
	_, bStr := b.(string)
	_, _, _, aNum := number(a)
	_, _, _, bNum := number(b)
	if aStr && bNum || bStr && aNum {
		hint = `; put the number in quotes ("30") to compare text, or convert the text with VALUE(...)`
	}
	return opError("can't compare %s %s with %s %s%s", KindName(a), Show(a), KindName(b), Show(b), hint)
}

// Compare orders two non-blank values of the same kind.
func Compare(a, b any) (int, error) {
	if _, isDec := a.(Dec64); isDec {
		if y, ok := asDec64(b); ok {
			if c, ok := cmp64(a.(Dec64), y); ok {
				return c, nil
			}
		}
	} else if _, isDec := b.(Dec64); isDec {
		if x, ok := asDec64(a); ok {
			if c, ok := cmp64(x, b.(Dec64)); ok {
				return c, nil
			}
		}
	}
	ad, ai, aInt, aok := number(a)
	bd, bi, bInt, bok := number(b)
	if aok && bok {
		if aInt && bInt {
			switch {
			case ai < bi:
				return -1, nil
			case ai > bi:
				return 1, nil
			}
			return 0, nil
		}
		if aInt {
			ad = decimal.NewFromInt(ai)
		}
		if bInt {
			bd = decimal.NewFromInt(bi)
		}
		return ad.Cmp(bd), nil
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y), nil
		}
	}
	return 0, mismatch(a, b)
}

// Order implements < <= > >=. A comparison with blank is false.
func Order(op string, a, b any) (bool, error) {
	if a == nil || b == nil {
		return false, nil
	}
	if _, ok := a.(bool); ok {
		return false, opError("can't order true/false values with %s", op)
	}
	c, err := Compare(a, b)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, opError("unknown operator %s", op)
}

// Truth is a value used as a condition: true/false, blank counts as false.
func Truth(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case nil:
		return false, nil
	}
	return false, opError("expected a condition (true or false), got %s %s", KindName(v), Show(v))
}
