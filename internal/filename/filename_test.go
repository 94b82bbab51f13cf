package filename

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShorten(t *testing.T) {
	long := strings.Repeat("ø", 150) + ".csv" // 304 bytes
	for _, c := range []struct {
		name string
		max  int
		want string
	}{
		{"customers.csv", 255, "customers.csv"},
		{strings.Repeat("a", 300) + ".xlsx", 20, strings.Repeat("a", 14) + "~.xlsx"},
		{long, 241, strings.Repeat("ø", 118) + "~.csv"},
		{strings.Repeat("b", 300) + ".a-very-long-not-extension", 30, strings.Repeat("b", 29) + "~"},
	} {
		got := Shorten(c.name, c.max)
		if got != c.want || len(got) > c.max || !utf8.ValidString(got) {
			t.Errorf("Shorten(%d bytes, %d) = %q (%d bytes), want %q", len(c.name), c.max, got, len(got), c.want)
		}
	}
	if p := TempPattern(long + long); len(p)-1+10 > Max || !utf8.ValidString(p) || !strings.HasSuffix(p, ".*.partial") {
		t.Errorf("TempPattern gives %q (%d bytes)", p, len(p))
	}
}
