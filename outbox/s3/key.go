package s3

import (
	"errors"
	"fmt"
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

// parseKeyTemplate parses s, e.g. "{prefix}{date}/{job}-{name}".
func parseKeyTemplate(s string) (keyTemplate, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("s3: KeyTemplate %q: %s", s, fmt.Sprintf(format, args...))
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
		return nil, bad("has no {name}, so every result would get the same key; add {name}")
	}
	return kt, nil
}

// expand makes the key for one result. date is meta "date" (YYYY-MM-DD);
// when empty, {date} is today's date in UTC from now.
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

// checkKey rejects keys that S3 refuses or that S3-compatible stores on a
// file system (versitygw, MinIO) fold or refuse: empty, too long, invalid
// UTF-8, a leading "/", empty or dot segments.
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("the key template made an empty key")
	case len(key) > maxKeyLen:
		return fmt.Errorf("key %q is %d bytes; S3 allows %d", key, len(key), maxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("key %q is not valid UTF-8", key)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("key %q starts with '/'", key)
	case strings.HasSuffix(key, "/"):
		return fmt.Errorf("key %q ends with '/'", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("key %q has an empty folder (\"//\")", key)
		case ".", "..":
			return fmt.Errorf("key %q has a %q folder", key, seg)
		}
	}
	return nil
}
