package s3

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// urlParams are the query parameters ParseURL knows, and the Config field
// each one sets.
var urlParams = []string{
	"endpoint", "region", "path_style", "profile", "ca_file", "storage_class", "sse",
	"sse_kms_key_id", "key_template", "checksum_mode", "part_size", "concurrency", "max_attempts",
}

// credentialParams are query parameters that would carry credentials.
var credentialParams = []string{
	"access_key", "access_key_id", "aws_access_key_id", "secret", "secret_key",
	"secret_access_key", "aws_secret_access_key", "session_token", "aws_session_token", "token", "password",
}

// ParseURL parses "s3://bucket/prefix?param=value&..." into a Config. The
// parameters are endpoint, region, path_style, profile, ca_file,
// storage_class, sse, sse_kms_key_id, key_template, checksum_mode,
// part_size, concurrency and max_attempts; each sets the Config field of
// that name. path_style defaults to true when endpoint is given, as most
// S3-compatible stores need it.
//
// URLs that carry credentials (user:password@ or a secret parameter) are
// rejected: credentials come from the AWS chain. Errors never repeat them.
// The Config is checked as New would check it.
func ParseURL(s string) (Config, error) {
	var c Config
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, credentials included
		}
		return c, fmt.Errorf("s3: not a URL: %v", err)
	}
	if u.User != nil {
		return c, errors.New("s3: the URL carries credentials (user:password@); remove them and " +
			"use the AWS chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role")
	}
	where := "s3://" + u.Host + u.EscapedPath()
	switch {
	case u.Scheme != "s3":
		return c, fmt.Errorf("s3: %q is not an s3:// URL; write s3://bucket/prefix", schemeOf(u))
	case u.Opaque != "":
		return c, errors.New("s3: write the URL as s3://bucket/prefix (two slashes)")
	case u.Host == "":
		return c, errors.New("s3: the URL has no bucket; write s3://bucket/prefix")
	case u.Port() != "" || strings.Contains(u.Host, ":"):
		return c, fmt.Errorf("s3: %s: a bucket has no port; to reach a store on another port, add ?endpoint=http://host:port", where)
	case u.Fragment != "" || strings.HasSuffix(s, "#"):
		return c, fmt.Errorf("s3: %s: a URL fragment ('#') is not allowed; escape '#' in the prefix as %%23", where)
	}
	c.Bucket = u.Host
	c.Prefix = strings.TrimPrefix(u.Path, "/")

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, fmt.Errorf("s3: %s: bad query: %v", where, err)
	}
	pathStyleSet := false
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vs := q[k]
		if slices.Contains(credentialParams, strings.ToLower(k)) {
			return Config{}, fmt.Errorf("s3: %s: the URL carries credentials (%s=); remove them and use the AWS chain: "+
				"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role", where, k)
		}
		if !slices.Contains(urlParams, k) {
			return Config{}, fmt.Errorf("s3: %s: unknown parameter %q; known: %s", where, k, strings.Join(urlParams, ", "))
		}
		if len(vs) != 1 {
			return Config{}, fmt.Errorf("s3: %s: parameter %q is given %d times", where, k, len(vs))
		}
		v := vs[0]
		var perr error
		switch k {
		case "endpoint":
			c.Endpoint = v
		case "region":
			c.Region = v
		case "path_style":
			c.PathStyle, perr = strconv.ParseBool(v)
			pathStyleSet = true
		case "profile":
			c.Profile = v
		case "ca_file":
			c.CAFile = v
		case "storage_class":
			c.StorageClass = v
		case "sse":
			c.SSE = v
		case "sse_kms_key_id":
			c.SSEKMSKeyID = v
		case "key_template":
			c.KeyTemplate = v
		case "checksum_mode":
			c.ChecksumMode = v
		case "part_size":
			c.PartSize, perr = strconv.ParseInt(v, 10, 64)
		case "concurrency":
			c.Concurrency, perr = strconv.Atoi(v)
		case "max_attempts":
			c.MaxAttempts, perr = strconv.Atoi(v)
		}
		if perr != nil {
			return Config{}, fmt.Errorf("s3: %s: parameter %s=%q is not a valid value", where, k, v)
		}
	}
	if c.Endpoint != "" && !pathStyleSet {
		c.PathStyle = true
	}

	check := c
	if err := check.normalize(); err != nil {
		return Config{}, err
	}
	if c.KeyTemplate != "" {
		if _, err := parseKeyTemplate(c.KeyTemplate); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// schemeOf returns the scheme of u for error messages, or "" when absent.
func schemeOf(u *url.URL) string {
	if u.Scheme == "" {
		return "(no scheme)"
	}
	return u.Scheme + "://"
}

// checkEndpoint checks Config.Endpoint: an http or https URL with a host
// and nothing that could carry credentials.
func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a URL: %v", err)
	}
	switch {
	case u.User != nil:
		return errors.New("the endpoint carries credentials (user:password@); remove them and use the AWS chain")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: use an http:// or https:// URL", u.Redacted())
	case u.Host == "":
		return fmt.Errorf("%q has no host", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: an endpoint has no query or fragment", u.Scheme+"://"+u.Host+u.EscapedPath())
	}
	return nil
}
