package expression

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// charsetFunctions are the functions that fit text to what a receiver
// takes.
var charsetFunctions = []*FunctionSpec{
	{
		Name: "SEPATEXT", Category: "text", Signature: "SEPATEXT(text)", MinArgs: 1, MaxArgs: 1, Result: KindText | KindBlank,
		Doc: "The text in the character set every SEPA bank takes (the EPC's basic Latin set: a-z A-Z 0-9 / - ? : ( ) . , ' + and space), converted as banks' own tools do: accents are dropped (ü to u, é to e, å to a), ß becomes ss, æ ae, ø o, & +, and any other character a space; runs of spaces become one.",
		Examples: []FunctionExample{
			{Expr: `SEPATEXT("Müller Maschinenbau GmbH")`, Result: `"Muller Maschinenbau GmbH"`},
			{Expr: `SEPATEXT("Søren & Sønner Ærø")`, Result: `"Soren + Sonner AEro"`},
			{Expr: `SEPATEXT("Straße 5 😀")`, Result: `"Strasse 5"`},
		},
		fn: func(args ...any) (any, error) {
			if args[0] == nil {
				return nil, nil
			}
			return sepaText(argText(args[0])), nil
		},
	},
}

// sepaSpecial are the letters that don't decompose into a base letter and
// marks, and what the EPC's conversion makes of them.
var sepaSpecial = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "AE", 'ø': "o", 'Ø': "O", 'œ': "oe", 'Œ': "OE", 'ł': "l", 'Ł': "L",
	'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "TH", 'ı': "i", '&': "+",
	'‘': "'", '’': "'", '´': "'", '`': "'", '–': "-", '—': "-", '_': "-", '"': "'", '«': "'", '»': "'",
}

func sepaAllowed(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-?:().,'+ ", r)
}

func sepaText(s string) string {
	var b strings.Builder
	space := false
	put := func(r rune) {
		if r == ' ' {
			if space || b.Len() == 0 {
				return
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// an accent, dropped
		case sepaAllowed(r):
			put(r)
		case sepaSpecial[r] != "":
			for _, c := range sepaSpecial[r] {
				put(c)
			}
		default:
			put(' ')
		}
	}
	return strings.TrimRight(b.String(), " ")
}
