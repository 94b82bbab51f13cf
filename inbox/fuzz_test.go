package inbox

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzClaimedName checks that any file name claims to a single, valid
// base name that fits the filesystem and gives back the original name
// when it did not have to be shortened.
func FuzzClaimedName(f *testing.F) {
	for _, s := range []string{"invoices.xlsx", "Kunden Übersicht ÆØÅ.zip", "a-b-c.csv", "", strings.Repeat("é", 200) + ".csv"} {
		f.Add(s)
	}
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
			return // not a base name a folder listing can return
		}
		got := claimedName(name, now, "0badcafe")
		if len(got) > maxName {
			t.Fatalf("claimed name is %d bytes", len(got))
		}
		if filepath.Base(got) != got {
			t.Fatalf("claimed name %q is not a base name", got)
		}
		if utf8.ValidString(name) && !utf8.ValidString(got) {
			t.Fatalf("claimed name %q splits a character of %q", got, name)
		}
		orig := OriginalName(got)
		if len(name) <= maxName-len("20240501T100000.000000Z-0badcafe-") && orig != name {
			t.Fatalf("OriginalName(%q) = %q, want %q", got, orig, name)
		}
		if !strings.HasPrefix(name, orig) && !strings.HasSuffix(name, filepath.Ext(orig)) {
			t.Fatalf("OriginalName(%q) = %q is not from %q", got, orig, name)
		}
	})
}
