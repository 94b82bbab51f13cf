package expression

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/shopspring/decimal"
)

// Dec64 is an exact decimal whose digits fit in an int64: c × 10^e. Amounts
// and rates read from files nearly always fit, and so do their products
// and sums, so they are kept as dec64 instead of decimal.Decimal, which
// holds a big.Int: no allocation but the value itself, no pointers for the
// garbage collector, and integer arithmetic.
//
// A dec64 is the same number, with the same digits and exponent, as the
// decimal.Decimal it stands for (big): every operation below gives what
// the library gives (TestDec64MatchesDecimal, FuzzDec64), and falls back to
// the library when the result does not fit. Code that does not know dec64
// gets a decimal.Decimal from number, ToDecimal or Exported.
type Dec64 struct {
	c int64
	e int32
}

// big returns d as a decimal.Decimal.
func (d Dec64) big() decimal.Decimal { return decimal.New(d.c, d.e) }

// String renders d as PlainDecimal renders its decimal: without exponent,
// keeping its decimals (1250.50).
func (d Dec64) String() string {
	if d.e > 0 || d.e < -18 {
		return PlainDecimal(d.big())
	}
	var buf [48]byte
	return string(d.appendText(buf[:0]))
}

// appendText appends d's text for an exponent in [-18, 0].
func (d Dec64) appendText(b []byte) []byte {
	places := int(-d.e)
	c := d.c
	if c < 0 {
		b = append(b, '-')
	}
	var tmp [20]byte
	digits := strconv.AppendUint(tmp[:0], absU(c), 10)
	if n := len(digits); n <= places { // 0.0…digits
		b = append(b, '0', '.')
		for ; n < places; n++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	n := len(digits)
	b = append(b, digits[:n-places]...)
	if places > 0 {
		b = append(b, '.')
		b = append(b, digits[n-places:]...)
	}
	return b
}

func absU(c int64) uint64 {
	if c < 0 {
		return uint64(-c) // also right for math.MinInt64
	}
	return uint64(c)
}

// Exported returns v with a dec64 turned into a decimal.Decimal, for code
// outside the package.
func Exported(v any) any {
	if d, ok := v.(Dec64); ok {
		return d.big()
	}
	return v
}

// asDec64 returns v as a dec64 when it is one, or an integer.
func asDec64(v any) (Dec64, bool) {
	switch x := v.(type) {
	case Dec64:
		return x, true
	case int64:
		return Dec64{c: x}, true
	case int:
		return Dec64{c: int64(x)}, true
	}
	return Dec64{}, false
}

// arith64 is arith for + - * when one side is a dec64 and the other a
// dec64 or an integer, and the result fits.
func arith64(op string, a, b any) (any, bool) {
	_, aDec := a.(Dec64)
	_, bDec := b.(Dec64)
	if !aDec && !bDec {
		return nil, false
	}
	x, ok1 := asDec64(a)
	y, ok2 := asDec64(b)
	if !ok1 || !ok2 {
		return nil, false
	}
	var r Dec64
	var ok bool
	switch op {
	case "*":
		r, ok = mul64(x, y)
	case "+":
		r, ok = add64(x, y, false)
	case "-":
		r, ok = add64(x, y, true)
	}
	if !ok {
		return nil, false
	}
	return r, true
}

// mul64 returns a × b when it fits: the product of the digits, the sum of
// the exponents (as decimal.Mul).
func mul64(a, b Dec64) (Dec64, bool) {
	e := int64(a.e) + int64(b.e)
	if e < math.MinInt32 || e > math.MaxInt32 {
		return Dec64{}, false
	}
	hi, lo := bits.Mul64(absU(a.c), absU(b.c))
	if hi != 0 || lo > math.MaxInt64 {
		return Dec64{}, false
	}
	c := int64(lo)
	if (a.c < 0) != (b.c < 0) {
		c = -c
	}
	return Dec64{c: c, e: int32(e)}, true
}

// rescale returns d's digits for the smaller exponent e (as the library
// rescales a pair before adding), when they fit.
func rescale(d Dec64, e int32) (int64, bool) {
	k := int64(d.e) - int64(e)
	if k == 0 {
		return d.c, true
	}
	if k < 0 || k >= int64(len(pow10)) {
		return 0, false
	}
	hi, lo := bits.Mul64(absU(d.c), uint64(pow10[k]))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if d.c < 0 {
		return -int64(lo), true
	}
	return int64(lo), true
}

// add64 returns a + b (sub: a - b) when it fits, with the smaller of the
// exponents (as decimal.Add).
func add64(a, b Dec64, sub bool) (Dec64, bool) {
	e := min(a.e, b.e)
	x, ok1 := rescale(a, e)
	y, ok2 := rescale(b, e)
	if !ok1 || !ok2 {
		return Dec64{}, false
	}
	if sub {
		if y == math.MinInt64 {
			return Dec64{}, false
		}
		y = -y
	}
	c := x + y
	if (c > x) != (y > 0) { // overflow
		return Dec64{}, false
	}
	return Dec64{c: c, e: e}, true
}

// cmp64 compares a and b by value, when their digits can be brought to
// one exponent.
func cmp64(a, b Dec64) (int, bool) {
	if sa, sb := sign(a.c), sign(b.c); sa != sb || sa == 0 {
		return max(min(sa-sb, 1), -1), true
	}
	e := min(a.e, b.e)
	x, ok1 := rescale(a, e)
	y, ok2 := rescale(b, e)
	if !ok1 || !ok2 {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

func sign(c int64) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// round64 is decimal.Round (half away from zero) for a dec64, when the
// result fits: places decimals, so the exponent is -places.
func round64(d Dec64, places int32) (Dec64, bool) {
	shift := int64(-places) - 1 - int64(d.e)
	switch {
	case shift == -1: // d has places decimals already
		return d, true
	case shift < -1: // fewer: add zeros
		c, ok := rescale(d, -places)
		return Dec64{c: c, e: -places}, ok
	case shift >= int64(len(pow10)):
		return Dec64{}, false
	}
	t := d.c / pow10[shift]
	if t > math.MaxInt64-5 || t < math.MinInt64+5 {
		return Dec64{}, false
	}
	if t < 0 {
		t -= 5
	} else {
		t += 5
	}
	return Dec64{c: t / 10, e: -places}, true
}
