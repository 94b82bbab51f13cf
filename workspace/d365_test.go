package workspace

import (
	"strings"
	"testing"
)

func TestD365ConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  D365Config
		want string // "" when valid
	}{
		{"package by default", D365Config{DefinitionGroup: "erpipe-customers", LegalEntity: "USMF"}, ""},
		{"package", D365Config{Mode: "package", DefinitionGroup: "erpipe-customers", Overwrite: true}, ""},
		{"package without a project", D365Config{LegalEntity: "USMF"}, "definition_group"},
		{"package with recurring settings", D365Config{DefinitionGroup: "p", ActivityID: "{6D31E09F-0249-459F-94F0-AAD9C2C2B1A1}"}, "mode: recurring"},
		{"recurring, Data package job", D365Config{Mode: "recurring", ActivityID: "{6D31E09F-0249-459F-94F0-AAD9C2C2B1A1}", Company: "USMF"}, ""},
		{"recurring, File job", D365Config{Mode: "recurring", ActivityID: "6D31E09F-0249-459F-94F0-AAD9C2C2B1A1", Entity: "Customers V3", LegalEntity: "USMF"}, ""},
		{"recurring without an activity", D365Config{Mode: "recurring", Company: "USMF"}, "activity_id"},
		{"recurring with empty braces", D365Config{Mode: "recurring", ActivityID: "{}"}, "activity_id"},
		{"recurring with a project", D365Config{Mode: "recurring", ActivityID: "{6D31E09F-0249-459F-94F0-AAD9C2C2B1A1}", DefinitionGroup: "p"}, "mode: package"},
		{"an unknown mode", D365Config{Mode: "queue", DefinitionGroup: "p"}, `mode "queue" is not known`},
	} {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
