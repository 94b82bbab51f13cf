package expression

import "strings"

// Check digits of identifiers people type: organisation numbers, payment
// references and account numbers. Each takes the text as typed: spaces,
// dots and dashes between the digits are left out first.

// checkDigitFunctions are the check-digit functions of the library.
var checkDigitFunctions = []*FunctionSpec{
	{
		Name: "VALIDMOD11", Category: "logical", Signature: "VALIDMOD11(number)", MinArgs: 1, MaxArgs: 1, Result: KindBool,
		Doc: "True when the last digit of number is its modulus-11 check digit (weights 2 to 7 from the right), as in Norwegian organisation numbers and KID references. Spaces, dots and dashes are left out.",
		Examples: []FunctionExample{
			{Expr: `VALIDMOD11("974 760 673")`, Result: `true`},
			{Expr: `VALIDMOD11("987654321")`, Result: `false`},
		},
		fn: digitsCheck(mod11OK),
	},
	{
		Name: "VALIDLUHN", Category: "logical", Signature: "VALIDLUHN(number)", MinArgs: 1, MaxArgs: 1, Result: KindBool,
		Doc: "True when the last digit of number is its Luhn (modulus-10) check digit, as in Swedish organisation numbers, KID references and card numbers. Spaces, dots and dashes are left out.",
		Examples: []FunctionExample{
			{Expr: `VALIDLUHN("556036-0793")`, Result: `true`},
			{Expr: `VALIDLUHN("5560360794")`, Result: `false`},
		},
		fn: digitsCheck(luhnOK),
	},
	{
		Name: "VALIDRF", Category: "logical", Signature: "VALIDRF(reference)", MinArgs: 1, MaxArgs: 1, Result: KindBool,
		Doc: "True when reference is a creditor reference (ISO 11649: RF, two check digits, up to 21 letters and digits) whose check digits hold (modulus 97). Spaces are left out; letters may be small.",
		Examples: []FunctionExample{
			{Expr: `VALIDRF("RF18 5390 0754 7034")`, Result: `true`},
			{Expr: `VALIDRF("RF19 5390 0754 7034")`, Result: `false`},
		},
		fn: func(args ...any) (any, error) {
			s := strings.ToUpper(strings.ReplaceAll(argText(args[0]), " ", ""))
			return strings.HasPrefix(s, "RF") && len(s) <= 25 && ibanOK(s), nil
		},
	},
	{
		Name: "VALIDIBAN", Category: "logical", Signature: "VALIDIBAN(iban)", MinArgs: 1, MaxArgs: 1, Result: KindBool,
		Doc: "True when iban is an IBAN whose check digits hold (ISO 13616, modulus 97): two letters, two digits, then up to 30 letters and digits. Spaces are left out; letters may be small.",
		Examples: []FunctionExample{
			{Expr: `VALIDIBAN("NO93 8601 1117 947")`, Result: `true`},
			{Expr: `VALIDIBAN("NO94 8601 1117 947")`, Result: `false`},
		},
		fn: func(args ...any) (any, error) { return ibanOK(argText(args[0])), nil },
	},
}

// digitsCheck makes a check-digit function: the text, without spaces,
// dots and dashes, must be digits only and pass ok.
func digitsCheck(ok func(string) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		d := strings.Map(func(r rune) rune {
			if r == ' ' || r == '.' || r == '-' {
				return -1
			}
			return r
		}, argText(args[0]))
		if len(d) < 2 {
			return false, nil
		}
		for i := 0; i < len(d); i++ {
			if d[i] < '0' || d[i] > '9' {
				return false, nil
			}
		}
		return ok(d), nil
	}
}

// mod11OK: weights 2, 3, 4, 5, 6, 7, 2, 3... from the digit before the
// check digit leftwards; check = 11 - sum mod 11 (11 gives 0; 10 has no
// check digit, so no such number is valid).
func mod11OK(d string) bool {
	sum, w := 0, 2
	for i := len(d) - 2; i >= 0; i-- {
		sum += int(d[i]-'0') * w
		if w++; w > 7 {
			w = 2
		}
	}
	c := 11 - sum%11
	if c == 11 {
		c = 0
	}
	return c != 10 && c == int(d[len(d)-1]-'0')
}

// luhnOK: every second digit from the right doubled, digits summed; the
// total is a multiple of 10.
func luhnOK(d string) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// ibanOK checks an IBAN's form and its modulus-97 check digits.
func ibanOK(s string) bool {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(s) < 5 || len(s) > 34 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i < 2 && (c < 'A' || c > 'Z'):
			return false
		case i >= 2 && i < 4 && (c < '0' || c > '9'):
			return false
		case !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'):
			return false
		}
	}
	// The first four characters moved to the end, letters as 10 to 35,
	// the number taken modulo 97 digit by digit.
	rem := 0
	for _, c := range s[4:] + s[:4] {
		if c >= 'A' {
			rem = (rem*100 + int(c-'A') + 10) % 97
		} else {
			rem = (rem*10 + int(c-'0')) % 97
		}
	}
	return rem == 1
}
