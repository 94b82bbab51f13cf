package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/erpipe/erpipe/outbox"
)

// httpErr builds the error the SDK returns for an HTTP answer.
func httpErr(status int, code string, header http.Header) error {
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: header}}
	var cause error = &smithy.GenericAPIError{Code: code, Message: "test"}
	if code == "" {
		cause = errors.New("no body")
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: resp, Err: cause},
	}}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"1", time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, true},
		{"-3", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"3600", maxRetryAfter, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		got, ok := retryAfter(httpErr(503, "SlowDown", h), now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Retry-After %q: %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := retryAfter(errors.New("plain"), now); ok {
		t.Errorf("retryAfter found a header in an error without an HTTP answer")
	}
}

// TestRetryDelay: Retry-After wins over a shorter back-off and is capped.
func TestRetryDelay(t *testing.T) {
	r := newRetryer(8)
	for _, tt := range []struct {
		header   string
		min, max time.Duration
	}{
		{"5", 5 * time.Second, 5 * time.Second},
		{"600", maxRetryAfter, maxRetryAfter},
		{"", 0, 2 * time.Second}, // SDK back-off of attempt 1 of a throttle: ≤ 1 s
	} {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		err := httpErr(503, "SlowDown", h)
		if !r.IsErrorRetryable(err) {
			t.Fatalf("503 SlowDown is not retryable")
		}
		d, derr := r.RetryDelay(1, err)
		if derr != nil || d < tt.min || d > tt.max {
			t.Errorf("Retry-After %q: delay %v (%v), want in [%v, %v]", tt.header, d, derr, tt.min, tt.max)
		}
	}
	if r.MaxAttempts() != 8 {
		t.Errorf("MaxAttempts = %d, want 8", r.MaxAttempts())
	}
}

func TestClassify(t *testing.T) {
	refused := &url.Error{Op: "Put", URL: "http://127.0.0.1:1/b/k",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"exists", fmt.Errorf("x: %w", outbox.ErrExists), false},
		{"reader", &readError{errors.New("disk")}, false},
		{"checksum", &readError{ErrChecksum}, false},
		{"spool", &spoolError{syscall.ENOSPC}, false},
		{"canceled", context.Canceled, true},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"quota", fmt.Errorf("x: %w", ratelimit.QuotaExceededError{Available: 1, Requested: 5}), true},
		{"max-attempts", &retry.MaxAttemptsError{Attempt: 3, Err: httpErr(503, "", nil)}, true},
		{"unexpected-eof", io.ErrUnexpectedEOF, true},
		{"refused", refused, true},
		{"500", httpErr(500, "InternalError", nil), true},
		{"502-no-body", httpErr(502, "", nil), true},
		{"503", httpErr(503, "SlowDown", nil), true},
		{"429", httpErr(429, "", nil), true},
		{"408", httpErr(408, "RequestTimeout", nil), true},
		{"409-conflict", httpErr(409, "ConditionalRequestConflict", nil), true},
		{"403", httpErr(403, "AccessDenied", nil), false},
		{"403-signature", httpErr(403, "SignatureDoesNotMatch", nil), false},
		{"404-bucket", httpErr(404, "NoSuchBucket", nil), false},
		{"400", httpErr(400, "InvalidArgument", nil), false},
		{"412", httpErr(412, "PreconditionFailed", nil), false},
		{"plain", errors.New("something"), false},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("%s: classify(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
		wrapped := &Error{Op: "put", Location: "s3://b/k", Err: tt.err, Transient: classify(tt.err)}
		if tt.err != nil && outbox.IsTransient(wrapped) != tt.want {
			t.Errorf("%s: IsTransient(*Error) = %v, want %v", tt.name, !tt.want, tt.want)
		}
	}
}

func TestIsConditionLost(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{httpErr(412, "PreconditionFailed", nil), true},
		{httpErr(412, "", nil), true},
		{httpErr(409, "ConditionalRequestConflict", nil), true},
		{httpErr(409, "BucketAlreadyExists", nil), false},
		{httpErr(404, "NoSuchKey", nil), false},
		{errors.New("x"), false},
	} {
		if got := isConditionLost(tt.err); got != tt.want {
			t.Errorf("isConditionLost(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestKeyTemplate(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)) }
	tests := []struct {
		tmpl, prefix, name, job, date string
		want, wantErr                 string
	}{
		{tmpl: "{prefix}{name}", prefix: "out/", name: "a.zip", want: "out/a.zip"},
		{tmpl: "{prefix}{name}", name: "a.zip", want: "a.zip"},
		{tmpl: "{prefix}{job}/{name}", prefix: "o/", name: "a.zip", job: "j1", want: "o/j1/a.zip"},
		{tmpl: "{prefix}{date}/{name}", prefix: "o/", name: "a.zip", date: "2026-11-30", want: "o/2026-11-30/a.zip"},
		{tmpl: "{prefix}{date}/{name}", prefix: "o/", name: "a.zip", want: "o/2026-11-30/a.zip"}, // UTC
		{tmpl: "vat-{name}", name: "x.xml", want: "vat-x.xml"},
		{tmpl: "{prefix}{job}/{name}", name: "a", wantErr: "no job id"},
		{tmpl: "{prefix}{job}/{name}", name: "a", job: "..", wantErr: "not a file name"},
		{tmpl: "{prefix}{date}/{name}", name: "a", date: "2026-13-01", wantErr: "YYYY-MM-DD"},
		{tmpl: "/{name}", name: "a", wantErr: "starts with '/'"},
		{tmpl: "{prefix}/{name}", prefix: "o/", name: "a", wantErr: "//"},
		{tmpl: "./{name}", name: "a", wantErr: `"." folder`},
		{tmpl: "{name}", name: strings.Repeat("x", 1025), wantErr: "1024"},
	}
	for _, tt := range tests {
		kt, err := parseKeyTemplate(tt.tmpl)
		if err != nil {
			t.Fatalf("parseKeyTemplate(%q): %v", tt.tmpl, err)
		}
		got, err := kt.expand(tt.prefix, tt.name, tt.job, tt.date, now)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("%q with name %q: %q, %v; want %q", tt.tmpl, tt.name, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q with name %q: %q, %v; want an error with %q", tt.tmpl, tt.name, got, err, tt.wantErr)
		}
	}
}

// FuzzKeyTemplate: parsing and expanding never panic, and every key made
// is one S3 and file-system-backed stores accept.
func FuzzKeyTemplate(f *testing.F) {
	for _, s := range []string{"{prefix}{name}", "{prefix}{date}/{job}-{name}", "{name", "}{name}", "{{name}}", "a/{name}/b"} {
		f.Add(s, "out/", "result.zip", "job-1")
	}
	now := func() time.Time { return time.Unix(0, 0) }
	f.Fuzz(func(t *testing.T, tmpl, prefix, name, job string) {
		kt, err := parseKeyTemplate(tmpl)
		if err != nil {
			return
		}
		if !strings.Contains(tmpl, "{name}") {
			t.Fatalf("template %q without {name} accepted", tmpl)
		}
		if checkName(name) != nil {
			return
		}
		key, err := kt.expand(prefix, name, job, "", now)
		if err != nil {
			return
		}
		if err := checkKey(key); err != nil || !strings.Contains(key, name) {
			t.Fatalf("expand(%q) made key %q: %v", tmpl, key, err)
		}
	})
}

func TestVerifyReader(t *testing.T) {
	content := []byte("some result content")
	sum := sha256.Sum256(content)
	good := hex.EncodeToString(sum[:])
	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		want    string
		wantErr string // "" = reads to io.EOF
	}{
		{"exact", bytes.NewReader(content), int64(len(content)), good, ""},
		{"unknown-size", bytes.NewReader(content), -1, good, ""},
		{"no-hash", bytes.NewReader(content), int64(len(content)), "", ""},
		{"one-byte-reads", iotest.OneByteReader(bytes.NewReader(content)), int64(len(content)), good, ""},
		{"short", bytes.NewReader(content), int64(len(content)) + 1, good, "ended after 19 of the 20 bytes"},
		{"long", bytes.NewReader(content), int64(len(content)) - 1, good, "more than the 18 bytes"},
		{"bad-hash", bytes.NewReader(content), -1, strings.Repeat("0", 64), "does not match its sha256"},
		{"reader-error", iotest.ErrReader(io.ErrClosedPipe), -1, "", "io: read/write on closed pipe"},
		{"timeout", iotest.TimeoutReader(bytes.NewReader(content)), -1, "", "timeout"},
	}
	for _, tt := range tests {
		v := newVerifyReader(tt.r, tt.size, tt.want)
		got, err := io.ReadAll(v)
		if tt.wantErr == "" {
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("%s: read %q, %v; want the content", tt.name, got, err)
			}
			continue
		}
		var re *readError
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &re) {
			t.Errorf("%s: error %v, want a *readError with %q", tt.name, err, tt.wantErr)
		}
		if _, err2 := v.Read(make([]byte, 1)); err2 != err {
			t.Errorf("%s: error is not sticky: %v then %v", tt.name, err, err2)
		}
	}
}

// FuzzVerifyReader: the reader passes every byte through unchanged and
// fails exactly when the size or the hash is wrong.
func FuzzVerifyReader(f *testing.F) {
	f.Add([]byte("hello"), int64(5), true, uint8(1))
	f.Add([]byte(""), int64(0), false, uint8(3))
	f.Add([]byte("abc"), int64(-1), false, uint8(0))
	f.Fuzz(func(t *testing.T, content []byte, size int64, rightHash bool, chunk uint8) {
		sum := sha256.Sum256(content)
		want := hex.EncodeToString(sum[:])
		if !rightHash {
			want = strings.Repeat("f", 64)
			if hex.EncodeToString(sum[:]) == want {
				return
			}
		}
		var r io.Reader = bytes.NewReader(content)
		if chunk%2 == 1 {
			r = iotest.HalfReader(r)
		}
		v := newVerifyReader(r, size, want)
		got, err := io.ReadAll(v)
		n := int64(len(content))
		wantOK := rightHash && (size < 0 || size == n)
		if wantOK != (err == nil) {
			t.Fatalf("content %d bytes, size %d, right hash %v: error %v", n, size, rightHash, err)
		}
		if wantOK && !bytes.Equal(got, content) {
			t.Fatalf("content changed on the way through")
		}
		if !bytes.HasPrefix(content, got) {
			t.Fatalf("passed through bytes that are not the content")
		}
	})
}

// TestCheckMeta covers the metadata rules without a server.
func TestCheckMeta(t *testing.T) {
	md, err := checkMeta(map[string]string{"Job": "j", "SHA256": strings.Repeat("AB", 32)})
	if err != nil {
		t.Fatal(err)
	}
	if md["job"] != "j" || md[MetaSHA256] != strings.Repeat("ab", 32) {
		t.Errorf("checkMeta = %v, want lowercased keys and hash", md)
	}
	for _, m := range []map[string]string{
		{"": "x"}, {"a b": "x"}, {"a_b": "x"}, {"a": "ä"}, {"a": "\x00"}, {"A": "1", "a": "2"},
		{MetaSHA256: "zz"}, {MetaSHA256: strings.Repeat("a", 62)}, {"big": strings.Repeat("x", 2000)},
	} {
		if _, err := checkMeta(m); err == nil {
			t.Errorf("checkMeta(%.30v) accepted bad metadata", m)
		}
	}
}

// TestHashFirstSpool: an unseekable result without a known hash is copied
// to SpoolDir, read back, and the copy is removed.
func TestHashFirstSpool(t *testing.T) {
	dir := t.TempDir()
	d := &S3{cfg: Config{SpoolDir: dir}}
	content := "spooled content"
	sum, n, body, cleanup, err := d.hashFirst(outbox.ContextReader{Ctx: t.Context(), R: iotest.HalfReader(strings.NewReader(content))}, int64(len(content)))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(content))
	if sum != hex.EncodeToString(h[:]) || n != int64(len(content)) {
		t.Errorf("sum %s, size %d; want %x, %d", sum, n, h, len(content))
	}
	got, err := io.ReadAll(body)
	if err != nil || string(got) != content {
		t.Errorf("spooled body %q, %v", got, err)
	}
	cleanup()
	if left, _ := filepathGlob(dir); len(left) != 0 {
		t.Errorf("spool files left: %v", left)
	}

	// A spool folder that does not exist fails with a clear, permanent error.
	d = &S3{cfg: Config{SpoolDir: dir + "/missing"}}
	_, _, _, _, err = d.hashFirst(outbox.ContextReader{Ctx: t.Context(), R: iotest.HalfReader(strings.NewReader(content))}, -1)
	if err == nil || classify(err) {
		t.Errorf("hashFirst with a missing SpoolDir: %v", err)
	}
}

func filepathGlob(dir string) ([]string, error) {
	return filepath.Glob(filepath.Join(dir, "*"))
}
