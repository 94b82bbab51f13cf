// Package keytemplate is the naming language of the object-store
// destinations (s3's and azblob's key_template): literal text and the
// placeholders {prefix}, {name}, {job} and {date}, e.g.
// "{prefix}{date}/{job}-{name}". Each destination checks the names it
// makes against its store's own rules.
package keytemplate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Template is a parsed key template: literal text and placeholders in
// order.
type Template []part

// part is a literal (placeholder empty) or a placeholder name.
type part struct {
	literal     string
	placeholder string
}

var placeholders = map[string]bool{"prefix": true, "name": true, "job": true, "date": true}

// Parse parses s. A template must hold {name}: without it every result
// would get the same name.
func Parse(s string) (Template, error) {
	var t Template
	hasName := false
	for rest, off := s, 0; rest != ""; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			t = append(t, part{literal: rest})
			break
		}
		if rest[open] == '}' {
			return nil, fmt.Errorf("'}' at byte %d has no '{'", off+open+1)
		}
		if open > 0 {
			t = append(t, part{literal: rest[:open]})
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] != '}' {
			return nil, fmt.Errorf("'{' at byte %d is not closed by '}'", off+open+1)
		}
		name := rest[open+1 : open+1+end]
		if !placeholders[name] {
			return nil, fmt.Errorf("unknown placeholder {%s} at byte %d; use {prefix}, {name}, {job} or {date}", name, off+open+1)
		}
		hasName = hasName || name == "name"
		t = append(t, part{placeholder: name})
		n := open + end + 2
		rest, off = rest[n:], off+n
	}
	if !hasName {
		return nil, errors.New("has no {name}, so every result would get the same name; add {name}")
	}
	return t, nil
}

// Values fill a template's placeholders for one result.
type Values struct {
	Prefix, Name string
	Job          string // the job id (metadata "job")
	Date         string // the job's date as YYYY-MM-DD (metadata "date"); "" is today in UTC
}

// Expand makes the name of one result. checkJob checks a job id used in
// it (as a name part); now is the clock {date} falls back on.
func (t Template) Expand(v Values, now func() time.Time, checkJob func(string) error) (string, error) {
	var b strings.Builder
	for _, p := range t {
		switch p.placeholder {
		case "":
			b.WriteString(p.literal)
		case "prefix":
			b.WriteString(v.Prefix)
		case "name":
			b.WriteString(v.Name)
		case "job":
			if v.Job == "" {
				return "", errors.New(`the key template uses {job} but the put has no job id; pass metadata "job"`)
			}
			if err := checkJob(v.Job); err != nil {
				return "", fmt.Errorf(`metadata "job": %w`, err)
			}
			b.WriteString(v.Job)
		case "date":
			date := v.Date
			if date == "" {
				date = now().UTC().Format(time.DateOnly)
			} else if _, err := time.Parse(time.DateOnly, date); err != nil {
				return "", fmt.Errorf(`metadata "date": %q is not a date as YYYY-MM-DD`, date)
			}
			b.WriteString(date)
		}
	}
	return b.String(), nil
}
