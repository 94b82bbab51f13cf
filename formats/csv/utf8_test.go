package csv

import (
	"io"
	"testing"
	"unicode/utf8"
)

// chunks serves data in reads of at most n bytes, to cut characters at
// every place.
type chunks struct {
	data []byte
	n    int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// checkUTF8 reads data through a utf8Check in reads of n bytes and
// returns whether it found the data bad.
func checkUTF8(t testing.TB, data []byte, n int) bool {
	c := &utf8Check{r: &chunks{data: data, n: n}}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Fatalf("utf8Check changed the bytes: %q, want %q", got, data)
	}
	return c.bad
}

func TestUTF8Check(t *testing.T) {
	for _, s := range []string{
		"", "plain ASCII\n", "Müller,Zürich,€,𝄞\n", "€", "𝄞𝄞𝄞", "a€b𝄞c",
		"\xff", "M\xfcnchen", "ends cut \xe2\x82", "\xe2\x82\xe2\x82\xac", "\x80", "a\xc0\x80", // overlong
		"\xed\xa0\x80", // a surrogate
		"\xf4\x90\x80\x80", "€\xe2", "\xf0\x9d\x84",
	} {
		for _, n := range []int{1, 2, 3, 4, 5, 7, 64 << 10} {
			if got, want := checkUTF8(t, []byte(s), n), !utf8.ValidString(s); got != want {
				t.Errorf("%q in reads of %d: bad = %v, want %v", s, n, got, want)
			}
		}
	}
}

func FuzzUTF8Check(f *testing.F) {
	f.Add([]byte("Müller,Zürich,€,𝄞\n"), uint8(3))
	f.Add([]byte("M\xfcnchen"), uint8(1))
	f.Add([]byte("ends cut \xe2\x82"), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		if got, want := checkUTF8(t, data, int(n)+1), !utf8.Valid(data); got != want {
			t.Errorf("%q in reads of %d: bad = %v, want %v", data, int(n)+1, got, want)
		}
	})
}
