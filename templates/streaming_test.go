package templates

import "testing"

// TestStreaming pins which built-ins run as pure streams (erpipe transform
// then lets the garbage collector run less often) and which hold groups.
func TestStreaming(t *testing.T) {
	for name, want := range map[string]bool{
		"customers-v3":    true,
		"vendors-v2":      true,
		"camt053-import":  false, // balance checks per statement
		"general-journal": false, // voucher balance checks
		"system-setup":    false, // a sheet per entity
		"pain001":         false, // an XML document with groups
		"saft-no":         false,
	} {
		tmpl, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := tmpl.Streaming(); got != want {
			t.Errorf("%s: Streaming() = %v, want %v", name, got, want)
		}
	}
}
