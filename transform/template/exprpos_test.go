package template

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestExprPlace: a place inside an expression is found on the line and
// column of the file it is written on, however the value is written.
func TestExprPlace(t *testing.T) {
	for _, src := range []string{
		"e: a > 0 && BAD == 1\n",
		"e: a > 0 &&\n  b == 2 &&\n    BAD == 1\n",
		"e: \"a == \\\"x\\\" && BAD == 1\"\n",
		"e: 'a == ''x'' && BAD == 1'\n",
		"e: |\n  a > 0 &&\n    BAD == 1\n",
		"e: |-\n    a > 0 &&\n\n    BAD == 1\n",
		"e: >\n  a > 0 &&\n  BAD == 1\n",
		"x:\n  - e: >-\n      a > 0 &&\n      b > 0 && BAD\n",
		"e: |\r\n  a > 0 &&\r\n    BAD == 1\r\n",
		"e: ÆØÅ + \"æ\" + BAD\n",
	} {
		// Where BAD is in the file, and in the value.
		wantLine, wantCol := 0, 0
		for i, l := range strings.Split(src, "\n") {
			if j := strings.Index(l, "BAD"); j >= 0 {
				wantLine, wantCol = i+1, len([]rune(l[:j]))+1
			}
		}
		l := &Decoder{File: "t.yaml"}
		root, ok := l.ParseDocument([]byte(src))
		if !ok {
			t.Fatalf("%q: %v", src, l.Errs)
		}
		n := root.Content[1]
		if n.Kind != yaml.ScalarNode { // a list: the e: of its item
			n = n.Content[0].Content[1]
		}
		before, _, _ := strings.Cut(n.Value, "BAD")
		line := strings.Count(before, "\n") + 1
		col := len([]rune(before[strings.LastIndex(before, "\n")+1:]))
		if gotLine, gotCol := l.ExprPlace(n, line, col); gotLine != wantLine || gotCol != wantCol {
			t.Errorf("%q: BAD at %d:%d, want %d:%d", src, gotLine, gotCol, wantLine, wantCol)
		}
	}
}
