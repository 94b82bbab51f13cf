package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/s3"
)

// mode is one way of talking to a server.
type mode struct {
	name     string
	srv      *server
	checksum string // Config.ChecksumMode
}

// modes returns http with the default checksum mode, and https in both
// modes; https with when_supported is what the SDK does against AWS
// (aws-chunked bodies with a trailing CRC32).
func modes(t *testing.T) []mode {
	needServers(t)
	return []mode{
		{name: "http", srv: servers[0]},
		{name: "https-when_supported", srv: servers[1], checksum: s3.ChecksumWhenSupported},
		{name: "https-when_required", srv: servers[1], checksum: s3.ChecksumWhenRequired},
	}
}

var prefixSeq atomic.Int64

// config returns a Config for srv under a prefix no other test uses.
func config(t testing.TB, srv *server) s3.Config {
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "-")
	return s3.Config{
		Bucket:      bucket,
		Prefix:      fmt.Sprintf("%s-%d", name, prefixSeq.Add(1)),
		Endpoint:    srv.Endpoint,
		CAFile:      srv.CAFile,
		PathStyle:   true,
		MaxAttempts: 3,
		PartSize:    5 << 20,
		Concurrency: 2,
	}
}

func newDest(t testing.TB, cfg s3.Config) *s3.S3 {
	t.Helper()
	d, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// object is what the server holds under a key.
type object struct {
	sha256, etag, contentType string
	size                      int64
	meta                      map[string]string
}

// get reads key from srv, hashing the content as it streams.
func get(t testing.TB, srv *server, key string) (object, bool) {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchKey") || strings.Contains(err.Error(), "404") {
			return object{}, false
		}
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return object{
		sha256:      hex.EncodeToString(h.Sum(nil)),
		etag:        strings.Trim(aws.ToString(out.ETag), `"`),
		contentType: aws.ToString(out.ContentType),
		size:        n,
		meta:        out.Metadata,
	}, true
}

// pendingUploads lists the multipart uploads in progress under key.
func pendingUploads(t testing.TB, srv *server, key string) []string {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.ListMultipartUploads(t.Context(), &awss3.ListMultipartUploadsInput{
		Bucket: aws.String(bucket), Prefix: aws.String(key),
	})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	var ids []string
	for _, u := range out.Uploads {
		ids = append(ids, aws.ToString(u.Key)+" "+aws.ToString(u.UploadId))
	}
	return ids
}

// gen returns n pseudo-random bytes from seed; the reader is not an
// io.Seeker, like a pipe from a transformer.
func gen(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func sumOf(r io.Reader) string {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sumBytes(b []byte) string { return sumOf(bytes.NewReader(b)) }

// keyOf returns the key of a location "s3://bucket/key".
func keyOf(t testing.TB, loc string) string {
	t.Helper()
	k, ok := strings.CutPrefix(loc, "s3://"+bucket+"/")
	if !ok {
		t.Fatalf("location %q is not in s3://%s/", loc, bucket)
	}
	return k
}

func TestPutSmall(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(t, m.srv)
			cfg.ChecksumMode = m.checksum
			d := newDest(t, cfg)
			content := []byte("account;amount\n4000;12.50\n")
			loc, err := d.Put(t.Context(), "customers.csv", bytes.NewReader(content), int64(len(content)))
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if want := "s3://" + bucket + "/" + cfg.Prefix + "/customers.csv"; loc != want {
				t.Errorf("location = %q, want %q", loc, want)
			}
			got, ok := get(t, m.srv, keyOf(t, loc))
			if !ok {
				t.Fatalf("%s not stored", loc)
			}
			if got.sha256 != sumBytes(content) || got.size != int64(len(content)) {
				t.Errorf("stored %d bytes sha256 %s, want %d bytes %s", got.size, got.sha256, len(content), sumBytes(content))
			}
			if got.meta[s3.MetaSHA256] != sumBytes(content) {
				t.Errorf("metadata sha256 = %q, want %q", got.meta[s3.MetaSHA256], sumBytes(content))
			}
			if !strings.HasPrefix(got.contentType, "text/csv") {
				t.Errorf("Content-Type = %q, want text/csv", got.contentType)
			}
		})
	}
}

func TestPutEmpty(t *testing.T) {
	needServers(t)
	t.Parallel()
	d := newDest(t, config(t, servers[0]))
	loc, err := d.Put(t.Context(), "empty.xml", strings.NewReader(""), 0)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, ok := get(t, servers[0], keyOf(t, loc))
	if !ok || got.size != 0 || got.meta[s3.MetaSHA256] != sumBytes(nil) {
		t.Errorf("stored %+v (found %v), want an empty object with the sha256 of nothing", got, ok)
	}
}

// TestPutLarge streams 40 MB in 5 MiB parts: multipart, bounded memory.
func TestPutLarge(t *testing.T) {
	const size = 40 << 20
	want := sumOf(gen(1, size))
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(t, m.srv)
			cfg.ChecksumMode = m.checksum
			d := newDest(t, cfg)
			cases := []struct {
				name string
				body func() io.Reader
				meta map[string]string
			}{
				// The caller knows the hash: one pass, straight to S3.
				{"declared-sha256", func() io.Reader { return gen(1, size) }, map[string]string{s3.MetaSHA256: want}},
				// Unknown hash, unseekable: spooled to a temporary file.
				{"spooled", func() io.Reader { return gen(1, size) }, nil},
			}
			if m.name == "http" {
				// Unknown hash, a file: hashed, rewound, read again.
				cases = append(cases, struct {
					name string
					body func() io.Reader
					meta map[string]string
				}{"seekable-file", func() io.Reader { return tempFile(t, gen(1, size)) }, nil})
			}
			for _, c := range cases {
				loc, err := d.PutMeta(t.Context(), c.name+".zip", c.body(), size, c.meta)
				if err != nil {
					t.Fatalf("%s: Put: %v", c.name, err)
				}
				got, ok := get(t, m.srv, keyOf(t, loc))
				if !ok {
					t.Fatalf("%s: %s not stored", c.name, loc)
				}
				if got.sha256 != want || got.size != size || got.meta[s3.MetaSHA256] != want {
					t.Errorf("%s: stored %d bytes sha256 %s (metadata %s), want %d bytes %s",
						c.name, got.size, got.sha256, got.meta[s3.MetaSHA256], size, want)
				}
				if !strings.HasSuffix(got.etag, "-8") {
					t.Errorf("%s: ETag %q, want a multipart ETag of 8 parts (\"…-8\")", c.name, got.etag)
				}
				if got.contentType != "application/zip" {
					t.Errorf("%s: Content-Type = %q, want application/zip", c.name, got.contentType)
				}
			}
		})
	}
}

func tempFile(t testing.TB, r io.Reader) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "result"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := io.Copy(f, r); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPutIdempotent puts the same content twice: both succeed, the object
// is not rewritten.
func TestPutIdempotent(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(t, m.srv)
			cfg.ChecksumMode = m.checksum
			d := newDest(t, cfg)
			for _, size := range []int64{1000, 6 << 20} {
				name := fmt.Sprintf("result-%d.dat", size)
				loc1, err := d.Put(t.Context(), name, gen(7, size), size)
				if err != nil {
					t.Fatalf("first Put: %v", err)
				}
				first, _ := get(t, m.srv, keyOf(t, loc1))
				loc2, err := d.PutMeta(t.Context(), name, gen(7, size), size, map[string]string{s3.MetaJob: "another-job"})
				if err != nil {
					t.Fatalf("second Put of the same content: %v", err)
				}
				if loc2 != loc1 {
					t.Errorf("second location %q, want %q", loc2, loc1)
				}
				second, _ := get(t, m.srv, keyOf(t, loc1))
				if second.etag != first.etag || second.meta[s3.MetaJob] != "" {
					t.Errorf("object changed: ETag %q → %q, job metadata %q", first.etag, second.etag, second.meta[s3.MetaJob])
				}
			}
		})
	}
}

// TestPutDifferentContent: another content under a taken name fails with
// outbox.ErrExists and leaves the stored object alone.
func TestPutDifferentContent(t *testing.T) {
	needServers(t)
	t.Parallel()
	srv := servers[0]
	d := newDest(t, config(t, srv))
	for _, size := range []int64{100, 6 << 20} {
		name := fmt.Sprintf("vat-%d.xml", size)
		loc, err := d.Put(t.Context(), name, gen(1, size), size)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		_, err = d.Put(t.Context(), name, gen(2, size), size)
		if !errors.Is(err, outbox.ErrExists) {
			t.Fatalf("Put of other content = %v, want ErrExists", err)
		}
		if outbox.IsTransient(err) {
			t.Errorf("IsTransient(%v) = true, want false", err)
		}
		if !strings.Contains(err.Error(), loc) {
			t.Errorf("error %q does not name %s", err, loc)
		}
		got, _ := get(t, srv, keyOf(t, loc))
		if got.sha256 != sumOf(gen(1, size)) {
			t.Errorf("stored object was replaced")
		}
		if p := pendingUploads(t, srv, keyOf(t, loc)); len(p) > 0 {
			t.Errorf("pending multipart uploads left: %v", p)
		}
	}
}

func TestPutMetaRoundTrip(t *testing.T) {
	needServers(t)
	t.Parallel()
	srv := servers[0]
	d := newDest(t, config(t, srv))
	content := "<Document/>"
	meta := map[string]string{
		"Job":              "0f8b6c1e-5d5e-4f0e-9d51-3f1c2b7a9e10", // keys are case-insensitive
		s3.MetaTemplate:    "vat_return@3",
		s3.MetaInputSHA256: strings.Repeat("ab", 32),
		s3.MetaDate:        "2026-11-30",
		s3.MetaSHA256:      strings.ToUpper(sumBytes([]byte(content))), // hex case does not matter
	}
	loc, err := d.PutMeta(t.Context(), "vat.xml", strings.NewReader(content), int64(len(content)), meta)
	if err != nil {
		t.Fatalf("PutMeta: %v", err)
	}
	got, _ := get(t, srv, keyOf(t, loc))
	want := map[string]string{
		"job":          "0f8b6c1e-5d5e-4f0e-9d51-3f1c2b7a9e10",
		"template":     "vat_return@3",
		"input-sha256": strings.Repeat("ab", 32),
		"date":         "2026-11-30",
		"sha256":       sumBytes([]byte(content)),
	}
	for k, v := range want {
		if got.meta[k] != v {
			t.Errorf("metadata %q = %q, want %q", k, got.meta[k], v)
		}
	}
	if len(got.meta) != len(want) {
		t.Errorf("metadata = %v, want %v", got.meta, want)
	}

	bad := []map[string]string{
		{"job id": "x"},                  // space in key
		{"job_id": "x"},                  // underscore
		{"job": "Müller"},                // not ASCII
		{"job": "a\nb"},                  // control character
		{"Job": "a", "job": "b"},         // duplicate
		{s3.MetaSHA256: "abc"},           // not a sha256
		{"x": strings.Repeat("y", 3000)}, // too big
	}
	for _, m := range bad {
		_, err := d.PutMeta(t.Context(), "bad.xml", strings.NewReader(content), int64(len(content)), m)
		if err == nil || outbox.IsTransient(err) {
			t.Errorf("PutMeta(meta %.40v) = %v, want a permanent error", m, err)
		}
	}
	if _, ok := get(t, srv, cfgKey(d, "bad.xml")); ok {
		t.Errorf("bad.xml stored despite bad metadata")
	}
}

// cfgKey returns the key of name under the destination's prefix.
func cfgKey(d *s3.S3, name string) string {
	return strings.TrimPrefix(d.String(), "s3://"+bucket+"/") + "/" + name
}

var errBoom = errors.New("boom: disk read error")

// TestPutReaderFails: whatever goes wrong with the content, nothing is
// stored and no multipart upload is left behind.
func TestPutReaderFails(t *testing.T) {
	for _, m := range modes(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(t, m.srv)
			cfg.ChecksumMode = m.checksum
			d := newDest(t, cfg)
			const big = 12 << 20 // three parts of 5 MiB
			cases := []struct {
				name    string
				r       io.Reader
				size    int64
				meta    map[string]string
				wantErr error
			}{
				{"single-part", io.MultiReader(gen(1, 1000), iotest.ErrReader(errBoom)), 2000,
					map[string]string{s3.MetaSHA256: sumOf(gen(1, 2000))}, errBoom},
				{"multipart", io.MultiReader(gen(1, big), iotest.ErrReader(errBoom)), 2 * big,
					map[string]string{s3.MetaSHA256: sumOf(gen(1, 2*big))}, errBoom},
				{"hash-pass", io.MultiReader(gen(1, 1000), iotest.ErrReader(errBoom)), 2000, nil, errBoom},
				{"wrong-sha256-single", gen(1, 1000), 1000,
					map[string]string{s3.MetaSHA256: sumOf(gen(2, 1000))}, s3.ErrChecksum},
				{"wrong-sha256-multipart", gen(1, big), big,
					map[string]string{s3.MetaSHA256: sumOf(gen(2, big))}, s3.ErrChecksum},
				{"short", gen(1, big), big + 1, map[string]string{s3.MetaSHA256: sumOf(gen(1, big))}, nil},
				{"long", gen(1, big), big - 1, map[string]string{s3.MetaSHA256: sumOf(gen(1, big))}, nil},
			}
			for _, c := range cases {
				name := c.name + ".zip"
				_, err := d.PutMeta(t.Context(), name, c.r, c.size, c.meta)
				if err == nil {
					t.Errorf("%s: Put succeeded, want an error", c.name)
					continue
				}
				if c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Errorf("%s: error %v, want one wrapping %v", c.name, err, c.wantErr)
				}
				var e *s3.Error
				if !errors.As(err, &e) || e.Transient || outbox.IsTransient(err) {
					t.Errorf("%s: error %#v, want a permanent *s3.Error", c.name, err)
				}
				if !strings.Contains(err.Error(), "reading the result") {
					t.Errorf("%s: error %q does not say the result could not be read", c.name, err)
				}
				key := cfgKey(d, name)
				if _, ok := get(t, m.srv, key); ok {
					t.Errorf("%s: object %s exists after a failed Put", c.name, key)
				}
				if p := pendingUploads(t, m.srv, key); len(p) > 0 {
					t.Errorf("%s: pending multipart uploads left: %v", c.name, p)
				}
			}
		})
	}
}

// cancelReader cancels a context after n bytes and keeps on reading.
type cancelReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestPutCanceled: a Put whose context ends in the middle of a multipart
// upload leaves no parts (the SDK's own abort uses the dead context).
func TestPutCanceled(t *testing.T) {
	needServers(t)
	t.Parallel()
	srv := servers[0]
	d := newDest(t, config(t, srv))
	const size = 30 << 20
	ctx, cancel := context.WithCancel(t.Context())
	r := &cancelReader{r: gen(3, size), n: 12 << 20, cancel: cancel}
	_, err := d.PutMeta(ctx, "canceled.zip", r, size, map[string]string{s3.MetaSHA256: sumOf(gen(3, size))})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	if !outbox.IsTransient(err) {
		t.Errorf("IsTransient(%v) = false; a canceled put is handed back, not failed", err)
	}
	key := cfgKey(d, "canceled.zip")
	if _, ok := get(t, srv, key); ok {
		t.Errorf("object stored by a canceled Put")
	}
	if p := pendingUploads(t, srv, key); len(p) > 0 {
		t.Errorf("pending multipart uploads left: %v", p)
	}
}

func TestConcurrentPuts(t *testing.T) {
	needServers(t)
	t.Parallel()
	srv := servers[0]
	d := newDest(t, config(t, srv))
	const n = 16
	var wg sync.WaitGroup
	locs := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			size := int64(1000 * (i + 1))
			if i%4 == 0 {
				size = 6 << 20 // some multipart
			}
			locs[i], errs[i] = d.Put(t.Context(), fmt.Sprintf("part-%02d.csv", i), gen(uint64(i), size), size)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Put %d: %v", i, errs[i])
			continue
		}
		size := int64(1000 * (i + 1))
		if i%4 == 0 {
			size = 6 << 20
		}
		if got, _ := get(t, srv, keyOf(t, locs[i])); got.sha256 != sumOf(gen(uint64(i), size)) {
			t.Errorf("Put %d: stored content differs", i)
		}
	}
}

// TestRacingPuts: writers of different content under one name race;
// exactly one wins, the others get ErrExists.
func TestRacingPuts(t *testing.T) {
	needServers(t)
	t.Parallel()
	srv := servers[0]
	for _, size := range []int64{500, 6 << 20} {
		d := newDest(t, config(t, srv))
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = d.Put(t.Context(), "race.csv", gen(uint64(i), size), size)
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Errorf("size %d: writers %d and %d both won", size, won, i)
			case err == nil:
				won = i
			case !errors.Is(err, outbox.ErrExists):
				t.Errorf("size %d: writer %d: %v, want ErrExists", size, i, err)
			}
		}
		if won < 0 {
			t.Fatalf("size %d: nobody won: %v", size, errs)
		}
		key := cfgKey(d, "race.csv")
		if got, _ := get(t, srv, key); got.sha256 != sumOf(gen(uint64(won), size)) {
			t.Errorf("size %d: stored content is not the winner's", size)
		}
		if p := pendingUploads(t, srv, key); len(p) > 0 {
			t.Errorf("size %d: pending multipart uploads left: %v", size, p)
		}
	}
}

func TestKeyTemplate(t *testing.T) {
	needServers(t)
	t.Parallel()
	srv := servers[0]
	cfg := config(t, srv)
	cfg.KeyTemplate = "{prefix}{date}/{job}-{name}"
	d := newDest(t, cfg)
	meta := map[string]string{s3.MetaJob: "job42", s3.MetaDate: "2026-11-30"}
	loc, err := d.PutMeta(t.Context(), "saft.xml", strings.NewReader("<x/>"), 4, meta)
	if err != nil {
		t.Fatal(err)
	}
	if want := "s3://" + bucket + "/" + cfg.Prefix + "/2026-11-30/job42-saft.xml"; loc != want {
		t.Errorf("location %q, want %q", loc, want)
	}
	if _, ok := get(t, srv, keyOf(t, loc)); !ok {
		t.Errorf("%s not stored", loc)
	}

	// Without a date, {date} is today (UTC).
	loc, err = d.PutMeta(t.Context(), "saft.xml", strings.NewReader("<x/>"), 4, map[string]string{s3.MetaJob: "job43"})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC()
	if !strings.Contains(loc, "/"+today.Format(time.DateOnly)+"/") &&
		!strings.Contains(loc, "/"+today.Add(-time.Minute).Format(time.DateOnly)+"/") {
		t.Errorf("location %q does not hold today's date", loc)
	}

	for _, m := range []map[string]string{
		nil,                 // no job
		{s3.MetaJob: "a/b"}, // job with a folder
		{s3.MetaJob: "j", s3.MetaDate: "30.11.2026"}, // not ISO
	} {
		_, err := d.PutMeta(t.Context(), "saft.xml", strings.NewReader("<x/>"), 4, m)
		if err == nil || outbox.IsTransient(err) {
			t.Errorf("PutMeta(meta %v) = %v, want a permanent error", m, err)
		}
	}
}

func TestBadNames(t *testing.T) {
	needServers(t)
	d := newDest(t, config(t, servers[0]))
	for _, name := range []string{"", ".", "..", "a/b", "tab\there"} {
		_, err := d.Put(t.Context(), name, strings.NewReader("x"), 1)
		if err == nil || outbox.IsTransient(err) {
			t.Errorf("Put(%q) = %v, want a permanent error", name, err)
		}
	}
}

func TestNoSuchBucket(t *testing.T) {
	needServers(t)
	cfg := config(t, servers[0])
	cfg.Bucket = "no-such-bucket-erpipe"
	d := newDest(t, cfg)
	_, err := d.Put(t.Context(), "x.csv", strings.NewReader("x"), 1)
	if err == nil || outbox.IsTransient(err) {
		t.Fatalf("Put to a missing bucket = %v, want a permanent error", err)
	}
	if !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("error %q does not say NoSuchBucket", err)
	}
}

// TestNoCredentialsInOutput: neither String nor errors show credentials,
// also when the secret is wrong.
func TestNoCredentialsInOutput(t *testing.T) {
	needServers(t)
	for _, srv := range servers {
		cfg := config(t, srv)
		cfg.Profile = "wrong"
		d := newDest(t, cfg)
		_, err := d.Put(t.Context(), "x.csv", strings.NewReader("x"), 1)
		if err == nil {
			t.Fatalf("%s: Put with a wrong secret succeeded", srv.Name)
		}
		if outbox.IsTransient(err) {
			t.Errorf("%s: IsTransient(%v) = true; a wrong secret needs a person", srv.Name, err)
		}
		for _, out := range []string{d.String(), err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, secret := range []string{wrongSecret, secretKey} {
				if strings.Contains(out, secret) {
					t.Errorf("%s: output shows the secret: %s", srv.Name, out)
				}
			}
		}
		if want := "s3://" + bucket + "/" + cfg.Prefix; d.String() != want {
			t.Errorf("String() = %q, want %q", d.String(), want)
		}
	}
}

// TestStoreDown: a closed port fails quickly with a transient error.
func TestStoreDown(t *testing.T) {
	port, err := freePort() // nothing listens there any more
	if err != nil {
		t.Fatal(err)
	}
	cfg := s3.Config{Bucket: bucket, Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), PathStyle: true, MaxAttempts: 2}
	d := newDest(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second) // a bound, not a measurement
	defer cancel()
	_, err = d.Put(ctx, "x.csv", strings.NewReader("x"), 1)
	if err == nil {
		t.Fatal("Put to a closed port succeeded")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put did not give up by itself: %v", err)
	}
	if !outbox.IsTransient(err) {
		t.Errorf("IsTransient(%v) = false, want true", err)
	}
	var e *s3.Error
	if !errors.As(err, &e) || e.Location != "s3://"+bucket+"/x.csv" {
		t.Errorf("error %#v does not name the object", err)
	}
}

// TestUntrustedCertificate: a store whose certificate is not trusted is a
// configuration error with a hint, not something to retry.
func TestUntrustedCertificate(t *testing.T) {
	needServers(t)
	cfg := config(t, servers[1])
	cfg.CAFile = ""
	d := newDest(t, cfg)
	_, err := d.Put(t.Context(), "x.csv", strings.NewReader("x"), 1)
	if err == nil {
		t.Fatal("Put to a store with an untrusted certificate succeeded")
	}
	if outbox.IsTransient(err) {
		t.Errorf("IsTransient(%v) = true, want false", err)
	}
	if !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("error %q does not point to ca_file", err)
	}
}
