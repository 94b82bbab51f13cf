package expression

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// FunctionSpec documents one function of the expression library. Every
// function carries examples; TestFunctionExamples runs them all, so the
// documentation can't drift from the behaviour.
type FunctionSpec struct {
	Name      string // in capitals, as written in expressions
	Category  string // text, number, date, logical, lookup, finance
	Signature string // e.g. "ROUND(number, places)"
	Doc       string // what it does, in one or two sentences
	Examples  []FunctionExample
	MinArgs   int
	MaxArgs   int // -1: any number
	// Args are the kinds of value each argument takes, the last one
	// standing for the rest (nil: any kind); a call given a value of no
	// such kind is refused when the template is loaded (typecheck.go).
	// Blank is let through everywhere.
	Args []Type
	// Result is the kinds of value it gives.
	Result Type

	fn func(args ...any) (any, error)
}

// FunctionExample is an expression and what it gives: Result rendered as
// in the template reference (text in quotes, blank as "blank"), or, for an
// example of a mistake, Error, a part of the error message.
type FunctionExample struct {
	Expr   string
	Result string
	Error  string
}

// Functions returns the function library, sorted by name.
func Functions() []FunctionSpec {
	out := make([]FunctionSpec, len(registry))
	for i, f := range registry {
		out[i] = *f
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var registryByName = map[string]*FunctionSpec{}

// IsFunction reports whether name is a function of the library.
func IsFunction(name string) bool { return registryByName[name] != nil }

func init() {
	for _, f := range registry {
		if registryByName[f.Name] != nil {
			panic("transform: function " + f.Name + " registered twice")
		}
		registryByName[f.Name] = f
	}
}

// Argument helpers. Each names the function in its errors.

func argText(v any) string { return Text(v) }

func argInt(fn, what string, v any) (int, error) {
	d, i, isInt, ok := number(v)
	if ok && !isInt && d.IsInteger() {
		i, isInt = d.IntPart(), true
	}
	if !isInt {
		return 0, fmt.Errorf("%s: the %s must be a whole number, not %s %s", fn, what, KindName(v), Show(v))
	}
	if i > 1<<31 || i < -(1<<31) {
		return 0, fmt.Errorf("%s: the %s %d is too large", fn, what, i)
	}
	return int(i), nil
}

func argDecimal(fn string, v any) (decimal.Decimal, error) {
	d, ok := ToDecimal(v)
	if !ok {
		hint := ""
		if _, isText := v.(string); isText {
			hint = "; convert text with VALUE(...)"
		}
		return d, fmt.Errorf("%s needs a number, not %s %s%s", fn, KindName(v), Show(v), hint)
	}
	return d, nil
}

func argTime(fn string, v any) (time.Time, error) {
	t, ok := v.(time.Time)
	if !ok {
		hint := ""
		if _, isText := v.(string); isText {
			hint = `; convert text with DATEVALUE(text, "dd.MM.yyyy")`
		}
		return t, fmt.Errorf("%s needs a date, not %s %s%s", fn, KindName(v), Show(v), hint)
	}
	return t, nil
}

var (
	layoutCache sync.Map // string → *dateLayout
	numfmtCache sync.Map // string → numberFormat
)

func cachedLayout(fn string, s string) (*DateLayout, error) {
	if l, ok := layoutCache.Load(s); ok {
		return l.(*DateLayout), nil
	}
	l, err := ParseDateLayout(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	layoutCache.Store(s, l)
	return l, nil
}

func cachedNumberFormat(s string) (numberFormat, error) {
	if f, ok := numfmtCache.Load(s); ok {
		return f.(numberFormat), nil
	}
	f, err := parseNumberFormat(s)
	if err != nil {
		return f, fmt.Errorf("NUMBERFORMAT: %v", err)
	}
	numfmtCache.Store(s, f)
	return f, nil
}

func runes(s string) []rune { return []rune(s) }

// decimalFn lifts a function of one decimal; blank gives blank.
func decimalFn(name string, f func(decimal.Decimal, []any) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil {
			return nil, nil
		}
		d, err := argDecimal(name, args[0])
		if err != nil {
			return nil, err
		}
		return f(d, args[1:])
	}
}

func roundFn(name string, round func(d decimal.Decimal, places int32) decimal.Decimal) func(args ...any) (any, error) {
	return decimalFn(name, func(d decimal.Decimal, rest []any) (any, error) {
		places := 0
		if len(rest) > 0 {
			p, err := argInt(name, "number of decimals", rest[0])
			if err != nil {
				return nil, err
			}
			if p > MaxDigits || p < -MaxDigits {
				return nil, fmt.Errorf("%s: %d decimals is more than a number may have (%d digits)", name, p, MaxDigits)
			}
			places = p
		}
		return round(d, int32(places)), nil
	})
}

// round64Fn is ROUND with a fast path for a dec64 amount (round64).
func round64Fn(round func(args ...any) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if d, ok := args[0].(Dec64); ok {
			places := int64(0)
			if len(args) > 1 {
				places, ok = args[1].(int64)
				if p, isInt := args[1].(int); isInt {
					places, ok = int64(p), true
				}
			}
			if ok && places >= -18 && places <= 18 {
				if r, ok := round64(d, int32(places)); ok {
					return r, nil
				}
			}
		}
		return round(args...)
	}
}

func padFn(left bool) func(args ...any) (any, error) {
	name := "PADRIGHT"
	if left {
		name = "PADLEFT"
	}
	return func(args ...any) (any, error) {
		s := argText(args[0])
		n, err := argInt(name, "length", args[1])
		if err != nil {
			return nil, err
		}
		padWith := " "
		if len(args) > 2 {
			padWith = argText(args[2])
		}
		r, size := utf8.DecodeRuneInString(padWith)
		if size == 0 {
			return nil, fmt.Errorf("%s: the padding character is empty", name)
		}
		missing := n - utf8.RuneCountInString(s)
		if missing <= 0 {
			return s, nil
		}
		if err := checkText(name, int64(len(s))+int64(missing)*int64(utf8.RuneLen(r))); err != nil {
			return nil, err
		}
		p := strings.Repeat(string(r), missing)
		if left {
			return p + s, nil
		}
		return s + p, nil
	}
}

func textPredicate(f func(s, part string) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		return f(argText(args[0]), argText(args[1])), nil
	}
}

func formatER(args ...any) (any, error) {
	f := argText(args[0])
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		j := i + 1
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j == i+1 {
			b.WriteByte('%')
			continue
		}
		n, _ := strconv.Atoi(f[i+1 : j])
		if n < 1 || n >= len(args) {
			return nil, fmt.Errorf("FORMAT: %%%d has no value; %d values were given", n, len(args)-1)
		}
		b.WriteString(argText(args[n]))
		if err := checkText("FORMAT", int64(b.Len())); err != nil {
			return nil, err
		}
		i = j - 1
	}
	return b.String(), nil
}

// mod97 checks an ISO 7064 MOD 97-10 check sum, as IBANs and RF creditor
// references carry it.
func mod97(args ...any) (any, error) {
	s := strings.ToUpper(strings.Join(strings.Fields(argText(args[0])), ""))
	if len(s) < 5 {
		return false, nil
	}
	if isASCIILetter(s[0]) && isASCIILetter(s[1]) && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9' {
		s = s[4:] + s[:4] // IBAN and RF references: the country code and check digits move to the end
	}
	var digits strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			digits.WriteString(strconv.Itoa(int(c-'A') + 10))
		default:
			return false, nil
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	if !ok {
		return false, nil
	}
	return new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1, nil
}

// collapseSpaces trims s and turns every run of white space inside it
// into one space, as ER's and Excel's TRIM do.
func collapseSpaces(s string) string {
	if !strings.ContainsFunc(s, unicode.IsSpace) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// registry is the function library.
// registry is the function library: coreFunctions, the check digits of
// checkdigits.go and the character sets of charsets.go.
var registry = slices.Concat(coreFunctions, checkDigitFunctions, charsetFunctions)

var coreFunctions = []*FunctionSpec{
	// Logical.
	{
		Name: "IF", Category: "logical", Signature: "IF(condition, then, else)", MinArgs: 3, MaxArgs: 3, Result: KindAny,
		Doc: "Gives then when the condition is true, else otherwise. Only the branch taken is evaluated. A blank condition counts as false.",
		Examples: []FunctionExample{
			{Expr: `IF(2 > 1, "yes", "no")`, Result: `"yes"`},
			{Expr: `IF(nil, "yes", "no")`, Result: `"no"`},
			{Expr: `IF(true, 1, 1 / 0)`, Result: `1`},
		},
		fn: func(args ...any) (any, error) {
			c, err := Truth(args[0])
			if err != nil {
				return nil, fmt.Errorf("IF: %v", err)
			}
			if c {
				return args[1], nil
			}
			return args[2], nil
		},
	},
	{
		Name: "CASE", Category: "logical", Signature: "CASE(value, option1, result1, option2, result2, ..., default)", MinArgs: 3, MaxArgs: -1, Result: KindAny,
		Doc: "Compares value with each option in turn (as == does) and gives the result of the first that matches; the default when none does, or blank when there is no default.",
		Examples: []FunctionExample{
			{Expr: `CASE("B", "A", "Alpha", "B", "Bravo", "other")`, Result: `"Bravo"`},
			{Expr: `CASE("Z", "A", "Alpha", "B", "Bravo", "other")`, Result: `"other"`},
			{Expr: `CASE(3, 1, "one", 2, "two")`, Result: `blank`},
		},
		fn: func(args ...any) (any, error) {
			i := 1
			for ; i+1 < len(args); i += 2 {
				eq, err := equal(args[0], args[i])
				if err != nil {
					return nil, fmt.Errorf("CASE: %v", err)
				}
				if eq {
					return args[i+1], nil
				}
			}
			if i < len(args) {
				return args[i], nil
			}
			return nil, nil
		},
	},
	{
		Name: "ISBLANK", Category: "logical", Signature: "ISBLANK(value)", MinArgs: 1, MaxArgs: 1, Result: KindBool,
		Doc: "True when the value is blank: an empty cell, or text of only spaces.",
		Examples: []FunctionExample{
			{Expr: `ISBLANK("  ")`, Result: `true`},
			{Expr: `ISBLANK(nil)`, Result: `true`},
			{Expr: `ISBLANK(0)`, Result: `false`},
		},
		fn: func(args ...any) (any, error) {
			switch x := args[0].(type) {
			case nil:
				return true, nil
			case string:
				return strings.TrimSpace(x) == "", nil
			}
			return false, nil
		},
	},
	{
		Name: "CONTAINS", Category: "logical", Signature: "CONTAINS(text, part)", MinArgs: 2, MaxArgs: 2, Result: KindBool,
		Doc: "True when text contains part (case matters).",
		Examples: []FunctionExample{
			{Expr: `CONTAINS("Invoice 2026-01", "2026")`, Result: `true`},
			{Expr: `CONTAINS("Invoice", "inv")`, Result: `false`},
		},
		fn: textPredicate(strings.Contains),
	},
	{
		Name: "STARTSWITH", Category: "logical", Signature: "STARTSWITH(text, start)", MinArgs: 2, MaxArgs: 2, Result: KindBool,
		Doc: "True when text begins with start (case matters).",
		Examples: []FunctionExample{
			{Expr: `STARTSWITH("NO9386011117947", "NO")`, Result: `true`},
		},
		fn: textPredicate(strings.HasPrefix),
	},
	{
		Name: "ENDSWITH", Category: "logical", Signature: "ENDSWITH(text, end)", MinArgs: 2, MaxArgs: 2, Result: KindBool,
		Doc: "True when text ends with end (case matters).",
		Examples: []FunctionExample{
			{Expr: `ENDSWITH("report.xlsx", ".xlsx")`, Result: `true`},
		},
		fn: textPredicate(strings.HasSuffix),
	},

	// Text.
	{
		Name: "CONCAT", Category: "text", Signature: "CONCAT(value1, value2, ...)", MinArgs: 1, MaxArgs: -1, Result: KindText,
		Doc: "Joins the values as text; blank values add nothing. Numbers and dates are written as TEXT writes them.",
		Examples: []FunctionExample{
			{Expr: `CONCAT("INV-", 2026, "-", 7)`, Result: `"INV-2026-7"`},
			{Expr: `CONCAT("a", nil, "b")`, Result: `"ab"`},
		},
		fn: func(args ...any) (any, error) {
			var b strings.Builder
			for _, a := range args {
				s := argText(a)
				if err := checkText("CONCAT", int64(b.Len())+int64(len(s))); err != nil {
					return nil, err
				}
				b.WriteString(s)
			}
			return b.String(), nil
		},
	},
	{
		Name: "FORMAT", Category: "text", Signature: `FORMAT(pattern, value1, value2, ...)`, MinArgs: 1, MaxArgs: -1, Result: KindText,
		Doc: "Fills the placeholders %1, %2, ... of pattern with the values, as text. %% writes a percent sign.",
		Examples: []FunctionExample{
			{Expr: `FORMAT("%1 of %2", 3, 10)`, Result: `"3 of 10"`},
			{Expr: `FORMAT("%2, %1", "Ada", "Lovelace")`, Result: `"Lovelace, Ada"`},
			{Expr: `FORMAT("%1 %2", "only one")`, Error: "%2 has no value"},
		},
		fn: formatER,
	},
	{
		Name: "UPPER", Category: "text", Signature: "UPPER(text)", MinArgs: 1, MaxArgs: 1, Result: KindText,
		Doc:      "The text in capitals.",
		Examples: []FunctionExample{{Expr: `UPPER("eur")`, Result: `"EUR"`}},
		fn:       func(args ...any) (any, error) { return strings.ToUpper(argText(args[0])), nil },
	},
	{
		Name: "LOWER", Category: "text", Signature: "LOWER(text)", MinArgs: 1, MaxArgs: 1, Result: KindText,
		Doc:      "The text in small letters.",
		Examples: []FunctionExample{{Expr: `LOWER("Ada@Example.COM")`, Result: `"ada@example.com"`}},
		fn:       func(args ...any) (any, error) { return strings.ToLower(argText(args[0])), nil },
	},
	{
		Name: "TRIM", Category: "text", Signature: "TRIM(text)", MinArgs: 1, MaxArgs: 1, Result: KindText,
		Doc: "The text without spaces at the start and end, and with every run of spaces inside it made one space (as in ER and Excel). Blank gives \"\".",
		Examples: []FunctionExample{
			{Expr: `TRIM("  Acme   Corp ")`, Result: `"Acme Corp"`},
			{Expr: `TRIM(nil)`, Result: `""`},
		},
		fn: func(args ...any) (any, error) { return collapseSpaces(argText(args[0])), nil },
	},
	{
		Name: "LEN", Category: "text", Signature: "LEN(text)", MinArgs: 1, MaxArgs: 1, Result: KindNumber,
		Doc: "The number of characters of the text (letters such as ø count as one). Blank gives 0.",
		Examples: []FunctionExample{
			{Expr: `LEN("Bødø")`, Result: `4`},
			{Expr: `LEN(nil)`, Result: `0`},
		},
		fn: func(args ...any) (any, error) { return int64(utf8.RuneCountInString(argText(args[0]))), nil },
	},
	{
		Name: "LEFT", Category: "text", Signature: "LEFT(text, count)", MinArgs: 2, MaxArgs: 2, Args: []Type{KindAny, KindNumber}, Result: KindText,
		Doc:      "The first count characters of the text.",
		Examples: []FunctionExample{{Expr: `LEFT("NO9386011117947", 2)`, Result: `"NO"`}, {Expr: `LEFT("ab", 5)`, Result: `"ab"`}},
		fn: func(args ...any) (any, error) {
			r := runes(argText(args[0]))
			n, err := argInt("LEFT", "count", args[1])
			if err != nil {
				return nil, err
			}
			return string(r[:max(0, min(n, len(r)))]), nil
		},
	},
	{
		Name: "RIGHT", Category: "text", Signature: "RIGHT(text, count)", MinArgs: 2, MaxArgs: 2, Args: []Type{KindAny, KindNumber}, Result: KindText,
		Doc:      "The last count characters of the text.",
		Examples: []FunctionExample{{Expr: `RIGHT("NO9386011117947", 4)`, Result: `"7947"`}},
		fn: func(args ...any) (any, error) {
			r := runes(argText(args[0]))
			n, err := argInt("RIGHT", "count", args[1])
			if err != nil {
				return nil, err
			}
			return string(r[len(r)-max(0, min(n, len(r))):]), nil
		},
	},
	{
		Name: "MID", Category: "text", Signature: "MID(text, start, count)", MinArgs: 3, MaxArgs: 3, Args: []Type{KindAny, KindNumber, KindNumber}, Result: KindText,
		Doc:      "count characters of the text from position start (the first character is 1).",
		Examples: []FunctionExample{{Expr: `MID("2026-01-31", 6, 2)`, Result: `"01"`}, {Expr: `MID("abc", 3, 10)`, Result: `"c"`}},
		fn: func(args ...any) (any, error) {
			r := runes(argText(args[0]))
			start, err := argInt("MID", "start", args[1])
			if err != nil {
				return nil, err
			}
			n, err := argInt("MID", "count", args[2])
			if err != nil {
				return nil, err
			}
			if start < 1 {
				return nil, fmt.Errorf("MID: the start must be 1 or more, not %d", start)
			}
			from := min(start-1, len(r))
			to := min(from+max(n, 0), len(r))
			return string(r[from:to]), nil
		},
	},
	{
		Name: "PADLEFT", Category: "text", Signature: `PADLEFT(text, length, character)`, MinArgs: 2, MaxArgs: 3, Args: []Type{KindAny, KindNumber, KindAny}, Result: KindText,
		Doc: "The text made length characters long by adding the character (a space if not given) in front. Longer text is kept as it is.",
		Examples: []FunctionExample{
			{Expr: `PADLEFT("42", 6, "0")`, Result: `"000042"`},
			{Expr: `PADLEFT(42, 4)`, Result: `"  42"`},
			{Expr: `PADLEFT("1234567", 4, "0")`, Result: `"1234567"`},
		},
		fn: padFn(true),
	},
	{
		Name: "PADRIGHT", Category: "text", Signature: `PADRIGHT(text, length, character)`, MinArgs: 2, MaxArgs: 3, Args: []Type{KindAny, KindNumber, KindAny}, Result: KindText,
		Doc:      "The text made length characters long by adding the character (a space if not given) after it. Longer text is kept as it is.",
		Examples: []FunctionExample{{Expr: `PADRIGHT("AB", 5, ".")`, Result: `"AB..."`}},
		fn:       padFn(false),
	},
	{
		Name: "REPLACE", Category: "text", Signature: "REPLACE(text, old, new)", MinArgs: 3, MaxArgs: 3, Result: KindText,
		Doc:      "The text with every occurrence of old replaced by new (plain text, not a pattern).",
		Examples: []FunctionExample{{Expr: `REPLACE("NO93 8601 1117 947", " ", "")`, Result: `"NO9386011117947"`}},
		fn: func(args ...any) (any, error) {
			old := argText(args[1])
			if old == "" {
				return argText(args[0]), nil
			}
			s, new := argText(args[0]), argText(args[2])
			if len(new) > len(old) {
				grow := int64(strings.Count(s, old)) * int64(len(new)-len(old))
				if err := checkText("REPLACE", int64(len(s))+grow); err != nil {
					return nil, err
				}
			}
			return strings.ReplaceAll(s, old, new), nil
		},
	},
	{
		Name: "TEXT", Category: "text", Signature: "TEXT(value)", MinArgs: 1, MaxArgs: 1, Result: KindText,
		Doc: "The value as text: numbers plain with their decimals (1250.50), dates as yyyy-MM-dd (with HH:mm:ss when they have a time), true/false, blank as \"\".",
		Examples: []FunctionExample{
			{Expr: `TEXT(1250.50)`, Result: `"1250.50"`},
			{Expr: `TEXT(DATEVALUE("31.01.2026", "dd.MM.yyyy"))`, Result: `"2026-01-31"`},
			{Expr: `TEXT(nil)`, Result: `""`},
		},
		fn: func(args ...any) (any, error) { return argText(args[0]), nil },
	},
	{
		Name: "NUMBERFORMAT", Category: "text", Signature: `NUMBERFORMAT(number, format, decimal_separator, thousands_separator)`, MinArgs: 2, MaxArgs: 4, Args: []Type{KindNumber, KindAny}, Result: KindText,
		Doc: `The number as text in a format made of 0 (a digit always shown), # (a digit shown if needed), "," (thousands grouped) and "." (the decimal point), rounded half away from zero. The optional separators replace "." and ","; with a "," decimal separator the thousands separator defaults to ".". Blank gives "".`,
		Examples: []FunctionExample{
			{Expr: `NUMBERFORMAT(1234.5, "0.00")`, Result: `"1234.50"`},
			{Expr: `NUMBERFORMAT(1234567.891, "#,##0.00")`, Result: `"1,234,567.89"`},
			{Expr: `NUMBERFORMAT(1234567.891, "#,##0.00", ",")`, Result: `"1.234.567,89"`},
			{Expr: `NUMBERFORMAT(1234567.891, "#,##0.00", ",", " ")`, Result: `"1 234 567,89"`},
			{Expr: `NUMBERFORMAT(2.5, "0")`, Result: `"3"`},
			{Expr: `NUMBERFORMAT(-0.125, "0.0#")`, Result: `"-0.13"`},
		},
		fn: func(args ...any) (any, error) {
			if args[0] == nil {
				return "", nil
			}
			x, is64 := args[0].(Dec64)
			var d decimal.Decimal
			if !is64 {
				var err error
				if d, err = argDecimal("NUMBERFORMAT", args[0]); err != nil {
					return nil, err
				}
			}
			nf, err := cachedNumberFormat(argText(args[1]))
			if err != nil {
				return nil, err
			}
			decSep, groupSep := ".", ","
			if len(args) > 2 {
				decSep = argText(args[2])
				if decSep == "," {
					groupSep = "."
				}
			}
			if len(args) > 3 {
				groupSep = argText(args[3])
			}
			if is64 {
				if s, ok := nf.format64(x, decSep, groupSep); ok {
					return s, nil
				}
				d = x.big()
			}
			return nf.format(d, decSep, groupSep), nil
		},
	},

	// Numbers.
	{
		Name: "ROUND", Category: "number", Signature: "ROUND(number, decimals)", MinArgs: 1, MaxArgs: 2, Args: []Type{KindNumber, KindNumber}, Result: KindNumber | KindBlank,
		Doc: "The number rounded to that many decimals (0 if not given), half away from zero as in ER: 2.345 → 2.35, -2.345 → -2.35. Negative decimals round to tens, hundreds... Blank gives blank.",
		Examples: []FunctionExample{
			{Expr: `ROUND(2.345, 2)`, Result: `2.35`},
			{Expr: `ROUND(-2.345, 2)`, Result: `-2.35`},
			{Expr: `ROUND(1234.5)`, Result: `1235`},
			{Expr: `ROUND(1234, -2)`, Result: `1200`},
		},
		fn: round64Fn(roundFn("ROUND", roundHalfAway)),
	},
	{
		Name: "ROUNDUP", Category: "number", Signature: "ROUNDUP(number, decimals)", MinArgs: 1, MaxArgs: 2, Args: []Type{KindNumber, KindNumber}, Result: KindNumber | KindBlank,
		Doc:      "The number rounded away from zero to that many decimals.",
		Examples: []FunctionExample{{Expr: `ROUNDUP(2.301, 1)`, Result: `2.4`}, {Expr: `ROUNDUP(-2.301, 1)`, Result: `-2.4`}},
		fn:       roundFn("ROUNDUP", decimal.Decimal.RoundUp),
	},
	{
		Name: "ROUNDDOWN", Category: "number", Signature: "ROUNDDOWN(number, decimals)", MinArgs: 1, MaxArgs: 2, Args: []Type{KindNumber, KindNumber}, Result: KindNumber | KindBlank,
		Doc:      "The number rounded toward zero to that many decimals.",
		Examples: []FunctionExample{{Expr: `ROUNDDOWN(2.399, 1)`, Result: `2.3`}, {Expr: `ROUNDDOWN(-2.399, 1)`, Result: `-2.3`}},
		fn:       roundFn("ROUNDDOWN", decimal.Decimal.RoundDown),
	},
	{
		Name: "ABS", Category: "number", Signature: "ABS(number)", MinArgs: 1, MaxArgs: 1, Args: []Type{KindNumber}, Result: KindNumber | KindBlank,
		Doc:      "The number without its sign. Blank gives blank.",
		Examples: []FunctionExample{{Expr: `ABS(-12.50)`, Result: `12.50`}, {Expr: `ABS(nil)`, Result: `blank`}},
		fn: func(args ...any) (any, error) {
			if args[0] == nil {
				return nil, nil
			}
			if _, i, isInt, _ := number(args[0]); isInt && i >= 0 {
				return i, nil
			}
			d, err := argDecimal("ABS", args[0])
			if err != nil {
				return nil, err
			}
			if _, _, isInt, _ := number(args[0]); isInt {
				return negate(args[0])
			}
			return d.Abs(), nil
		},
	},
	{
		Name: "VALUE", Category: "number", Signature: "VALUE(text)", MinArgs: 1, MaxArgs: 1, Args: []Type{KindText | KindNumber}, Result: KindNumber | KindBlank,
		Doc: `The text as an exact decimal number, written with "." as the decimal point ("-1250.50"). Spaces around it are ignored; blank gives blank. For other separators use NUMBERVALUE.`,
		Examples: []FunctionExample{
			{Expr: `VALUE(" 1250.50 ")`, Result: `1250.50`},
			{Expr: `VALUE("0.1") + VALUE("0.2")`, Result: `0.3`},
			{Expr: `VALUE("12,5")`, Error: `"12,5" is not a decimal number`},
		},
		fn: func(args ...any) (any, error) {
			if d, ok := ToDecimal(args[0]); ok {
				return d, nil
			}
			s := strings.TrimSpace(argText(args[0]))
			if s == "" {
				return nil, nil
			}
			d, err := parseDecimalText(s, ".", "")
			if err != nil {
				return nil, fmt.Errorf("VALUE: %s", err.Msg)
			}
			return d, nil
		},
	},
	{
		Name: "NUMBERVALUE", Category: "number", Signature: "NUMBERVALUE(text, decimal_separator, thousands_separator)", MinArgs: 2, MaxArgs: 3, Args: []Type{KindText | KindNumber, KindAny}, Result: KindNumber | KindBlank,
		Doc:      "The text as an exact decimal number written with the given separators.",
		Examples: []FunctionExample{{Expr: `NUMBERVALUE("1 234,50", ",", " ")`, Result: `1234.50`}},
		fn: func(args ...any) (any, error) {
			if d, ok := ToDecimal(args[0]); ok {
				return d, nil
			}
			s := strings.TrimSpace(argText(args[0]))
			if s == "" {
				return nil, nil
			}
			thou := ""
			if len(args) > 2 {
				thou = argText(args[2])
			}
			d, err := parseDecimalText(s, argText(args[1]), thou)
			if err != nil {
				return nil, fmt.Errorf("NUMBERVALUE: %s", err.Msg)
			}
			return d, nil
		},
	},
	{
		Name: "INTVALUE", Category: "number", Signature: "INTVALUE(value)", MinArgs: 1, MaxArgs: 1, Args: []Type{KindText | KindNumber}, Result: KindNumber | KindBlank,
		Doc:      "The value (a number, or text written with \".\") as a whole number; decimals are dropped.",
		Examples: []FunctionExample{{Expr: `INTVALUE("0042")`, Result: `42`}, {Expr: `INTVALUE(12.9)`, Result: `12`}},
		fn: func(args ...any) (any, error) {
			d, ok := ToDecimal(args[0])
			if !ok {
				s := strings.TrimSpace(argText(args[0]))
				if s == "" {
					return nil, nil
				}
				var err *ValueError
				if d, err = parseDecimalText(s, ".", ""); err != nil {
					return nil, fmt.Errorf("INTVALUE: %q is not a number", s)
				}
			}
			d = d.Truncate(0)
			if !d.BigInt().IsInt64() {
				return nil, fmt.Errorf("INTVALUE: %s is too large", PlainDecimal(d))
			}
			return d.IntPart(), nil
		},
	},

	// Dates.
	{
		Name: "DATEVALUE", Category: "date", Signature: `DATEVALUE(text, layout)`, MinArgs: 1, MaxArgs: 2, Result: KindDate | KindBlank,
		Doc: `The text as a date (or date and time), read with the layout (yyyy-MM-dd if not given). Layout letters: yyyy year, MM month, dd day, HH hour, mm minutes, ss seconds. Blank gives blank.`,
		Examples: []FunctionExample{
			{Expr: `DATEVALUE("31.01.2026", "dd.MM.yyyy")`, Result: `2026-01-31`},
			{Expr: `DATEVALUE("2026-01-31 14:30", "yyyy-MM-dd HH:mm")`, Result: `2026-01-31 14:30:00`},
			{Expr: `DATEVALUE("31.13.2026", "dd.MM.yyyy")`, Error: `"31.13.2026" is not a date in the layout dd.MM.yyyy`},
		},
		fn: func(args ...any) (any, error) {
			if t, ok := args[0].(time.Time); ok {
				return t, nil
			}
			s := strings.TrimSpace(argText(args[0]))
			if s == "" {
				return nil, nil
			}
			layout := "yyyy-MM-dd"
			if len(args) > 1 {
				layout = argText(args[1])
			}
			l, err := cachedLayout("DATEVALUE", layout)
			if err != nil {
				return nil, err
			}
			t, perr := l.Parse(s)
			if perr != nil {
				return nil, fmt.Errorf("DATEVALUE: %q is not a date in the layout %s", s, layout)
			}
			return t, nil
		},
	},
	{
		Name: "DATEFORMAT", Category: "date", Signature: `DATEFORMAT(date, layout)`, MinArgs: 2, MaxArgs: 2, Args: []Type{KindDate, KindAny}, Result: KindText,
		Doc: `The date as text in the layout, e.g. "dd.MM.yyyy", "yyyyMMdd", "dd MMM yyyy" or "yyyy-MM-ddTHH:mm:ss". Blank gives "".`,
		Examples: []FunctionExample{
			{Expr: `DATEFORMAT(DATEVALUE("2026-01-31"), "dd.MM.yyyy")`, Result: `"31.01.2026"`},
			{Expr: `DATEFORMAT(DATEVALUE("2026-01-31"), "d MMMM yyyy")`, Result: `"31 January 2026"`},
			{Expr: `DATEFORMAT("2026-01-31", "dd.MM.yyyy")`, Error: "DATEFORMAT needs a date"},
		},
		fn: func(args ...any) (any, error) {
			if args[0] == nil {
				return "", nil
			}
			t, err := argTime("DATEFORMAT", args[0])
			if err != nil {
				return nil, err
			}
			l, err := cachedLayout("DATEFORMAT", argText(args[1]))
			if err != nil {
				return nil, err
			}
			return l.Format(t), nil
		},
	},
	{
		Name: "ADDDAYS", Category: "date", Signature: "ADDDAYS(date, days)", MinArgs: 2, MaxArgs: 2, Args: []Type{KindDate, KindNumber}, Result: KindDate | KindBlank,
		Doc:      "The date moved by a number of days (negative to go back). Blank gives blank.",
		Examples: []FunctionExample{{Expr: `ADDDAYS(DATEVALUE("2026-01-31"), 30)`, Result: `2026-03-02`}},
		fn: func(args ...any) (any, error) {
			if args[0] == nil {
				return nil, nil
			}
			t, err := argTime("ADDDAYS", args[0])
			if err != nil {
				return nil, err
			}
			n, err := argInt("ADDDAYS", "number of days", args[1])
			if err != nil {
				return nil, err
			}
			return t.AddDate(0, 0, n), nil
		},
	},

	// Lookups.
	{
		Name: "LOOKUP", Category: "lookup", Signature: `LOOKUP("table", key, default)`, MinArgs: 2, MaxArgs: 3, Result: KindText | KindBlank,
		Doc: `The value for key in the template's lookup table of that name (the key is compared as text, exactly), or default (blank if not given) when the key is not in the table. The table name must be written in quotes; an unknown table is an error when the template is loaded.`,
		Examples: []FunctionExample{
			{Expr: `LOOKUP("payment_terms", "30", "")`, Result: `"Net30"`},
			{Expr: `LOOKUP("payment_terms", 30, "")`, Result: `"Net30"`},
			{Expr: `LOOKUP("payment_terms", "31", "?")`, Result: `"?"`},
		},
		// The function is bound to the template's tables when compiled.
	},

	// Finance.
	{
		Name: "MOD97", Category: "finance", Signature: "MOD97(text)", MinArgs: 1, MaxArgs: 1, Result: KindBool,
		Doc: "True when the text passes the ISO 7064 MOD 97-10 check used by IBANs and RF creditor references (spaces are ignored; a leading country code and check digits are moved to the end first, as the IBAN rules say).",
		Examples: []FunctionExample{
			{Expr: `MOD97("NO93 8601 1117 947")`, Result: `true`},
			{Expr: `MOD97("NO93 8601 1117 948")`, Result: `false`},
			{Expr: `MOD97("GB82WEST12345698765432")`, Result: `true`},
		},
		fn: mod97,
	},
}
