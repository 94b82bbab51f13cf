package azblob

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/erpipe/erpipe/outbox/keytemplate"
)

// keyTemplate is a parsed Config.KeyTemplate (package keytemplate).
type keyTemplate keytemplate.Template

// parseKeyTemplate parses s, e.g. "{prefix}{date}/{job}-{name}".
func parseKeyTemplate(s string) (keyTemplate, error) {
	t, err := keytemplate.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("azblob: KeyTemplate %q: %w", s, err)
	}
	return keyTemplate(t), nil
}

// expand makes the blob name for one result. date is meta "date" (YYYY-MM-DD);
// when empty, {date} is today's date in UTC from now.
func (kt keyTemplate) expand(prefix, name, job, date string, now func() time.Time) (string, error) {
	key, err := keytemplate.Template(kt).Expand(keytemplate.Values{Prefix: prefix, Name: name, Job: job, Date: date}, now, checkName)
	if err != nil {
		return "", err
	}
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
