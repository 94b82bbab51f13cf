package expression

import (
	"fmt"
	"strings"
	"unicode"
)

// spreadsheetNames are names people type from Excel, SQL and other
// languages, with what does the job here: a function, or how to write it
// (the hint after "did you mean ...?", or the whole hint when there is no
// one name to give).
var spreadsheetNames = map[string]struct{ name, how string }{
	"CONCATENATE": {name: "CONCAT"},
	"TEXTJOIN":    {name: "CONCAT", how: `CONCAT(a, ", ", b) puts the separator between the values`},
	"VLOOKUP":     {name: "LOOKUP", how: `LOOKUP("table", key, default) looks the key up in one of the template's lookups`},
	"HLOOKUP":     {name: "LOOKUP", how: `LOOKUP("table", key, default) looks the key up in one of the template's lookups`},
	"XLOOKUP":     {name: "LOOKUP", how: `LOOKUP("table", key, default) looks the key up in one of the template's lookups`},
	"SUBSTITUTE":  {name: "REPLACE"},
	"LENGTH":      {name: "LEN"},
	"SUBSTR":      {name: "MID", how: "MID(text, start, count), the first character is 1"},
	"SUBSTRING":   {name: "MID", how: "MID(text, start, count), the first character is 1"},
	"TRUNC":       {name: "ROUNDDOWN"},
	"SWITCH":      {name: "CASE"},
	"ISEMPTY":     {name: "ISBLANK"},
	"ISNULL":      {name: "ISBLANK"},
	"SEARCH":      {name: "CONTAINS", how: "CONTAINS(text, part) is true when the text holds the part"},
	"FIND":        {name: "CONTAINS", how: "CONTAINS(text, part) is true when the text holds the part"},
	"TRUE":        {name: "true", how: "true and false are written in small letters"},
	"FALSE":       {name: "false", how: "true and false are written in small letters"},
	"NULL":        {name: "nil", how: "a blank value is written nil"},
	"AND":         {how: "write a && b (or a and b)"},
	"OR":          {how: "write a || b (or a or b)"},
	"NOT":         {how: "write !a (or not a)"},
	"NVL":         {how: "write value ?? default: the value, or the default when it is blank"},
	"IFNULL":      {how: "write value ?? default: the value, or the default when it is blank"},
	"COALESCE":    {how: "write value ?? default: the value, or the default when it is blank"},
	"IFERROR":     {how: "there is no IFERROR: a value that makes an expression fail leaves the row out with a message; test the value first, e.g. IF(ISBLANK(x), 0, x)"},
}

// spreadsheetHint returns the hint for a name typed from another
// language, or "".
func spreadsheetHint(name string) string {
	s, ok := spreadsheetNames[strings.ToUpper(name)]
	switch {
	case !ok:
		return ""
	case s.name == "":
		return " (" + s.how + ")"
	case s.how == "":
		return fmt.Sprintf(" (did you mean %q?)", s.name)
	}
	return fmt.Sprintf(" (did you mean %q? %s)", s.name, s.how)
}

// DidYouMean returns ` (did you mean "x"?)` for the candidate closest to
// s, or "" when none is close. A candidate that s starts with, or that
// starts with s, of at least four letters, is close too: CONCATENATE
// (Excel's name) gives CONCAT.
func DidYouMean(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		if strings.HasPrefix(c, "__") {
			continue
		}
		if lc := strings.ToLower(c); extends(ls, lc) || extends(lc, ls) {
			return fmt.Sprintf(" (did you mean %q?)", c)
		}
		d := levenshtein(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || best == s {
		return ""
	}
	limit := max(1, len([]rune(s))/3)
	if bestD > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// extends reports whether long is short (of four letters or more) with
// at most as many letters again after it: CONCATENATE and CONCAT.
func extends(long, short string) bool {
	rest, ok := strings.CutPrefix(long, short)
	return ok && len(short) >= 4 && rest != "" && len(rest) <= len(short) &&
		strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) }) < 0
}

// levenshtein is the edit distance between a and b, counted in runes, with
// a swap of two neighbouring letters counted as one edit (optimal string
// alignment), the most common typo.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
