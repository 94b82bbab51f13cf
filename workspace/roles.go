package workspace

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"
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

// Role is the user's role: viewer when it names none (users are new,
// and a user is a person who may be given more), viewer too when the
// name is not known (Validate refuses it).
func (u UserConfig) Role() Role {
	if u.RoleName == "" {
		return RoleViewer
	}
	r, err := ParseRole(u.RoleName)
	if err != nil {
		return RoleViewer
	}
	return r
}

// HashPassword makes the bcrypt hash erpipe.yaml keeps of a user's
// password (cost 12).
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errors.New("the password is shorter than 8 characters")
	}
	if len(password) > 72 {
		return "", errors.New("the password is longer than 72 bytes, which bcrypt does not take")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), 12)
	return string(h), err
}

// CheckPassword reports whether password is the one hash was made of.
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

func checkPasswordHash(h string) error {
	if h == "" {
		return errors.New("is missing")
	}
	cost, err := bcrypt.Cost([]byte(h))
	if err != nil {
		return errors.New("is not a bcrypt hash ($2b$12$...)")
	}
	if cost < 10 {
		return fmt.Errorf("has cost %d, below 10: too quick to guess", cost)
	}
	return nil
}
