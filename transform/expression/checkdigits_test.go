package expression

import "testing"

func TestCheckDigits(t *testing.T) {
	tests := []struct {
		fn   func(string) bool
		name string
		in   string
		want bool
	}{
		{mod11OK, "mod11", "974760673", true},   // Brønnøysundregistrene
		{mod11OK, "mod11", "964979805", false},  // one digit off
		{mod11OK, "mod11", "923609016", true},   // Equinor
		{mod11OK, "mod11", "12345678903", true}, // a KID with mod 11
		{mod11OK, "mod11", "000000000", true},
		{luhnOK, "luhn", "5560360793", true},
		{luhnOK, "luhn", "2021005489", true}, // Skatteverket
		{luhnOK, "luhn", "79927398713", true},
		{luhnOK, "luhn", "79927398710", false},
		{ibanOK, "iban", "NO9386011117947", true},
		{ibanOK, "iban", "GB82WEST12345698765432", true},
		{ibanOK, "iban", "gb82 west 1234 5698 7654 32", true},
		{ibanOK, "iban", "GB82WEST12345698765431", false},
		{ibanOK, "iban", "DE89370400440532013000", true},
		{ibanOK, "iban", "NL91ABNA0417164300", true},
		{ibanOK, "iban", "8601 11 17947", false},
		{ibanOK, "iban", "NO", false},
		{ibanOK, "iban", "NO93-8601-1117-947", false},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestCheckDigitFunctionsTakeTypedText(t *testing.T) {
	for _, src := range []string{`VALIDMOD11("974 760 673")`, `VALIDMOD11("974.760.673")`, `VALIDLUHN("556036-0793")`, `VALIDIBAN(" NO93 8601 1117 947 ")`} {
		if v, err := evalString(t, src, nil); err != nil || v != true {
			t.Errorf("%s = %v, %v; want true", src, v, err)
		}
	}
	for _, src := range []string{`VALIDMOD11("97476067A")`, `VALIDMOD11(nil)`, `VALIDLUHN("")`, `VALIDIBAN(nil)`} {
		if v, err := evalString(t, src, nil); err != nil || v != false {
			t.Errorf("%s = %v, %v; want false", src, v, err)
		}
	}
}
