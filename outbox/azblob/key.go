package azblob

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// keyTemplate is a parsed Config.KeyTemplate: literal text and
// placeholders in order.
type keyTemplate []keyPart

// keyPart is a literal (placeholder empty) or a placeholder name.
type keyPart struct {
	literal     string
	placeholder string
}

var placeholders = map[string]bool{"prefix": true, "name": true, "job": true, "date": true}

// parseKeyTemplate parses s, e.g. "{prefix}{date}/{job}-{name}". It is the
// same language as the s3 destination's key_template.
func parseKeyTemplate(s string) (keyTemplate, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("azblob: KeyTemplate %q: %s", s, fmt.Sprintf(format, args...))
	}
	var kt keyTemplate
	hasName := false
	for rest, off := s, 0; rest != ""; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			kt = append(kt, keyPart{literal: rest})
			break
		}
		if rest[open] == '}' {
			return nil, bad("'}' at byte %d has no '{'", off+open+1)
		}
		if open > 0 {
			kt = append(kt, keyPart{literal: rest[:open]})
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] != '}' {
			return nil, bad("'{' at byte %d is not closed by '}'", off+open+1)
		}
		name := rest[open+1 : open+1+end]
		if !placeholders[name] {
			return nil, bad("unknown placeholder {%s} at byte %d; use {prefix}, {name}, {job} or {date}", name, off+open+1)
		}
		hasName = hasName || name == "name"
		kt = append(kt, keyPart{placeholder: name})
		n := open + end + 2
		rest, off = rest[n:], off+n
	}
	if !hasName {
		return nil, bad("has no {name}, so every result would get the same blob name; add {name}")
	}
	return kt, nil
}

// expand makes the blob name for one result. date is meta "date"
// (YYYY-MM-DD); when empty, {date} is today's date in UTC from now.
func (kt keyTemplate) expand(prefix, name, job, date string, now func() time.Time) (string, error) {
	var b strings.Builder
	for _, p := range kt {
		switch p.placeholder {
		case "":
			b.WriteString(p.literal)
		case "prefix":
			b.WriteString(prefix)
		case "name":
			b.WriteString(name)
		case "job":
			if job == "" {
				return "", fmt.Errorf("the key template uses {job} but the put has no job id; pass metadata %q", MetaJob)
			}
			if err := checkName(job); err != nil {
				return "", fmt.Errorf("metadata %q: %w", MetaJob, err)
			}
			b.WriteString(job)
		case "date":
			if date == "" {
				date = now().UTC().Format(time.DateOnly)
			} else if _, err := time.Parse(time.DateOnly, date); err != nil {
				return "", fmt.Errorf("metadata %q: %q is not a date as YYYY-MM-DD", MetaDate, date)
			}
			b.WriteString(date)
		}
	}
	key := b.String()
	if err := checkKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// checkKey rejects blob names that Azure refuses or mangles: empty, too
// long, invalid UTF-8, a leading "/", empty or dot segments, and segments
// ending in '.' (Azure drops a trailing dot of a URL path segment, so
// "report." would be stored as "report").
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("the key template made an empty blob name")
	case utf8.RuneCountInString(key) > maxKeyLen:
		return fmt.Errorf("blob name %q is %d characters; Azure allows %d", key, utf8.RuneCountInString(key), maxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("blob name %q is not valid UTF-8", key)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("blob name %q starts with '/'", key)
	case strings.HasSuffix(key, "/"):
		return fmt.Errorf("blob name %q ends with '/'", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("blob name %q has an empty folder (\"//\")", key)
		case seg == "." || seg == "..":
			return fmt.Errorf("blob name %q has a %q folder", key, seg)
		case strings.HasSuffix(seg, "."):
			return fmt.Errorf("blob name %q has a part ending in '.' (%q), which Azure would drop; rename it", key, seg)
		}
	}
	return nil
}

// checkName checks that name is a base name usable in a blob name.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("the result has no name")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a file name", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%q is not a base name: it contains a folder separator", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return fmt.Errorf("%q contains a control character or invalid UTF-8", name)
		}
	}
	return nil
}

// numbered returns "stem (i).ext" for name "stem.ext", keeping double
// extensions such as ".tar.gz" together, as the folder destination names
// the results it renames.
func numbered(name string, i int) string {
	ext := path.Ext(name)
	if ext == name {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	if inner := path.Ext(stem); strings.EqualFold(inner, ".tar") && inner != stem {
		ext = inner + ext
		stem = strings.TrimSuffix(stem, inner)
	}
	return fmt.Sprintf("%s (%d)%s", stem, i, ext)
}
