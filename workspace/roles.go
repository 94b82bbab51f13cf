package workspace

import (
	"fmt"
	"slices"
	"strings"
)

// Role is what a client or user of the HTTP API and the console may do.
// Roles are ordered: each may do what the roles before it may.
//
//   - viewer reads: pipelines, jobs, reports, rejected rows, outputs,
//     schedules and templates.
//   - operator also makes work: uploads files, retries jobs, sends
//     corrected rows, runs schedules' periods (corrections too), and
//     dequeues and acks the recurring-integrations facade's files.
//   - author also edits and saves templates.
//   - admin may do everything.
type Role string

// The roles, lowest first.
const (
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RoleAuthor   Role = "author"
	RoleAdmin    Role = "admin"
)

// Roles lists the roles, lowest first.
var Roles = []Role{RoleViewer, RoleOperator, RoleAuthor, RoleAdmin}

// DefaultRole is the role of a client whose entry in erpipe.yaml names
// none: operator, what every client could do before roles existed.
const DefaultRole = RoleOperator

// ParseRole reads a role's name; "" is DefaultRole.
func ParseRole(s string) (Role, error) {
	if s == "" {
		return DefaultRole, nil
	}
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("role %q is not known; use %s", s, RoleNames())
	}
	return r, nil
}

// RoleNames is the roles' names for messages: "viewer, operator, author
// or admin".
func RoleNames() string {
	var b strings.Builder
	for i, r := range Roles {
		switch {
		case i == len(Roles)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(string(r))
	}
	return b.String()
}

// AtLeast reports whether r may do what min may. An unknown role may do
// nothing.
func (r Role) AtLeast(min Role) bool {
	i := slices.Index(Roles, r)
	return i >= 0 && i >= slices.Index(Roles, min)
}

// Role is the client's role, DefaultRole when it names none (an unknown
// name is refused by Validate, and is viewer here).
func (c ClientConfig) Role() Role {
	r, err := ParseRole(c.RoleName)
	if err != nil {
		return RoleViewer
	}
	return r
}
