// Package s3 is an outbox destination that writes results to any
// S3-compatible object store (AWS S3, MinIO, Ceph RGW, SeaweedFS, versitygw
// ...) through aws-sdk-go-v2.
//
// A result named "customers.zip" put to s3://bucket/out lands under the key
// "out/customers.zip" (see [Config.KeyTemplate]). Put streams the result:
// results larger than [Config.PartSize] go up as a multipart upload, so
// memory stays at about PartSize × (Concurrency+1) per Put, whatever the
// size. A failed multipart upload is aborted, so a failed Put leaves neither
// an object nor stored parts.
//
// Every object carries its content's sha256 in the metadata entry
// "sha256" (header x-amz-meta-sha256), next to what the caller adds with
// [S3.PutMeta] (job id, template, input sha256). Put writes with
// "If-None-Match: *", so it never replaces an object: when the key is taken,
// Put compares the stored sha256 with its own. The same content means the
// result is already there (a retry after a crash) and Put succeeds; other
// content fails with an error that wraps [outbox.ErrExists].
//
// Requests are retried with exponential back-off and jitter, honouring
// Retry-After on 429 and 503 answers. [outbox.IsTransient] tells a failure worth
// retrying later (store down, throttled, timed out) from one that needs a
// person (access denied, no such bucket, different content).
//
// Credentials come from the standard AWS chain (environment, shared
// config and credentials files with an optional profile, web identity,
// container and EC2 instance roles); they never appear in [S3.String],
// errors or logs, and ParseURL rejects URLs that carry them.
//
// Configure a lifecycle rule "AbortIncompleteMultipartUpload" on the bucket
// as well: if the process dies during a multipart upload, nobody is left
// to abort it, and the store keeps (and bills) the parts until the rule
// removes them.
package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/erpipe/erpipe/outbox"
)

// Metadata keys that Put sets or that callers pass to PutMeta, the same as
// outbox's. Keys are stored as x-amz-meta-<key> headers.
const (
	// MetaSHA256 holds the lowercase hex sha256 of the object's content.
	// Put always sets it. A caller that already knows the hash passes it
	// in PutMeta's meta: Put then streams r without a first pass over it
	// and fails, storing nothing, if the content does not match.
	MetaSHA256 = outbox.MetaSHA256
	// MetaJob holds the id of the job that made the result; it fills the
	// {job} placeholder of the key template.
	MetaJob = outbox.MetaJob
	// MetaTemplate holds the name and version of the template that made
	// the result.
	MetaTemplate = outbox.MetaTemplate
	// MetaInputSHA256 holds the sha256 of the input file.
	MetaInputSHA256 = outbox.MetaInputSHA256
	// MetaDate holds the job's date as YYYY-MM-DD; it fills the {date}
	// placeholder of the key template.
	MetaDate = outbox.MetaDate
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultKeyTemplate = "{prefix}{name}"
	DefaultPartSize    = 8 << 20
	DefaultMaxAttempts = 8
	DefaultConcurrency = 4
	DefaultRegion      = "us-east-1"
)

// Checksum modes for Config.ChecksumMode.
const (
	// ChecksumWhenSupported sends a CRC32 checksum with every upload
	// request; over https the SDK sends it as an aws-chunked trailer.
	// This is what AWS S3 expects.
	ChecksumWhenSupported = "when_supported"
	// ChecksumWhenRequired sends checksums only where the S3 API requires
	// them. Some S3-compatible stores mishandle aws-chunked bodies (they
	// store the chunk framing), so it is the default for custom endpoints.
	ChecksumWhenRequired = "when_required"
)

const (
	minPartSize = 5 << 20 // S3's minimum part size (except the last one)
	maxPartSize = 5 << 30 // S3's maximum part size
	maxParts    = 10000   // S3's maximum number of parts
	maxKeyLen   = 1024    // S3's maximum key length in bytes
	maxMetaLen  = 2048    // S3's limit on user metadata (keys + values)
)

// Config describes an S3 destination. The zero value of every field but
// Bucket is usable; New fills in the defaults.
type Config struct {
	// Bucket is the bucket name. Required.
	Bucket string
	// Prefix is prepended to every key, like a folder: "out" and "out/"
	// both put "x.zip" at "out/x.zip". It must not contain "//".
	Prefix string
	// Endpoint is the base URL of an S3-compatible store, e.g.
	// "https://minio.example.com:9000". Empty means AWS S3.
	Endpoint string
	// Region is the signing region. Empty means the region of the AWS
	// chain (AWS_REGION, profile), else us-east-1.
	Region string
	// PathStyle addresses buckets as https://host/bucket/key instead of
	// https://bucket.host/key. Most S3-compatible stores need it.
	PathStyle bool
	// Profile selects a profile of the shared AWS config files; empty means
	// AWS_PROFILE or "default".
	Profile string
	// CAFile is a PEM file of certificate authorities to trust for the
	// endpoint, for stores with a private CA. Empty means the system pool
	// (and AWS_CA_BUNDLE).
	CAFile string
	// StorageClass is the storage class of new objects, e.g. "STANDARD_IA".
	// Empty means the bucket's default.
	StorageClass string
	// SSE is the server-side encryption: "" (the bucket's default),
	// "AES256" or "aws:kms".
	SSE string
	// SSEKMSKeyID is the KMS key for SSE "aws:kms"; empty means the
	// account's default key.
	SSEKMSKeyID string
	// KeyTemplate makes the object key from placeholders: {prefix} (Prefix,
	// ending in "/"), {name} (the result's name), {job} (meta "job") and
	// {date} (meta "date", else today's UTC date as YYYY-MM-DD). It must
	// contain {name}. Default "{prefix}{name}". Keys must be the same when
	// a put is retried, so a template with {date} should be used with a
	// meta "date" that the caller keeps with the job.
	KeyTemplate string
	// ChecksumMode is ChecksumWhenSupported or ChecksumWhenRequired.
	// Default: when_supported for AWS, when_required for a custom Endpoint.
	ChecksumMode string
	// PartSize is the multipart part size in bytes, at least 5 MiB;
	// results up to this size go up in one request. Default 8 MiB. Put
	// raises it for results that would need more than 10,000 parts.
	PartSize int64
	// Concurrency is the number of parts of one Put in flight. Default 4.
	Concurrency int
	// MaxAttempts is the number of attempts per request, the first
	// included. Default 8.
	MaxAttempts int
	// SpoolDir is where Put keeps a temporary copy of a result it cannot
	// read twice (an unseekable reader without a known sha256), to hash it
	// before the upload. Default os.TempDir().
	SpoolDir string
}

// S3 is an outbox.Destination that writes to a bucket of an S3-compatible
// store. Its methods are safe for concurrent use.
type S3 struct {
	cfg      Config
	key      keyTemplate
	client   *awss3.Client
	uploader *manager.Uploader
	name     string // s3://bucket/prefix, for String
	now      func() time.Time
}

var _ outbox.Destination = (*S3)(nil)

// New checks cfg, applies the defaults and returns an S3 destination.
// Credentials are loaded from the standard AWS chain; New does no request
// to the store, so a store that is down fails the first Put, not New.
// Errors name the field to fix.
func New(ctx context.Context, cfg Config) (*S3, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	kt, err := parseKeyTemplate(cfg.KeyTemplate)
	if err != nil {
		return nil, err
	}

	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 10 * time.Second }).
		WithTransportOptions(func(t *http.Transport) {
			// A store that accepts a request and never answers must not
			// hang a job forever; 2 minutes leaves room for a slow
			// CompleteMultipartUpload.
			t.ResponseHeaderTimeout = 2 * time.Minute
		})
	checksum := aws.RequestChecksumCalculationWhenSupported
	validation := aws.ResponseChecksumValidationWhenSupported
	if cfg.ChecksumMode == ChecksumWhenRequired {
		checksum = aws.RequestChecksumCalculationWhenRequired
		validation = aws.ResponseChecksumValidationWhenRequired
	}
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRequestChecksumCalculation(checksum),
		config.WithResponseChecksumValidation(validation),
		config.WithDefaultRegion(DefaultRegion),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.CAFile != "" {
		f, err := os.Open(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3: CAFile: %w", err)
		}
		defer f.Close()
		opts = append(opts, config.WithCustomCABundle(f))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: loading the AWS configuration: %w", err)
	}

	client := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		o.Retryer = newRetryer(cfg.MaxAttempts)
	})
	uploader := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = cfg.PartSize
		u.Concurrency = cfg.Concurrency
		u.RequestChecksumCalculation = checksum
	})
	name := "s3://" + cfg.Bucket
	if p := strings.TrimSuffix(cfg.Prefix, "/"); p != "" {
		name += "/" + p
	}
	return &S3{
		cfg:      cfg,
		key:      kt,
		client:   client,
		uploader: uploader,
		name:     name,
		now:      time.Now,
	}, nil
}

// normalize validates c and fills in the defaults.
func (c *Config) normalize() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("s3: %s: %s", field, fmt.Sprintf(format, args...))
	}
	if c.Bucket == "" {
		return bad("Bucket", "is empty; name the bucket to write to")
	}
	if strings.ContainsAny(c.Bucket, "/\\ \t\r\n?#") {
		return bad("Bucket", "%q is not a bucket name (no slashes, spaces, '?' or '#')", c.Bucket)
	}
	c.Prefix = strings.TrimLeft(c.Prefix, "/")
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if strings.Contains(c.Prefix, "//") {
		return bad("Prefix", "%q contains an empty folder (\"//\"); remove the extra slash", c.Prefix)
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			return bad("Endpoint", "%v", err)
		}
	}
	switch c.SSE {
	case "", "AES256", "aws:kms":
	default:
		return bad("SSE", "%q is not supported; use \"\", \"AES256\" or \"aws:kms\"", c.SSE)
	}
	if c.SSEKMSKeyID != "" && c.SSE != "aws:kms" {
		return bad("SSEKMSKeyID", "is set but SSE is %q; set SSE to \"aws:kms\"", c.SSE)
	}
	for _, r := range c.StorageClass {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return bad("StorageClass", "%q is not a storage class (e.g. STANDARD, STANDARD_IA, GLACIER_IR)", c.StorageClass)
		}
	}
	switch c.ChecksumMode {
	case "":
		c.ChecksumMode = ChecksumWhenSupported
		if c.Endpoint != "" {
			c.ChecksumMode = ChecksumWhenRequired
		}
	case ChecksumWhenSupported, ChecksumWhenRequired:
	default:
		return bad("ChecksumMode", "%q is not %q or %q", c.ChecksumMode, ChecksumWhenSupported, ChecksumWhenRequired)
	}
	switch {
	case c.PartSize == 0:
		c.PartSize = DefaultPartSize
	case c.PartSize < minPartSize || c.PartSize > maxPartSize:
		return bad("PartSize", "%d bytes is outside S3's limits of 5 MiB to 5 GiB", c.PartSize)
	}
	switch {
	case c.Concurrency == 0:
		c.Concurrency = DefaultConcurrency
	case c.Concurrency < 0:
		return bad("Concurrency", "%d is negative", c.Concurrency)
	}
	switch {
	case c.MaxAttempts == 0:
		c.MaxAttempts = DefaultMaxAttempts
	case c.MaxAttempts < 0:
		return bad("MaxAttempts", "%d is negative; 1 means no retries", c.MaxAttempts)
	}
	if c.KeyTemplate == "" {
		c.KeyTemplate = DefaultKeyTemplate
	}
	return nil
}

// String returns "s3://bucket/prefix". It never contains credentials.
func (d *S3) String() string { return d.name }

// Put stores size bytes from r under the key made from name; see PutMeta.
func (d *S3) Put(ctx context.Context, name string, r io.Reader, size int64) (string, error) {
	return d.PutMeta(ctx, name, r, size, nil)
}

// PutMeta stores size bytes from r under the key made from name and the
// key template, with meta as object metadata, and returns the object's
// location "s3://bucket/key". A negative size means unknown; otherwise r
// must yield exactly size bytes. name is a base name: no "/", not "." or
// "..".
//
// Metadata keys are letters, digits and '-' (they are lowercased); values
// are printable ASCII; together at most 2 KiB. PutMeta sets MetaSHA256 to
// the content's sha256. If meta already has it, the content must match,
// else PutMeta stores nothing and fails. Without it, PutMeta reads r twice
// when r is an io.Seeker (from its current offset), or else copies r to a
// temporary file in SpoolDir first, because the hash must be known before
// the upload starts.
//
// PutMeta never replaces an object. If the key exists with the same sha256
// and size, PutMeta succeeds without uploading (an idempotent retry); with
// other content it returns an *Error that wraps outbox.ErrExists. Failures
// are *Error values; outbox.IsTransient tells whether to try again later.
func (d *S3) PutMeta(ctx context.Context, name string, r io.Reader, size int64, meta map[string]string) (string, error) {
	md, err := checkMeta(meta)
	if err != nil {
		return "", d.fail("put", name, "", err)
	}
	if err := checkName(name); err != nil {
		return "", d.fail("put", name, "", err)
	}
	key, err := d.key.expand(d.cfg.Prefix, name, md[MetaJob], md[MetaDate], d.now)
	if err != nil {
		return "", d.fail("put", name, "", err)
	}

	// The sha256 must be in the metadata before the first byte goes up.
	if md[MetaSHA256] == "" {
		sum, n, body, cleanup, err := d.hashFirst(outbox.ContextReader{Ctx: ctx, R: r}, size)
		if err != nil {
			return "", d.fail("put", name, key, err)
		}
		defer cleanup()
		md[MetaSHA256], r, size = sum, body, n
	}

	// Cheap check first: a retried job must not upload a big result again
	// only to learn at the end that it is already there.
	switch done, err := d.existing(ctx, key, md[MetaSHA256], size); {
	case err != nil:
		return "", d.fail("put", name, key, err)
	case done:
		return d.location(key), nil
	}

	if err := d.upload(ctx, key, name, r, size, md); err != nil {
		if !isConditionLost(err) {
			return "", d.fail("put", name, key, err)
		}
		// Someone (most likely an earlier attempt of this very put whose
		// answer got lost) stored the key first.
		done, herr := d.existing(ctx, key, md[MetaSHA256], size)
		switch {
		case herr != nil:
			return "", d.fail("put", name, key, herr)
		case !done:
			// 409 ConditionalRequestConflict: the other upload has not
			// completed yet. Try again later.
			return "", d.fail("put", name, key, err)
		}
	}
	return d.location(key), nil
}

// existing reports whether key already holds content with sha256 sum (and
// size, when size >= 0). It returns an error wrapping outbox.ErrExists
// when key holds other content.
func (d *S3) existing(ctx context.Context, key, sum string, size int64) (bool, error) {
	head, err := d.client.HeadObject(ctx, &awss3.HeadObjectInput{
		Bucket: aws.String(d.cfg.Bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	stored := head.Metadata[MetaSHA256]
	storedSize := aws.ToInt64(head.ContentLength)
	if stored == sum && (size < 0 || storedSize == size) {
		return true, nil
	}
	if stored == "" {
		stored = "none recorded"
	}
	return false, fmt.Errorf("%w (stored: %d bytes, sha256 %s; this result: sha256 %s); "+
		"delete or rename the stored object if it is wrong, or add {job} or {date} to the key template",
		outbox.ErrExists, storedSize, stored, sum)
}

// upload streams r to key with "If-None-Match: *".
func (d *S3) upload(ctx context.Context, key, name string, r io.Reader, size int64, md map[string]string) error {
	in := &awss3.PutObjectInput{
		Bucket:      aws.String(d.cfg.Bucket),
		Key:         aws.String(key),
		Body:        newVerifyReader(r, size, md[MetaSHA256]),
		Metadata:    md,
		IfNoneMatch: aws.String("*"),
		ContentType: aws.String(contentType(name)),
	}
	if d.cfg.ChecksumMode == ChecksumWhenSupported {
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
	}
	if d.cfg.StorageClass != "" {
		in.StorageClass = types.StorageClass(d.cfg.StorageClass)
	}
	if d.cfg.SSE != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(d.cfg.SSE)
	}
	if d.cfg.SSEKMSKeyID != "" {
		in.SSEKMSKeyId = aws.String(d.cfg.SSEKMSKeyID)
	}
	partSize := d.cfg.PartSize
	if size > 0 && size/partSize >= maxParts {
		partSize = size/maxParts + 1
	}
	_, err := d.uploader.Upload(ctx, in, func(u *manager.Uploader) { u.PartSize = partSize })
	if err != nil {
		var mu manager.MultiUploadFailure
		if errors.As(err, &mu) && mu.UploadID() != "" {
			// The manager aborts with the caller's context, which fails
			// when that context is what ended the upload. Abort once more
			// with a context of our own; NoSuchUpload is fine.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_, _ = d.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{
				Bucket:   aws.String(d.cfg.Bucket),
				Key:      aws.String(key),
				UploadId: aws.String(mu.UploadID()),
			})
		}
		return err
	}
	return nil
}

// hashFirst computes the sha256 of r (an outbox.ContextReader) before the upload. It
// returns the hash, the size, and a reader that yields the same content
// again; cleanup releases that reader.
func (d *S3) hashFirst(cr outbox.ContextReader, size int64) (sum string, n int64, body io.Reader, cleanup func(), err error) {
	r := io.Reader(cr)
	if s, ok := cr.R.(io.Seeker); ok {
		start, err := s.Seek(0, io.SeekCurrent)
		if err == nil {
			sum, n, err := hashAll(r, size)
			if err != nil {
				return "", 0, nil, nil, err
			}
			if _, err := s.Seek(start, io.SeekStart); err != nil {
				return "", 0, nil, nil, &readError{fmt.Errorf("rewinding after hashing: %w", err)}
			}
			return sum, n, cr.R, func() {}, nil
		}
		// Not actually seekable (a pipe behind an *os.File): spool.
	}
	f, err := os.CreateTemp(d.cfg.SpoolDir, "erpipe-s3-spool-*")
	if err != nil {
		return "", 0, nil, nil, fmt.Errorf("creating a spool file for a result that cannot be read twice: %w", err)
	}
	cleanup = func() {
		f.Close()
		os.Remove(f.Name())
	}
	sum, n, err = hashAll(io.TeeReader(r, spoolWriter{f}), size)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return "", 0, nil, nil, err
	}
	return sum, n, f, cleanup, nil
}

// spoolWriter marks write errors of the spool file so that they are not
// mistaken for errors of the caller's reader.
type spoolWriter struct{ f *os.File }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = &spoolError{err}
	}
	return n, err
}

type spoolError struct{ err error }

func (e *spoolError) Error() string { return "writing the spool file: " + e.err.Error() }
func (e *spoolError) Unwrap() error { return e.err }

// hashAll reads r to the end, which must come after size bytes when
// size >= 0, and returns its sha256 in lowercase hex and its size.
func hashAll(r io.Reader, size int64) (string, int64, error) {
	v := newVerifyReader(r, size, "")
	if _, err := io.Copy(io.Discard, v); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(v.h.Sum(nil)), v.n, nil
}

func (d *S3) location(key string) string { return "s3://" + d.cfg.Bucket + "/" + key }

// fail wraps err into an *Error for the operation on name/key.
func (d *S3) fail(op, name, key string, err error) error {
	// The manager buries reader errors under "upload multipart failed,
	// upload id: …, cause: read multipart upload data failed, …".
	var re *readError
	var se *spoolError
	if errors.As(err, &re) {
		err = re
	} else if errors.As(err, &se) {
		err = se
	}
	e := &Error{Op: op, Name: name, Err: err, Transient: classify(err), hint: hint(err, d.cfg.Bucket, d.cfg.Endpoint)}
	if key != "" {
		e.Location = d.location(key)
	} else {
		e.Location = d.name
	}
	return e
}

// contentTypes are the types of the files erpipe makes. They come before
// the system's MIME table, which differs between machines (and says
// "text/xml; charset=utf-8" for XML that may well be in another encoding).
var contentTypes = map[string]string{
	".zip":  "application/zip",
	".xml":  "application/xml",
	".csv":  "text/csv",
	".txt":  "text/plain",
	".json": "application/json",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pdf":  "application/pdf",
}

// contentType guesses the Content-Type from the name's extension.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// checkName checks that name is a base name usable in a key.
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

// checkMeta validates and copies meta, lowercasing the keys.
func checkMeta(meta map[string]string) (map[string]string, error) {
	md := make(map[string]string, len(meta)+1)
	total := 0
	for k, v := range meta {
		lk := strings.ToLower(k)
		if lk == "" {
			return nil, errors.New("metadata: empty key")
		}
		for _, r := range lk {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return nil, fmt.Errorf("metadata key %q: use only letters, digits and '-'", k)
			}
		}
		for _, r := range v {
			if r < 0x20 || r > 0x7e {
				return nil, fmt.Errorf("metadata %q: value %q has a character that is not printable ASCII", k, v)
			}
		}
		if _, dup := md[lk]; dup {
			return nil, fmt.Errorf("metadata key %q appears twice (keys are case-insensitive)", k)
		}
		md[lk] = v
		total += len(lk) + len(v)
	}
	if sum, ok := md[MetaSHA256]; ok {
		sum = strings.ToLower(sum)
		if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("metadata %q: %q is not a hex sha256 (64 hex digits)", MetaSHA256, sum)
		}
		md[MetaSHA256] = sum
	} else {
		total += len(MetaSHA256) + 2*sha256.Size
	}
	if total > maxMetaLen {
		return nil, fmt.Errorf("metadata is %d bytes; S3 allows %d", total, maxMetaLen)
	}
	return md, nil
}
