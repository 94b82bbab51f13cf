package template

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestYAMLErrorPlace: a YAML mistake is reported at the line that makes
// it, marked "#!" in each case, and at the column where the line's
// content (or its tab) starts, even where yaml.v3 names the line the
// enclosing block starts on.
func TestYAMLErrorPlace(t *testing.T) {
	// pad makes a template long enough that the block yaml.v3 names starts
	// far above the mistake.
	pad := strings.Repeat("    - name: f\n      column: F\n      type: string\n", 40)
	tests := []struct {
		name string
		src  string
		msg  string // a part of the message
	}{
		{"key one space too far in a list item", `name: t
input:
  fields:
    - name: a
      column: A
    - name: b
       column: B #!
output:
  csv: {}
`, "mapping values are not allowed"},
		{"key one space too few in a list item", `name: t
input:
  fields:
    - name: a
      column: A
    - name: b
     column: B #!
    - name: c
output:
  csv: {}
`, "this line is indented 5 spaces, which lines up with none of the lines above it (they are indented 0, 2, 4 or 6)"},
		{"dedent far below the list's start", "name: t\ninput:\n  fields:\n" + pad + `    - name: amount
      type: decimal
     layout: x #!
output:
  csv: {}
`, "indented 5 spaces"},
		{"dedent in a later item", `name: t
validations:
  - name: v
    condition: x > 1
    message: m
  - name: w
    condition: y
   message: m #!
output: x
`, "indented 3 spaces"},
		{"a tab", "name: t\ninput:\n  fields:\n    - name: a\n\tcolumn: A #!\noutput: x\n", "indent with spaces, not tabs"},
		{"a tab after spaces", "name: t\ninput:\n  fields:\n    - name: a\n      column: A\n  \t  type: string #!\noutput: x\n", "indent with spaces, not tabs"},
		{"a list item where keys are", `name: t
input:
  fields:
    - name: a
      - name: b #!
output: x
`, "line its - up with the items above it (4 spaces)"},
		{"a key where the dashes are", `name: t
input:
  fields:
    - name: a
      column: A
    column: B #!
output: x
`, "a key where the list's dashes are"},
		{"after a block scalar", `name: t
model:
  - name: m
    expr: |
      IF(a > 1,
         "x",
        "y")
  - name: n
    expr: a
   message: m #!
output: x
`, "indented 3 spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantLine, wantCol := 0, 0
			for i, l := range strings.Split(tt.src, "\n") {
				if strings.HasSuffix(l, "#!") {
					wantLine = i + 1
					wantCol = len(l) - len(strings.TrimLeft(l, " ")) + 1
				}
			}
			l := &Decoder{File: "t.yaml"}
			if _, ok := l.ParseDocument([]byte(tt.src)); ok {
				t.Fatal("parsed")
			}
			e := l.Errs[0]
			if e.Line != wantLine || e.Col != wantCol || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("%s\nwant t.yaml:%d:%d: ...%s...", e, wantLine, wantCol, tt.msg)
			}
		})
	}
}

// TestMisindentedValid: the scan finds nothing wrong in the built-in
// templates and in YAML that is right but unusual.
func TestMisindentedValid(t *testing.T) {
	files, err := filepath.Glob("../../templates/*/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("templates: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if line, _, why, ok := misindented(data, 1); ok {
			t.Errorf("%s:%d: %s", f, line, why)
		}
	}
	for _, src := range []string{
		"a:\n- x\n- y\nb: z\n",                                // a list not indented under its key
		"a: some long\n  text over lines\nb: c\n",             // plain text over lines
		"a: \"quoted\n    over lines\"\nb: c\n",               // quoted text over lines
		"a: [x,\n  y]\nb: {c: d,\n   e: f}\n",                 // flow collections over lines
		"a: |\n  x\n    y\n\n  z\nb: >-\n  folded\n",          // block scalars
		"a: &base\n  x: 1\nb:\n  <<: *base\n",                 // anchors
		"- - a\n  - b\n- c\n",                                 // lists of lists
		"a:\n  # a comment\n\n  b: 1\n  \"c d\": 2\n'e': 3\n", // comments, quoted keys
		"a: x # comment: not a key\nb:\n  - c\n",
		"---\na: 1\n---\nb: 2\n",
	} {
		if _, err := decodeRoot([]byte(src)); err != nil {
			t.Errorf("%q is not YAML: %v", src, err)
		}
		if line, _, why, ok := misindented([]byte(src), 1); ok {
			t.Errorf("%q: line %d: %s", src, line, why)
		}
	}
}
