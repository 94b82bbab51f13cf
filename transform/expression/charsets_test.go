package expression

import "testing"

func TestSEPAText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Müller Maschinenbau GmbH", "Muller Maschinenbau GmbH"},
		{"Ålesund kommune", "Alesund kommune"},
		{"Bäckerei Größe & Co.", "Backerei Grosse + Co."},
		{"Łódź Łukasz", "Lodz Lukasz"},
		{"Ærø Færgen", "AEro Faergen"},
		{"Café “Noir”", "Cafe Noir"},
		{"Faktura 2026-01 😀 betalt", "Faktura 2026-01 betalt"},
		{"  spaces   between  ", "spaces between"},
		{"Ελλάδα", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := sepaText(tt.in); got != tt.want {
			t.Errorf("sepaText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSEPAText(f *testing.F) {
	f.Add("Müller & Søn 😀 Straße")
	f.Fuzz(func(t *testing.T, s string) {
		out := sepaText(s)
		for _, r := range out {
			if !sepaAllowed(r) {
				t.Fatalf("sepaText(%q) = %q holds %q", s, out, r)
			}
		}
		if again := sepaText(out); again != out {
			t.Fatalf("not stable: %q then %q", out, again)
		}
	})
}
