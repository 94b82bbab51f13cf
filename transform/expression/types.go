package expression

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"
)

// Field types a template may give an input field.
const (
	TypeString   = "string"
	TypeInteger  = "integer"
	TypeDecimal  = "decimal"
	TypeDate     = "date"
	TypeDatetime = "datetime"
	TypeBoolean  = "boolean"
)

// FieldTypes are the types an input field may have (input.fields[].type).
var FieldTypes = []string{TypeString, TypeInteger, TypeDecimal, TypeDate, TypeDatetime, TypeBoolean}

// Default layouts, as ER writes them.
var (
	DefaultDateLayouts     = []string{"yyyy-MM-dd"}
	DefaultDatetimeLayouts = []string{"yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"}
)

// Default boolean words, matched without regard to case.
var (
	DefaultTrueValues  = []string{"true", "yes", "y", "1", "ja", "j", "x"}
	DefaultFalseValues = []string{"false", "no", "n", "0", "nei", "nein"}
)

// InputField is one field of the input, as the template declares it.
type InputField struct {
	Name    string
	Column  string
	Type    string
	Layouts []*DateLayout
	DecSep  string
	// DecSepSet says the template set DecSep. When it did not, an amount
	// written with the other separator is read too where that can't be
	// mistaken (12,5 or 1.250,50 in a "." field; not 1,250).
	DecSepSet bool
	ThouSep   string
	TrueSet   map[string]bool
	FalseSet  map[string]bool
	TrueList  []string
	FalseList []string
	Required  bool
	Default   *string
	Hint      string // what to write instead of a bad value
}

// ValueError is a bad value: what is wrong and how to fix it.
type ValueError struct {
	Msg  string
	Hint string
}

// Error returns what is wrong.
func (e *ValueError) Error() string { return e.Msg }

// ErrRequired is the error of a blank cell in a required field.
var ErrRequired = errors.New("a value is required but the cell is blank")

// Parse turns the text of one cell into the field's typed value. Blank text
// (after trimming) is nil, or the default when the field has one; a
// required field without a value is errRequired. fromExcel says the text is
// a raw Excel cell value, so dates may be serial numbers and numbers use
// ".".
func (f *InputField) Parse(text string, fromExcel bool) (any, error) {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" && f.Default != nil {
		text = *f.Default
		trimmed = strings.TrimSpace(text)
	}
	if trimmed == "" {
		if f.Required {
			return nil, ErrRequired
		}
		return nil, nil
	}
	switch f.Type {
	case TypeString:
		return text, nil
	case TypeInteger:
		return f.parseInteger(trimmed, fromExcel)
	case TypeDecimal:
		return f.parseDecimal(trimmed, fromExcel)
	case TypeDate, TypeDatetime:
		return f.parseTime(trimmed, fromExcel)
	case TypeBoolean:
		l := strings.ToLower(trimmed)
		if f.TrueSet[l] {
			return true, nil
		}
		if f.FalseSet[l] {
			return false, nil
		}
		return nil, &ValueError{Msg: fmt.Sprintf("%q is not a yes/no value", text), Hint: f.Hint}
	}
	return nil, fmt.Errorf("unknown type %q", f.Type)
}

func (f *InputField) parseDecimal(s string, fromExcel bool) (any, error) {
	digits, neg := strings.CutPrefix(s, "-")
	if fromExcel {
		if d, ok := excelDecimal64(digits, neg); ok {
			return d, nil
		}
		if d, ok := excelNumber(s); ok {
			return d, nil
		}
	}
	// The common case, 1250.50 or -12.5, as parseDecimalText reads it.
	if d, ok := plainDecimal64(digits, f.DecSep, neg); ok {
		return d, nil
	}
	d, err := parseDecimalText(s, f.DecSep, f.ThouSep)
	if err != nil {
		if !f.DecSepSet && f.ThouSep == "" {
			if d, ok := otherSeparator(s, f.DecSep); ok {
				return d, nil
			}
		}
		if err.Hint == "" {
			err.Hint = f.Hint
		}
		return nil, err
	}
	return d, nil
}

// otherSeparator reads an amount written with the other decimal separator
// than decSep, where it can't be mistaken: one such separator, and either
// no decSep with a number of decimals other than three ("12,5", "0,125";
// "1,250" could be a thousand), or decSep before it only between groups of
// three digits ("1.250,50").
func otherSeparator(s, decSep string) (decimal.Decimal, bool) {
	other := ","
	if decSep == "," {
		other = "."
	}
	body := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "-"), "+")
	if strings.Count(body, other) != 1 {
		return decimal.Decimal{}, false
	}
	whole, frac, _ := strings.Cut(body, other)
	if whole == "" || frac == "" || strings.Trim(frac, "0123456789") != "" {
		return decimal.Decimal{}, false
	}
	if !strings.Contains(whole, decSep) {
		if len(frac) == 3 && strings.TrimLeft(whole, "0") != "" {
			return decimal.Decimal{}, false // 1,250: a thousand, or one and a quarter
		}
	} else {
		groups := strings.Split(whole, decSep)
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return decimal.Decimal{}, false
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return decimal.Decimal{}, false
			}
		}
		whole = strings.Join(groups, "")
	}
	if whole == "" || strings.Trim(whole, "0123456789") != "" {
		return decimal.Decimal{}, false
	}
	sign := ""
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		sign = "-"
	}
	d, err := decimal.NewFromString(sign + whole + "." + frac)
	return d, err == nil
}

func (f *InputField) parseInteger(s string, fromExcel bool) (any, error) {
	var d decimal.Decimal
	var number bool // a number as Excel stores it
	if fromExcel {
		d, number = excelNumber(s)
	}
	if !number {
		var verr *ValueError
		d, verr = parseDecimalText(s, ".", f.ThouSep)
		if verr != nil {
			return nil, &ValueError{Msg: fmt.Sprintf("%q is not a whole number", s), Hint: f.Hint}
		}
	}
	if !d.IsInteger() {
		return nil, &ValueError{Msg: fmt.Sprintf("%q is not a whole number", s), Hint: f.Hint}
	}
	if !d.BigInt().IsInt64() {
		return nil, &ValueError{Msg: fmt.Sprintf("%q is too large for a whole number", s), Hint: "use type: decimal for very large numbers"}
	}
	return d.IntPart(), nil
}

func (f *InputField) parseTime(s string, fromExcel bool) (any, error) {
	if fromExcel {
		if t, ok := excelSerialTime(s); ok {
			if f.Type == TypeDate {
				t = t.Truncate(24 * time.Hour)
			}
			return t, nil
		}
	}
	for _, l := range f.Layouts {
		if t, err := l.Parse(s); err == nil {
			return t, nil
		}
	}
	what := "date"
	if f.Type == TypeDatetime {
		what = "date and time"
	}
	for _, l := range f.Layouts {
		// Written in the layout, but there is no such day or time.
		if _, err := l.Parse(s); err != nil && strings.HasSuffix(err.Error(), "out of range") {
			return nil, &ValueError{Msg: fmt.Sprintf("%q is written as %s, but there is no such %s", s, l.src, what),
				Hint: "check the day and the month: " + strings.TrimSpace(err.Error()[strings.LastIndex(err.Error(), ":")+1:])}
		}
	}
	return nil, &ValueError{Msg: fmt.Sprintf("%q is not a %s in the layout %s", s, what, layoutNames(f.Layouts)), Hint: f.Hint}
}

func layoutNames(ls []*DateLayout) string {
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.src
	}
	return strings.Join(names, " or ")
}

// SetHint computes the field's hint once, when the template is loaded.
func (f *InputField) SetHint() {
	switch f.Type {
	case TypeInteger:
		f.Hint = "write a whole number, e.g. 42"
	case TypeDecimal:
		ex := "1250.50"
		if f.DecSep == "," {
			ex = "1250,50"
		}
		f.Hint = fmt.Sprintf("write the amount with a %q decimal separator, e.g. %s", f.DecSep, ex)
	case TypeDate, TypeDatetime:
		l := f.Layouts[0]
		f.Hint = fmt.Sprintf("write the date as %s, e.g. %s", l.src, l.Format(exampleDate))
	case TypeBoolean:
		f.Hint = "write " + strings.Join(QuoteAll(f.TrueList), ", ") + " for yes, or " +
			strings.Join(QuoteAll(f.FalseList), ", ") + " for no"
	}
}

// QuoteAll returns ss with each string quoted, for messages that list
// what a value may be.
func QuoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// parseDecimalText parses an amount written by people: an optional sign in
// front or behind ("-12.50", "12.50-"), or parentheses ("(12.50)"), digits
// with an optional thousands separator, and one decimal separator. It
// never goes through floating point.
func parseDecimalText(s, decSep, thouSep string) (decimal.Decimal, *ValueError) {
	orig := s
	bad := func(hint string) (decimal.Decimal, *ValueError) {
		return decimal.Decimal{}, &ValueError{Msg: fmt.Sprintf("%q is not a decimal number", orig), Hint: hint}
	}
	neg := false
	switch {
	case strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")"):
		neg, s = true, strings.TrimSpace(s[1:len(s)-1])
	case strings.HasPrefix(s, "-"):
		neg, s = true, strings.TrimSpace(s[1:])
	case strings.HasPrefix(s, "+"):
		s = strings.TrimSpace(s[1:])
	case strings.HasSuffix(s, "-"):
		neg, s = true, strings.TrimSpace(s[:len(s)-1])
	}
	if thouSep != "" {
		s = strings.ReplaceAll(s, thouSep, "")
		if thouSep == " " {
			s = strings.NewReplacer("\u00a0", "", "\u202f", "").Replace(s)
		}
	}
	if d, ok := plainDecimalText(s, decSep, neg); ok {
		return d, nil
	}
	digits, point := 0, false
	var b strings.Builder
	b.Grow(len(s) + 1)
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(s); {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			b.WriteByte(s[i])
			digits++
			i++
		case strings.HasPrefix(s[i:], decSep) && !point:
			b.WriteByte('.')
			point = true
			i += len(decSep)
		default:
			return bad(decimalHintFor(orig, decSep, thouSep))
		}
	}
	if digits == 0 {
		return bad("")
	}
	d, err := decimal.NewFromString(b.String())
	if err != nil {
		return bad("")
	}
	return d, nil
}

// plainDecimalText is the fast path of parseDecimalText for the common
// case: at most 18 digits and one decimal separator, nothing else. It
// gives the same decimal (digits and exponent) as decimal.NewFromString.
func plainDecimalText(s, decSep string, neg bool) (decimal.Decimal, bool) {
	d, ok := plainDecimal64(s, decSep, neg)
	return d.big(), ok
}

// plainDecimal64 is plainDecimalText as a dec64.
func plainDecimal64(s, decSep string, neg bool) (Dec64, bool) {
	var mant int64
	digits, scale, point := 0, 0, false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + int64(c-'0')
			digits++
			if point {
				scale++
			}
			i++
		case !point && strings.HasPrefix(s[i:], decSep):
			point = true
			i += len(decSep)
		default:
			return Dec64{}, false
		}
	}
	if digits == 0 || digits > 18 {
		return Dec64{}, false
	}
	if neg {
		mant = -mant
	}
	return Dec64{c: mant, e: int32(-scale)}, true
}

// decimalHintFor guesses what went wrong with an amount.
func decimalHintFor(s, decSep, thouSep string) string {
	other := ","
	if decSep == "," {
		other = "."
	}
	if thouSep != other && strings.Count(s, other) == 1 && strings.Trim(strings.NewReplacer(other, "", "-", "", "+", "", " ", "").Replace(s), "0123456789") == "" {
		whole, frac, _ := strings.Cut(strings.TrimLeft(strings.TrimSpace(s), "+-"), other)
		if len(frac) == 3 && strings.TrimLeft(whole, "0") != "" {
			// 1,250: a thousand two hundred and fifty, or one and a quarter.
			return fmt.Sprintf("this could be %s%s (%q separating thousands) or %s%s%s (a decimal %s): set thousands_separator: %q in the template if it is the one, decimal_separator: %q if it is the other",
				whole, frac, other, whole, decSep, frac, map[string]string{",": "comma", ".": "point"}[other], other, other)
		}
		if decSep == "." {
			return `this looks like a decimal comma; set decimal_separator: "," in the template, or write the amount with "." as in 12.5`
		}
		return `this looks like a decimal point; set decimal_separator: "." in the template, or write the amount with "," as in 12,5`
	}
	if strings.IndexFunc(s, unicode.IsLetter) >= 0 && strings.IndexFunc(s, unicode.IsDigit) < 0 {
		return "write the amount in digits, e.g. 12" + decSep + "50"
	}
	if strings.ContainsAny(s, " \u00a0") && thouSep == "" {
		return `remove the spaces, or set thousands_separator: " " in the template`
	}
	return ""
}

// excelNumber parses a raw Excel number ("1250.5", "1.5E-3"). Excel keeps
// 15 significant digits, so longer binary noise ("0.30000000000000004") is
// rounded off.
func excelNumber(s string) (decimal.Decimal, bool) {
	if s == "" || len(s) > 40 {
		return decimal.Decimal{}, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == 'E' || c == 'e' || c == '+') {
			return decimal.Decimal{}, false
		}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, false
	}
	return roundSignificant(d, 15), true
}

// excelDecimal64 is excelNumber for the common case, a number written
// plainly (-1250.5) with at most 15 digits, which excelNumber keeps as it
// is written.
func excelDecimal64(digits string, neg bool) (Dec64, bool) {
	d, ok := plainDecimal64(digits, ".", neg)
	if !ok || d.c >= 1e15 || d.c <= -1e15 {
		return Dec64{}, false
	}
	return d, true
}

// roundSignificant rounds d to n significant digits; when it had more, the
// trailing zeros rounding leaves after the point are dropped. A value with
// n digits or fewer is returned as written, so a text cell "25000.00"
// keeps its two decimals.
func roundSignificant(d decimal.Decimal, n int) decimal.Decimal {
	if d.IsZero() {
		return d
	}
	digits := len(d.Coefficient().String())
	if d.Sign() < 0 {
		digits-- // the minus sign
	}
	// d = coefficient * 10^exp; significant digits beyond n are below
	// 10^(exp + digits - n).
	if digits > n {
		places := -(d.Exponent() + int32(digits-n))
		return trimZeros(d.Round(places))
	}
	return d
}

// trimZeros removes trailing zeros after the decimal point, which division
// and Excel noise leave behind.
func trimZeros(d decimal.Decimal) decimal.Decimal {
	if d.Exponent() >= 0 {
		return d
	}
	s := d.String() // String drops trailing zeros
	out, err := decimal.NewFromString(s)
	if err != nil {
		return d
	}
	return out
}
