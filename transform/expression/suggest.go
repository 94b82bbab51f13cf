package expression

import (
	"fmt"
	"strings"
	"unicode"
)

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
