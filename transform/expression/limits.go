package expression

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// An expression runs on data erpipe does not trust, once per row, so no
// value it makes may grow without bound: ((10 ** 1000) ** 1000) ** 1000
// would take longer than any job timeout, and nested REPLACE or
// PADLEFT(x, 2000000000) gigabytes per row. The operators and functions
// that can make a value larger than their arguments check, before they
// do the work, that the result stays within these limits, and fail the
// row with an error that says so otherwise. Every other operation is
// bounded by its arguments, so an expression's time and memory per row
// are bounded by its size times these limits.
const (
	// MaxDigits is the most digits a number may have, before and after
	// the decimal point together.
	MaxDigits = 1000
	// MaxText is the longest text a value may be, in bytes (1 MiB).
	MaxText = 1 << 20
)

// maxBits is MaxDigits in bits of the coefficient (log2(10) ≈ 3.33).
const maxBits = MaxDigits * 10 / 3

// errTooManyDigits is the error of a number result over MaxDigits.
func errTooManyDigits(what string) error {
	return fmt.Errorf("%s would have more than %d digits; a number may have at most %d", what, MaxDigits, MaxDigits)
}

// checkSum fails when a + b would have more than about MaxDigits digits:
// adding aligns the exponents, so a value with many digits after the
// point and one with many before make a long one. (The operands' own
// digits are bounded by the checks that made them.)
func checkSum(a, b decimal.Decimal) error {
	ea, eb := int64(a.Exponent()), int64(b.Exponent())
	if ea-eb > MaxDigits || eb-ea > MaxDigits {
		return errTooManyDigits(fmt.Sprintf("%s + %s", short(a), short(b)))
	}
	return nil
}

// checkProduct fails when a × b would have more than about MaxDigits
// digits, before it is computed.
func checkProduct(a, b decimal.Decimal) error {
	if a.IsZero() || b.IsZero() {
		return nil
	}
	bits := a.Coefficient().BitLen() + b.Coefficient().BitLen()
	e := int64(a.Exponent()) + int64(b.Exponent())
	if bits > maxBits || e > MaxDigits || e < -MaxDigits {
		return errTooManyDigits(fmt.Sprintf("%s * %s", short(a), short(b)))
	}
	return nil
}

// checkPower fails when a ** n (|n| <= 1000) would have more than about
// MaxDigits digits, before it is computed.
func checkPower(a decimal.Decimal, n int64) error {
	if a.IsZero() || n == 0 {
		return nil
	}
	if n < 0 {
		n = -n
	}
	bits := int64(a.Coefficient().BitLen()-1) * n // 1 ** n stays 1
	e := int64(a.Exponent()) * n
	if bits > maxBits || e > MaxDigits || e < -MaxDigits {
		return errTooManyDigits(fmt.Sprintf("%s ** %d", short(a), n))
	}
	return nil
}

// checkText fails when a text of n bytes would be longer than MaxText.
func checkText(fn string, n int64) error {
	if n > MaxText {
		return fmt.Errorf("%s would make a text of %d bytes; a text may be at most %d bytes (1 MiB)", fn, n, MaxText)
	}
	return nil
}

// short renders d for a message, cut when it is long.
func short(d decimal.Decimal) string {
	s := PlainDecimal(d)
	if len(s) > 24 {
		return s[:20] + "..."
	}
	return s
}
