package expression

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// A DateLayout is a date or time layout written the way ER and .NET write
// them ("dd.MM.yyyy", "yyyy-MM-dd HH:mm:ss"), compiled for parsing (a Go
// layout) and for formatting (its tokens).
type DateLayout struct {
	src    string // as written in the template
	tokens []layoutToken
	parse  string        // Go layout, lenient about leading zeros
	quick  []layoutToken // tokens, when the layout is a day, a month and a year and separators (see quickParse)
}

type layoutToken struct {
	kind string // "" for literal text, else the .NET specifier ("dd", "MMM", ...)
	lit  string
}

// dateSpecifiers are the .NET custom date and time specifiers we support,
// longest first within each letter, with the Go layout used to parse them.
// Parsing is lenient: "dd" accepts "1" and "01".
var dateSpecifiers = []struct{ spec, goParse string }{
	{"yyyy", "2006"}, {"yy", "06"},
	{"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "1"}, {"M", "1"},
	{"dddd", "Monday"}, {"ddd", "Mon"}, {"dd", "2"}, {"d", "2"},
	{"HH", "15"}, {"H", "15"},
	{"hh", "3"}, {"h", "3"},
	{"mm", "4"}, {"m", "4"},
	{"ss", "5"}, {"s", "5"},
	{"fffffffff", "000000000"}, {"ffffff", "000000"}, {"fff", "000"}, {"ff", "00"}, {"f", "0"},
	{"tt", "PM"},
}

// ParseDateLayout compiles a .NET-style layout. Letters that are not
// specifiers must be quoted ('T' and 'Z' may stand alone), so that a typo
// such as "DD.MM.YYYY" is caught when the template is loaded.
func ParseDateLayout(s string) (*DateLayout, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("the layout is empty")
	}
	l := &DateLayout{src: s}
	var goLayout strings.Builder
	addLit := func(lit string) {
		if n := len(l.tokens); n > 0 && l.tokens[n-1].kind == "" {
			l.tokens[n-1].lit += lit
		} else {
			l.tokens = append(l.tokens, layoutToken{lit: lit})
		}
		goLayout.WriteString(lit)
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("the quote at position %d of layout %q is not closed", i+1, s)
			}
			lit := s[i+1 : i+1+end]
			if strings.ContainsAny(lit, "0123456789") {
				return nil, fmt.Errorf("quoted text %q in layout %q holds digits, which can't be told apart from the date", lit, s)
			}
			addLit(lit)
			i += end + 2
			continue
		case c == '\\' && i+1 < len(s):
			addLit(s[i+1 : i+2])
			i += 2
			continue
		case c == 'f' || c == 'F':
			// Fractions of a second must follow the seconds and a "." or ",".
			n := 0
			for i+n < len(s) && (s[i+n] == 'f' || s[i+n] == 'F') {
				n++
			}
			prev := goLayout.String()
			if n > 9 || !(strings.HasSuffix(prev, "5.") || strings.HasSuffix(prev, "5,")) {
				return nil, fmt.Errorf("fractions of a second (%q) in layout %q must follow the seconds and a dot, as in \"ss.fff\"", s[i:i+n], s)
			}
			digit := "0"
			if c == 'F' {
				digit = "9"
			}
			l.tokens = append(l.tokens, layoutToken{kind: strings.Repeat(string(c), n)})
			goLayout.WriteString(strings.Repeat(digit, n))
			i += n
			continue
		case isASCIILetter(c):
			matched := false
			for _, sp := range dateSpecifiers {
				if strings.HasPrefix(s[i:], sp.spec) && sp.spec[0] != 'f' {
					l.tokens = append(l.tokens, layoutToken{kind: sp.spec})
					goLayout.WriteString(sp.goParse)
					i += len(sp.spec)
					matched = true
					break
				}
			}
			if matched {
				continue
			}
			if c == 'T' || c == 'Z' {
				addLit(string(c))
				i++
				continue
			}
			return nil, fmt.Errorf("layout %q: %q is not a date or time letter; use yyyy (year), MM (month), dd (day), HH (hour), mm (minutes), ss (seconds), and quote other text ('...')", s, string(c))
		case c >= '0' && c <= '9':
			return nil, fmt.Errorf("layout %q holds the digit %q, which can't be told apart from the date", s, string(c))
		default:
			addLit(string(c))
			i++
			continue
		}
	}
	// Empty quoted text ('') stands for nothing: numbers on either side of
	// it stand side by side.
	toks := l.tokens[:0]
	for _, tk := range l.tokens {
		switch n := len(toks); {
		case tk.kind == "" && tk.lit == "":
		case tk.kind == "" && n > 0 && toks[n-1].kind == "":
			toks[n-1].lit += tk.lit
		default:
			toks = append(toks, tk)
		}
	}
	l.tokens = toks
	// A one-letter number (M, d, H, h, m, s) has one or two digits, so
	// next to another number it can't be read back: "Md" writes January
	// 31 as "131", which could be 13/1 as well.
	for i := 0; i+1 < len(l.tokens); i++ {
		a, b := l.tokens[i].kind, l.tokens[i+1].kind
		if numericSpec(a) && numericSpec(b) && (len(a) == 1 && a[0] != 'f' || len(b) == 1 && b[0] != 'f') {
			return nil, fmt.Errorf("layout %q: %s and %s stand side by side, so their digits can't be told apart; "+
				"write two letters (MM, dd, HH, mm, ss) or put a separator between them", s, a, b)
		}
	}
	// Seconds followed by "." or "," and a number: Go reads that number as
	// fractions of the second, not as the number.
	for i := 0; i+2 < len(l.tokens); i++ {
		a, lit, b := l.tokens[i], l.tokens[i+1], l.tokens[i+2]
		if (a.kind == "s" || a.kind == "ss") && lit.kind == "" && (lit.lit == "." || lit.lit == ",") && numericSpec(b.kind) && b.kind[0] != 'f' && b.kind[0] != 'F' {
			return nil, fmt.Errorf("layout %q: the seconds followed by %q and %s would be read as fractions of a second; use another separator", s, lit.lit, b.kind)
		}
	}
	// Text that Go's layouts give a meaning of their own: "_" before a day
	// is its space-padded day, and names in quoted text would be read as
	// month, day and zone names.
	for i, tk := range l.tokens {
		if tk.kind != "" {
			continue
		}
		if strings.HasSuffix(tk.lit, "_") && i+1 < len(l.tokens) && (l.tokens[i+1].kind == "d" || l.tokens[i+1].kind == "dd") {
			return nil, fmt.Errorf("layout %q: an underscore right before the day can't be read back; use another separator, such as - or .", s)
		}
		for _, word := range []string{"Jan", "Mon", "MST", "PM", "pm"} {
			if strings.Contains(tk.lit, word) {
				return nil, fmt.Errorf("layout %q: the text %q holds %q, which can't be told apart from a month, day or zone name; leave it out of the layout", s, tk.lit, word)
			}
		}
	}
	l.parse = goLayout.String()
	if fixed, ok := fixedWidth(l.tokens); ok {
		l.parse = fixed
	}
	l.quick = quickTokens(l.tokens)
	return l, nil
}

// goForm is the lenient Go layout of a number specifier ("" for text).
func goForm(kind string) string {
	for _, sp := range dateSpecifiers {
		if kind != "" && sp.spec == kind {
			return sp.goParse
		}
	}
	return ""
}

// zeroPadded are the Go layouts of two-letter numbers that read exactly
// two digits.
var zeroPadded = map[string]string{"dd": "02", "MM": "01", "HH": "15", "hh": "03", "mm": "04", "ss": "05"}

// fixedWidth returns the Go layout of tokens with numbers at their exact
// widths, and whether it is needed: when two numbers stand side by side
// whose lenient one-or-two-digit Go forms run together into another Go
// field (the month's "1" and the seconds' "5" read as "15", the hour).
func fixedWidth(tokens []layoutToken) (string, bool) {
	clash := false
	for i := 0; i+1 < len(tokens); i++ {
		a, b := goForm(tokens[i].kind), goForm(tokens[i+1].kind)
		clash = clash || strings.HasSuffix(a, "1") && strings.HasPrefix(b, "5")
	}
	if !clash {
		return "", false
	}
	var b strings.Builder
	for _, t := range tokens {
		if t.kind == "" {
			b.WriteString(t.lit)
			continue
		}
		if z, ok := zeroPadded[t.kind]; ok {
			b.WriteString(z)
			continue
		}
		switch t.kind[0] {
		case 'f':
			b.WriteString(strings.Repeat("0", len(t.kind)))
		case 'F':
			b.WriteString(strings.Repeat("9", len(t.kind)))
		default:
			b.WriteString(goForm(t.kind))
		}
	}
	return b.String(), true
}

// quickTokens returns tokens when they are one day (d, dd), one month (M,
// MM) and one year (yyyy) with separators, the layouts of nearly every
// date column; else nil.
func quickTokens(tokens []layoutToken) []layoutToken {
	seen := map[byte]bool{}
	for _, t := range tokens {
		switch t.kind {
		case "":
			if strings.ContainsAny(t.lit, " \t") {
				return nil // time.Parse treats runs of spaces as one
			}
			continue
		case "d", "dd", "M", "MM", "yyyy":
		default:
			return nil
		}
		if seen[t.kind[0]] {
			return nil
		}
		seen[t.kind[0]] = true
	}
	if len(seen) != 3 {
		return nil
	}
	return tokens
}

// quickParse reads s in a layout of quickTokens by hand, exactly as
// time.Parse reads it (a day or month of one or two digits, a year of
// four), several times faster. It reports false for anything else, which
// time.Parse then reads or explains.
func (l *DateLayout) quickParse(s string) (time.Time, bool) {
	var year, month, day int
	for _, t := range l.quick {
		switch t.kind {
		case "":
			if !strings.HasPrefix(s, t.lit) {
				return time.Time{}, false
			}
			s = s[len(t.lit):]
		case "yyyy":
			if len(s) < 4 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) {
				return time.Time{}, false
			}
			year = int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
			s = s[4:]
		default: // d, dd, M, MM: one or two digits
			if len(s) == 0 || !isDigit(s[0]) {
				return time.Time{}, false
			}
			n := int(s[0] - '0')
			s = s[1:]
			if len(s) > 0 && isDigit(s[0]) {
				n = n*10 + int(s[0]-'0')
				s = s[1:]
			}
			if t.kind[0] == 'd' {
				day = n
			} else {
				month = n
			}
		}
	}
	if s != "" || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// daysIn returns the number of days of month in year.
func daysIn(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - (month-1)%7%2
}

// numericSpec reports whether a layout token is written in digits.
func numericSpec(kind string) bool {
	switch kind {
	case "", "MMM", "MMMM", "ddd", "dddd", "tt":
		return false
	}
	return true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Parse parses s in UTC.
func (l *DateLayout) Parse(s string) (time.Time, error) {
	if l.quick != nil {
		if t, ok := l.quickParse(s); ok {
			return t, nil
		}
	}
	return time.ParseInLocation(l.parse, s, time.UTC)
}

// Format renders t with the layout.
func (l *DateLayout) Format(t time.Time) string {
	var b strings.Builder
	for _, tok := range l.tokens {
		switch tok.kind {
		case "":
			b.WriteString(tok.lit)
		case "yyyy":
			b.WriteString(pad(t.Year(), 4))
		case "yy":
			b.WriteString(pad(t.Year()%100, 2))
		case "MMMM":
			b.WriteString(t.Month().String())
		case "MMM":
			b.WriteString(t.Month().String()[:3])
		case "MM":
			b.WriteString(pad(int(t.Month()), 2))
		case "M":
			b.WriteString(strconv.Itoa(int(t.Month())))
		case "dddd":
			b.WriteString(t.Weekday().String())
		case "ddd":
			b.WriteString(t.Weekday().String()[:3])
		case "dd":
			b.WriteString(pad(t.Day(), 2))
		case "d":
			b.WriteString(strconv.Itoa(t.Day()))
		case "HH":
			b.WriteString(pad(t.Hour(), 2))
		case "H":
			b.WriteString(strconv.Itoa(t.Hour()))
		case "hh", "h":
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			if tok.kind == "hh" {
				b.WriteString(pad(h, 2))
			} else {
				b.WriteString(strconv.Itoa(h))
			}
		case "mm":
			b.WriteString(pad(t.Minute(), 2))
		case "m":
			b.WriteString(strconv.Itoa(t.Minute()))
		case "ss":
			b.WriteString(pad(t.Second(), 2))
		case "s":
			b.WriteString(strconv.Itoa(t.Second()))
		case "tt":
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		default: // fractions: f... or F...
			frac := pad(t.Nanosecond(), 9)[:len(tok.kind)]
			if tok.kind[0] == 'F' {
				frac = strings.TrimRight(frac, "0")
			}
			b.WriteString(frac)
		}
	}
	return b.String()
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// ExampleDate is the date used in hints: "write the date as dd.MM.yyyy, e.g. 31.01.2026".
var exampleDate = time.Date(2026, 1, 31, 14, 30, 0, 0, time.UTC)

// excelEpoch is day 0 of Excel's 1900 date system, as Excel counts after
// its fictitious 29 February 1900.
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// excelSerialTime converts an Excel serial date (1900 date system) such as
// "45123" or "45123.5" to a time. It reports false for text that is not a
// plausible serial number.
func excelSerialTime(s string) (time.Time, bool) {
	if s == "" || len(s) > 32 {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			return time.Time{}, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 || f >= 2958466 { // 2958466 is 10000-01-01
		return time.Time{}, false
	}
	days := int64(f)
	ms := int64((f-float64(days))*86400000 + 0.5)
	if days < 60 {
		// Before Excel's fictitious 1900-02-29 the count starts one day later.
		days++
	} else if days == 60 {
		return time.Time{}, false // 1900-02-29 does not exist
	}
	t := excelEpoch.AddDate(0, 0, int(days)).Add(time.Duration(ms) * time.Millisecond)
	return t, true
}

// numberFormat is a .NET-style custom numeric format such as "0.00",
// "#,##0.00" or "0.##".
type numberFormat struct {
	minInt   int  // digits before the point, zero padded
	minFrac  int  // decimals always shown
	maxFrac  int  // decimals shown at most
	grouping bool // thousands separators
}

func parseNumberFormat(f string) (numberFormat, error) {
	var nf numberFormat
	intPart, fracPart, hasPoint := strings.Cut(f, ".")
	if f == "" || strings.Trim(intPart, "#0,") != "" || strings.Trim(fracPart, "#0") != "" {
		return nf, fmt.Errorf("number format %q is not supported; write it with 0, # and an optional \",\" and \".\", e.g. \"#,##0.00\"", f)
	}
	nf.grouping = strings.Contains(intPart, ",")
	nf.minInt = strings.Count(intPart, "0")
	if hasPoint {
		nf.minFrac = strings.Count(fracPart, "0")
		nf.maxFrac = len(fracPart)
		if i := strings.IndexByte(fracPart, '#'); i >= 0 && strings.Contains(fracPart[i:], "0") {
			return nf, fmt.Errorf("number format %q: write the 0s before the #s after the point, e.g. \"0.00##\"", f)
		}
	}
	return nf, nil
}

// fixedText is d.StringFixed(places) for a d of places decimals,
// without big.Int arithmetic when its digits fit in an int64.
func fixedText(d decimal.Decimal, places int) string {
	if int(d.Exponent()) != -places || places > 18 || d.NumDigits() > 18 || d.Sign() < 0 {
		return d.StringFixed(int32(places))
	}
	var tmp [20]byte
	digits := strconv.AppendInt(tmp[:0], d.CoefficientInt64(), 10)
	var buf [48]byte
	out := buf[:0]
	if n := len(digits); n <= places { // 0.0…digits
		out = append(out, '0', '.')
		for ; n < places; n++ {
			out = append(out, '0')
		}
		out = append(out, digits...)
	} else {
		out = append(out, digits[:n-places]...)
		if places > 0 {
			out = append(out, '.')
			out = append(out, digits[n-places:]...)
		}
	}
	return string(out)
}

// format renders d rounded half away from zero, with decSep as decimal
// separator and groupSep between thousands when the format groups.
func (nf numberFormat) format(d decimal.Decimal, decSep, groupSep string) string {
	d = roundHalfAway(d, int32(nf.maxFrac))
	return nf.finish(d.Sign() < 0, fixedText(d.Abs(), nf.maxFrac), decSep, groupSep)
}

// format64 is format for a dec64, when its rounded digits fit.
func (nf numberFormat) format64(d Dec64, decSep, groupSep string) (string, bool) {
	r, ok := round64(d, int32(nf.maxFrac))
	if !ok || nf.maxFrac > 18 || r.c == math.MinInt64 {
		return "", false
	}
	neg := r.c < 0
	if neg {
		r.c = -r.c
	}
	var buf [48]byte
	return nf.finish(neg, string(r.appendText(buf[:0])), decSep, groupSep), true
}

// finish lays out s, the digits of a rounded amount with nf.maxFrac
// decimals and a "." (its sign is neg), as nf says.
func (nf numberFormat) finish(neg bool, s, decSep, groupSep string) string {
	ip, fp, _ := strings.Cut(s, ".")
	for len(fp) > nf.minFrac && strings.HasSuffix(fp, "0") {
		fp = fp[:len(fp)-1]
	}
	ip = strings.TrimLeft(ip, "0")
	for len(ip) < nf.minInt {
		ip = "0" + ip
	}
	grouped := nf.grouping && len(ip) > 3
	if grouped {
		var b strings.Builder
		first := len(ip) % 3
		if first > 0 {
			b.WriteString(ip[:first])
		}
		for i := first; i < len(ip); i += 3 {
			if b.Len() > 0 {
				b.WriteString(groupSep)
			}
			b.WriteString(ip[i : i+3])
		}
		ip = b.String()
	}
	var out string
	switch {
	case !grouped && decSep == "." && len(ip)+len(".")+len(fp) == len(s) && fp != "":
		out = s // as it came: 1250.50 in "0.00"
	case fp != "":
		out = ip + decSep + fp
	default:
		out = ip
	}
	if out == "" {
		out = "0"
	}
	if neg && strings.Trim(out, "0.,"+decSep+groupSep) != "" {
		out = "-" + out
	}
	return out
}
