package fixedwidth

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Overpunch: the last digit of a signed zoned decimal carries the sign.
const (
	overpunchPos = "{ABCDEFGHI" // +0 .. +9
	overpunchNeg = "}JKLMNOPQR" // -0 .. -9
)

// parseNumber reads the text of a numeric field (as it stands in the
// line, padding included) into a decimal. Blank is (zero, false, nil).
func parseNumber(f *Field, s string) (decimal.Decimal, bool, error) {
	t := strings.Trim(s, " ")
	if f.Pad != ' ' && f.Pad != '0' {
		t = strings.Trim(t, string(f.Pad))
	}
	if t == "" {
		return decimal.Zero, false, nil
	}
	neg := false
	switch f.Sign {
	case SignLeading:
		if t[0] == '-' || t[0] == '+' {
			neg, t = t[0] == '-', strings.TrimLeft(t[1:], " ")
		}
	case SignTrailing:
		if c := t[len(t)-1]; c == '-' || c == '+' {
			neg, t = c == '-', strings.TrimRight(t[:len(t)-1], " ")
		}
	case SignOverpunch:
		last := t[len(t)-1]
		if i := strings.IndexByte(overpunchPos, last); i >= 0 {
			t = t[:len(t)-1] + string(rune('0'+i))
		} else if i := strings.IndexByte(overpunchNeg, last); i >= 0 {
			t, neg = t[:len(t)-1]+string(rune('0'+i)), true
		}
	}
	if t == "" {
		return decimal.Zero, false, errors.New("a sign without digits")
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return decimal.Zero, false, fmt.Errorf("%q is not a number: %q at its character %d is not a digit%s", s, t[i:i+1], i+1, signHint(f))
		}
	}
	d, err := decimal.NewFromString(t)
	if err != nil {
		return decimal.Zero, false, fmt.Errorf("%q is not a number", s)
	}
	d = d.Shift(int32(-f.Decimals))
	if neg {
		d = d.Neg()
	}
	return d, true, nil
}

func signHint(f *Field) string {
	switch f.Sign {
	case SignNone:
		return " (the field is unsigned, digits only)"
	case SignOverpunch:
		return " (the field is signed by overpunch: digits, the last one may be {A-I or }J-R)"
	}
	return " (the field holds digits and a " + f.Sign + " sign)"
}

// formatNumber writes d into the field's characters: digits with the
// implied decimals, the sign, padding. It fails when d has more decimals
// than the field or does not fit.
func formatNumber(f *Field, d decimal.Decimal) (string, error) {
	if !d.Equal(d.Truncate(int32(f.Decimals))) {
		return "", fmt.Errorf("%s has more decimals than the field's %d; round it in the template", d.String(), f.Decimals)
	}
	neg := d.Sign() < 0
	if neg && f.Sign == SignNone {
		return "", fmt.Errorf("%s is negative and the field is unsigned", d.String())
	}
	digits := d.Abs().Shift(int32(f.Decimals)).StringFixed(0)
	switch f.Sign {
	case SignOverpunch:
		last := digits[len(digits)-1] - '0'
		set := overpunchPos
		if neg {
			set = overpunchNeg
		}
		digits = digits[:len(digits)-1] + set[last:last+1]
	case SignLeading, SignTrailing:
		sign := "+"
		if neg {
			sign = "-"
		}
		width := f.Length - 1
		if len(digits) > width {
			return "", tooLong(d, f)
		}
		body := pad(digits, width, f.Align, f.Pad)
		if f.Sign == SignLeading {
			return sign + body, nil
		}
		return body + sign, nil
	}
	if len(digits) > f.Length {
		return "", tooLong(d, f)
	}
	return pad(digits, f.Length, f.Align, f.Pad), nil
}

func tooLong(d decimal.Decimal, f *Field) error {
	return fmt.Errorf("%s does not fit in the field's %d characters", d.String(), f.Length)
}

// formatText writes a text value into the field.
func formatText(f *Field, s string) (string, error) {
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%q holds a line break, which would end the record", s)
	}
	if n := utf8.RuneCountInString(s); n > f.Length {
		if !f.Truncate {
			return "", fmt.Errorf("%q is %d characters long, longer than the field's %d; shorten it in the template, or set truncate: true", s, n, f.Length)
		}
		s = string([]rune(s)[:f.Length])
	}
	return pad(s, f.Length, f.Align, f.Pad), nil
}

func pad(s string, width int, align string, p rune) string {
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	fill := strings.Repeat(string(p), width-n)
	if align == "right" {
		return fill + s
	}
	return s + fill
}

// textValue is the text of a text field as read: without its padding.
func textValue(f *Field, s string) string {
	if f.Align == "right" {
		return strings.TrimLeft(s, string(f.Pad))
	}
	return strings.TrimRight(s, string(f.Pad))
}
