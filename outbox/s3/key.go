package s3

import (
	"errors"
	"fmt"
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
		return nil, fmt.Errorf("s3: KeyTemplate %q: %w", s, err)
	}
	return keyTemplate(t), nil
}

// expand makes the key for one result. date is meta "date" (YYYY-MM-DD);
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
