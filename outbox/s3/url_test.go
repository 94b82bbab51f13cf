package s3_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/outbox/s3"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    s3.Config
		wantErr string // substring of the error; "" means no error
	}{
		{in: "s3://bucket", want: s3.Config{Bucket: "bucket"}},
		{in: "s3://bucket/", want: s3.Config{Bucket: "bucket"}},
		{in: "s3://bucket/out/dmf", want: s3.Config{Bucket: "bucket", Prefix: "out/dmf"}},
		{in: "s3://bucket/out/dmf/", want: s3.Config{Bucket: "bucket", Prefix: "out/dmf/"}},
		{in: "s3://bucket/with%20space", want: s3.Config{Bucket: "bucket", Prefix: "with space"}},
		{in: "s3://my.bucket-1/p?region=eu-west-1", want: s3.Config{Bucket: "my.bucket-1", Prefix: "p", Region: "eu-west-1"}},
		{
			in:   "s3://b/p?endpoint=http://127.0.0.1:7070",
			want: s3.Config{Bucket: "b", Prefix: "p", Endpoint: "http://127.0.0.1:7070", PathStyle: true},
		},
		{
			in:   "s3://b/p?endpoint=https%3A%2F%2Fminio.example.com%3A9000&path_style=false",
			want: s3.Config{Bucket: "b", Prefix: "p", Endpoint: "https://minio.example.com:9000"},
		},
		{in: "s3://b?path_style=1", want: s3.Config{Bucket: "b", PathStyle: true}},
		{
			in: "s3://b/p?storage_class=STANDARD_IA&sse=aws:kms&sse_kms_key_id=alias/erp&checksum_mode=when_supported" +
				"&part_size=16777216&concurrency=8&max_attempts=3&profile=erp&ca_file=/etc/erp/ca.pem",
			want: s3.Config{
				Bucket: "b", Prefix: "p", StorageClass: "STANDARD_IA", SSE: "aws:kms", SSEKMSKeyID: "alias/erp",
				ChecksumMode: "when_supported", PartSize: 16 << 20, Concurrency: 8, MaxAttempts: 3,
				Profile: "erp", CAFile: "/etc/erp/ca.pem",
			},
		},
		{
			in:   "s3://b/p?key_template=" + url.QueryEscape("{prefix}{date}/{name}"),
			want: s3.Config{Bucket: "b", Prefix: "p", KeyTemplate: "{prefix}{date}/{name}"},
		},

		{in: "", wantErr: "not an s3:// URL"},
		{in: "bucket/prefix", wantErr: "not an s3:// URL"},
		{in: "https://bucket/prefix", wantErr: `"https://" is not an s3:// URL`},
		{in: "s3:bucket", wantErr: "two slashes"},
		{in: "s3:///prefix", wantErr: "no bucket"},
		{in: "s3://bucket:9000/p", wantErr: "?endpoint="},
		{in: "s3://b/p#frag", wantErr: "fragment"},
		{in: "s3://b/p?regoin=x", wantErr: `unknown parameter "regoin"`},
		{in: "s3://b/p?region=a&region=b", wantErr: "given 2 times"},
		{in: "s3://b/p?path_style=maybe", wantErr: "path_style"},
		{in: "s3://b/p?part_size=8M", wantErr: "part_size"},
		{in: "s3://b/p?part_size=1024", wantErr: "PartSize"},
		{in: "s3://b/p?sse=rot13", wantErr: "SSE"},
		{in: "s3://b/p?sse_kms_key_id=k", wantErr: "SSEKMSKeyID"},
		{in: "s3://b/p?checksum_mode=always", wantErr: "ChecksumMode"},
		{in: "s3://b/p?storage_class=cold%20storage", wantErr: "StorageClass"},
		{in: "s3://b/p?endpoint=ftp://host", wantErr: "http:// or https://"},
		{in: "s3://b/p?endpoint=127.0.0.1:7070", wantErr: "Endpoint"},
		{in: "s3://b/a//b", wantErr: `"//"`},
		{in: "s3://b/p?key_template=%7Bprefix%7D", wantErr: "{name}"},
		{in: "s3://b/p?key_template=%7Bnom%7D", wantErr: "unknown placeholder {nom}"},
		{in: "s3://b/p?max_attempts=-1", wantErr: "MaxAttempts"},
		{in: "s3://b/p?concurrency=x", wantErr: "concurrency"},
		{in: "s3://b/p?a=%zz", wantErr: "bad query"},
	}
	for _, tt := range tests {
		got, err := s3.ParseURL(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseURL(%q): %v", tt.in, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseURL(%q)\n got  %+v\n want %+v", tt.in, got, tt.want)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ParseURL(%q) = %+v, want an error with %q", tt.in, got, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("ParseURL(%q) error %q, want it to contain %q", tt.in, err, tt.wantErr)
		}
	}
}

// TestParseURLCredentials: URLs with credentials are refused, and the
// error does not repeat them.
func TestParseURLCredentials(t *testing.T) {
	const ak, sk = "AKIAEXAMPLEKEY", "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
	for _, in := range []string{
		"s3://" + ak + ":" + sk + "@bucket/prefix",
		"s3://" + ak + "@bucket/prefix",
		"s3://bucket/prefix?access_key=" + ak + "&secret_key=" + sk,
		"s3://bucket/prefix?aws_secret_access_key=" + sk,
		"s3://bucket/prefix?Secret=" + sk,
		"s3://bucket/prefix?endpoint=http://" + ak + ":" + sk + "@127.0.0.1:7070",
		"s3://" + ak + ":" + sk + "@bucket/%zz", // unparsable too
		"s3://" + ak + ":" + sk + "@buc ket/p",
	} {
		_, err := s3.ParseURL(in)
		if err == nil {
			t.Errorf("ParseURL accepted a URL with credentials: %q", in)
			continue
		}
		if strings.Contains(err.Error(), sk) || strings.Contains(err.Error(), ak) {
			t.Errorf("ParseURL error shows the credentials: %v", err)
		}
	}
}

// TestNewConfigErrors: New checks the Config before any I/O and names the
// field to fix.
func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		cfg     s3.Config
		wantErr string
	}{
		{s3.Config{}, "Bucket"},
		{s3.Config{Bucket: "a/b"}, "Bucket"},
		{s3.Config{Bucket: "b", Prefix: "a//b"}, "Prefix"},
		{s3.Config{Bucket: "b", Endpoint: "localhost:9000"}, "Endpoint"},
		{s3.Config{Bucket: "b", Endpoint: "http://user:pw@localhost:9000"}, "credentials"},
		{s3.Config{Bucket: "b", SSE: "AES"}, "SSE"},
		{s3.Config{Bucket: "b", StorageClass: "standard"}, "StorageClass"},
		{s3.Config{Bucket: "b", ChecksumMode: "never"}, "ChecksumMode"},
		{s3.Config{Bucket: "b", PartSize: 1 << 20}, "PartSize"},
		{s3.Config{Bucket: "b", PartSize: 6 << 30}, "PartSize"},
		{s3.Config{Bucket: "b", Concurrency: -1}, "Concurrency"},
		{s3.Config{Bucket: "b", MaxAttempts: -2}, "MaxAttempts"},
		{s3.Config{Bucket: "b", KeyTemplate: "{prefix}"}, "{name}"},
		{s3.Config{Bucket: "b", KeyTemplate: "{name"}, "not closed"},
		{s3.Config{Bucket: "b", KeyTemplate: "name}"}, "has no '{'"},
		{s3.Config{Bucket: "b", CAFile: "/nonexistent/ca.pem"}, "CAFile"},
	}
	for _, tt := range tests {
		_, err := s3.New(t.Context(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.wantErr)
		}
	}
}

func TestString(t *testing.T) {
	for _, tt := range []struct {
		cfg  s3.Config
		want string
	}{
		{s3.Config{Bucket: "b"}, "s3://b"},
		{s3.Config{Bucket: "b", Prefix: "out"}, "s3://b/out"},
		{s3.Config{Bucket: "b", Prefix: "/out/dmf/"}, "s3://b/out/dmf"},
	} {
		d, err := s3.New(t.Context(), tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// FuzzParseURL: ParseURL never panics; what it accepts, New accepts; and
// its errors never repeat a password.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3://bucket", "s3://b/p/q/", "s3://b/p?endpoint=http://127.0.0.1:7070&region=x",
		"s3://b/p?key_template=%7Bprefix%7D%7Bname%7D", "s3://u:pw@b/p", "s3://b/p?secret=x",
		"s3://b/p?part_size=5242880", "http://x", "s3:b", "s3://b/%zz", "s3://b/a//b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cfg, err := s3.ParseURL(in)
		if err != nil {
			if u, perr := url.Parse(in); perr == nil && u.User != nil {
				if pw, ok := u.User.Password(); ok && len(pw) >= 6 && strings.Contains(err.Error(), pw) {
					t.Fatalf("error shows the password: %v", err)
				}
			}
			return
		}
		if cfg.Bucket == "" {
			t.Fatalf("ParseURL(%q) accepted a URL without a bucket", in)
		}
		cfg.CAFile, cfg.Profile = "", "" // may name a file or profile that does not exist
		if _, err := s3.New(t.Context(), cfg); err != nil {
			t.Fatalf("ParseURL(%q) = %+v, which New refuses: %v", in, cfg, err)
		}
	})
}
