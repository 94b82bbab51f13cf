package expression

import (
	"strings"
	"testing"
)

// TestSpreadsheetNames: a function name typed from Excel (or SQL) gets a
// hint naming what does the job here; those erpipe has too just work.
func TestSpreadsheetNames(t *testing.T) {
	env := &Env{Vars: map[string]any{"name": nil, "amount": nil}, Lookups: exampleLookups}
	tests := []struct {
		expr string
		want string // the message; "" when it compiles
	}{
		{`CONCATENATE(name, "x")`, `unknown name "CONCATENATE" (did you mean "CONCAT"?)`},
		{`Concatenate(name, "x")`, `unknown name "Concatenate" (did you mean "CONCAT"?)`},
		{`TEXTJOIN(", ", true, name, name)`, `unknown name "TEXTJOIN" (did you mean "CONCAT"? CONCAT(a, ", ", b) puts the separator between the values)`},
		{`VLOOKUP(name, "payment_terms", 2)`, `unknown name "VLOOKUP" (did you mean "LOOKUP"? LOOKUP("table", key, default) looks the key up in one of the template's lookups)`},
		{`XLOOKUP(name, "payment_terms")`, `(did you mean "LOOKUP"?`},
		{`IFERROR(VALUE(name), 0)`, `unknown name "IFERROR" (there is no IFERROR: a value that makes an expression fail leaves the row out with a message; test the value first, e.g. IF(ISBLANK(x), 0, x))`},
		{`LEN(name)`, ``},
		{`MID(name, 1, 2)`, ``},
		{`len(name)`, `unknown name "len" (did you mean "LEN"? functions are written in capitals)`},
		{`Mid(name, 1, 2)`, `unknown name "Mid" (did you mean "MID"? functions are written in capitals)`},
		{`LENGTH(name)`, `unknown name "LENGTH" (did you mean "LEN"?)`},
		{`SUBSTR(name, 1, 2)`, `unknown name "SUBSTR" (did you mean "MID"? MID(text, start, count), the first character is 1)`},
		{`SUBSTITUTE(name, "a", "b")`, `unknown name "SUBSTITUTE" (did you mean "REPLACE"?)`},
		{`TRUNC(amount, 2)`, `unknown name "TRUNC" (did you mean "ROUNDDOWN"?)`},
		{`SWITCH(name, "a", 1, 2)`, `unknown name "SWITCH" (did you mean "CASE"?)`},
		{`ISEMPTY(name)`, `unknown name "ISEMPTY" (did you mean "ISBLANK"?)`},
		{`SEARCH("a", name)`, `(did you mean "CONTAINS"?`},
		{`AND(name == "a", amount > 1)`, `unknown name "AND" (write a && b (or a and b))`},
		{`NVL(name, "x")`, `unknown name "NVL" (write value ?? default: the value, or the default when it is blank)`},
		{`name == NULL`, `unknown name "NULL" (did you mean "nil"? a blank value is written nil)`},
		{`IF(TRUE, 1, 2)`, `unknown name "TRUE" (did you mean "true"? true and false are written in small letters)`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, probs := Compile(tt.expr, env)
			if tt.want == "" {
				if len(probs) > 0 {
					t.Fatalf("refused: %+v", probs)
				}
				return
			}
			if len(probs) == 0 {
				t.Fatal("compiled")
			}
			if !strings.Contains(probs[0].Msg, tt.want) {
				t.Errorf("%q\nwant %q", probs[0].Msg, tt.want)
			}
		})
	}
}
