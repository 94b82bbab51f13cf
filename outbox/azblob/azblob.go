// Package azblob is an outbox destination that writes results to Azure
// Blob Storage (and Azurite, and the sovereign clouds) as block blobs,
// through the Azure SDK for Go.
//
// A result named "customers.zip" put to container "erp" with prefix "out"
// lands as the blob "out/customers.zip" (see [Config.KeyTemplate]).
//
// Publishing is atomic. A result up to [Config.BlockSize] goes up in one
// Put Blob request; a larger one is staged block by block (Put Block, at
// most [Config.Concurrency] blocks in flight, so memory stays at about
// BlockSize × (Concurrency+1) per Put whatever the size) and published by
// one Put Block List. Until that commit nothing is visible: a Put that
// fails or is cancelled half-way leaves only uncommitted blocks, which no
// reader sees and Azure discards after a week.
//
// Every blob carries its content's sha256 in the metadata entry "sha256"
// and its MD5 as the standard Content-MD5 property (which azcopy and the
// Storage Explorer check); each request body also carries its MD5, which
// the service checks. The caller's metadata (job id, template, input
// sha256) is kept too, with '-' written '_' as Azure's metadata names
// require ("input_sha256"). Put writes with "If-None-Match: *", so it never
// replaces a blob by accident: when the name is taken, it compares the
// stored sha256 with its own. The same content means the result is
// already there (a retry after a crash) and Put succeeds without uploading
// again; other content is decided by [Config.Overwrite]: fail (the
// default: an error that wraps [outbox.ErrExists]), rename (the first
// free "name (2).ext", as the folder destination does) or replace.
//
// Requests are retried with exponential back-off and jitter, honouring
// Retry-After up to a minute. [outbox.IsTransient] tells a failure worth
// retrying later (account unreachable, 5xx, ServerBusy or 429 throttling,
// timeouts) from one that needs a person (refused credentials, no such
// container, different content).
//
// Credentials ([Config.Credential]) are a shared key, a SAS token, a
// connection string (each from the environment or a file, never from
// erpipe.yaml) or Microsoft Entra ID (azidentity's DefaultAzureCredential).
// They never appear in [Blob.String], locations, errors or logs.
package azblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/erpipe/erpipe/outbox"
)

// Metadata keys that Put sets or that callers pass to PutMeta, the same as
// outbox's. Azure stores them as x-ms-meta-<key> with '-' written '_'.
const (
	// MetaSHA256 holds the lowercase hex sha256 of the blob's content.
	// Put always sets it. A caller that already knows the hash passes it
	// in PutMeta's meta: Put checks the content against it and commits
	// nothing if it does not match.
	MetaSHA256 = outbox.MetaSHA256
	// MetaJob holds the id of the job that made the result; it fills the
	// {job} placeholder of the key template.
	MetaJob = outbox.MetaJob
	// MetaTemplate holds the name and version of the template.
	MetaTemplate = outbox.MetaTemplate
	// MetaInputSHA256 holds the sha256 of the input file, stored as
	// "input_sha256".
	MetaInputSHA256 = outbox.MetaInputSHA256
	// MetaDate holds the job's date as YYYY-MM-DD; it fills the {date}
	// placeholder of the key template.
	MetaDate = outbox.MetaDate
)

// The overwrite policies, for Config.Overwrite.
const (
	// OverwriteFail fails with an error wrapping outbox.ErrExists when
	// the name holds other content. The default, as for s3.
	OverwriteFail = "fail"
	// OverwriteRename stores the result under the first free name of
	// "name (2).ext", "name (3).ext", ... (or the one that already holds
	// the same content).
	OverwriteRename = "rename"
	// OverwriteReplace replaces a blob of other content, in one commit:
	// readers see the old or the new result, never a mix.
	OverwriteReplace = "replace"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultKeyTemplate = "{prefix}{name}"
	DefaultBlockSize   = 8 << 20
	DefaultConcurrency = 4
	DefaultMaxAttempts = 6
)

const (
	minBlockSize  = 64 << 10   // erpipe's floor; Azure takes any size
	maxBlockSize  = 4000 << 20 // Azure's maximum block size
	maxBlocks     = 50000      // Azure's maximum blocks in a blob
	maxKeyLen     = 1024       // Azure's maximum blob name length, in characters
	maxMetaLen    = 8 << 10    // Azure's limit on metadata (names + values)
	maxRenames    = 10000      // bound on the search for a free name
	retryDelay    = 500 * time.Millisecond
	maxRetryAfter = time.Minute // longer Retry-After: a transient error
)

// Config describes an Azure Blob Storage destination. Container and
// Credential are required; the zero value of the other fields is usable.
type Config struct {
	// Account is the storage account name. Empty means AZURE_STORAGE_ACCOUNT,
	// or the account of the connection string.
	Account string
	// Container is the container name. Required; it must exist.
	Container string
	// Prefix is prepended to every blob name, like a folder: "out" and
	// "out/" both put "x.zip" at "out/x.zip". It must not contain "//".
	Prefix string
	// Endpoint is the blob service URL, for Azurite
	// ("http://127.0.0.1:10000/devstoreaccount1"), sovereign clouds
	// ("https://acct.blob.core.usgovcloudapi.net") or private endpoints.
	// Empty means https://<account>.blob.core.windows.net.
	Endpoint string
	// Credential is how requests are signed: CredentialSharedKey,
	// CredentialSAS, CredentialEntra or CredentialConnectionString.
	// Required.
	Credential string
	// SecretEnv names the environment variable that holds the key, SAS
	// token or connection string, when it is not the default
	// (AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN,
	// AZURE_STORAGE_CONNECTION_STRING).
	SecretEnv string
	// SecretFile is a file that holds the key, SAS token or connection
	// string instead (a mounted secret, say). It is read by New: after
	// rotating the secret, reload erpipe (SIGHUP).
	SecretFile string
	// DisableInstanceDiscovery stops Entra ID sign-in from asking
	// login.microsoftonline.com about the authority host
	// (AZURE_AUTHORITY_HOST): for disconnected and private clouds
	// (Azure Stack Hub).
	DisableInstanceDiscovery bool
	// Audience is what Entra ID tokens are asked for: empty means
	// https://storage.azure.com/ (every account of the public cloud);
	// the account's own blob endpoint, e.g.
	// "https://acct.blob.core.chinacloudapi.cn", for a sovereign cloud.
	Audience string
	// CAFile is a PEM file of certificate authorities to trust for the
	// endpoint (and the Entra ID authority), on top of the system's.
	CAFile string
	// Overwrite is OverwriteFail (default), OverwriteRename or
	// OverwriteReplace.
	Overwrite string
	// AccessTier is the tier of new blobs: Hot, Cool, Cold or Archive.
	// Empty means the account's default.
	AccessTier string
	// KeyTemplate makes the blob name from placeholders: {prefix}
	// (Prefix, ending in "/"), {name} (the result's name), {job} (meta
	// "job") and {date} (meta "date", else today's UTC date). It must
	// contain {name}. Default "{prefix}{name}".
	KeyTemplate string
	// BlockSize is the size of the blocks a result is staged in, and the
	// largest result put in one request. Default 8 MiB. Put raises it for
	// results that would need more than 50,000 blocks.
	BlockSize int64
	// Concurrency is the number of blocks of one Put in flight. Default 4.
	Concurrency int
	// MaxAttempts is the number of attempts per request, the first
	// included. Default 6.
	MaxAttempts int
	// SpoolDir is where Put keeps a temporary copy of a result it must
	// read twice (an unseekable reader without a known sha256, whose name
	// is taken), to compare it before the upload. Default os.TempDir().
	SpoolDir string
}

// Blob is an outbox.Destination that writes block blobs into a container
// of an Azure storage account. Its methods are safe for concurrent use.
type Blob struct {
	cfg    Config
	key    keyTemplate
	cred   *credential
	client *container.Client
	name   string // azblob://account/container/prefix, for String
	now    func() time.Time
}

var (
	_ outbox.Destination = (*Blob)(nil)
	_ outbox.MetaPutter  = (*Blob)(nil)
)

// New checks cfg, reads the credential's secret and returns a
// destination. It does no request to the account, so an account that is
// unreachable fails the first Put, not New. Errors name the field to fix
// and never show a secret.
func New(ctx context.Context, cfg Config) (*Blob, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	kt, err := parseKeyTemplate(cfg.KeyTemplate)
	if err != nil {
		return nil, err
	}
	hc, err := httpClient(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	cr, err := cfg.loadCredential(hc)
	if err != nil {
		return nil, err
	}
	opts := clientOptions(hc, cfg.MaxAttempts)
	opts.Audience = cfg.Audience
	client, err := cr.containerClient(cfg.Container, opts)
	if err != nil {
		return nil, errors.New(redact(err.Error(), cr.secrets))
	}
	name := "azblob://" + cr.account + "/" + cfg.Container
	if p := strings.TrimSuffix(cfg.Prefix, "/"); p != "" {
		name += "/" + p
	}
	return &Blob{cfg: cfg, key: kt, cred: cr, client: client, name: name, now: time.Now}, nil
}

// httpClient returns the client requests go through: a dial timeout, a
// bound on waiting for an answer, and caFile's authorities trusted.
func httpClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	// An account that accepts a request and never answers must not hang
	// a job forever; 2 minutes leaves room for a slow Put Block List.
	tr.ResponseHeaderTimeout = 2 * time.Minute
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("azblob: CAFile: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("azblob: CAFile %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// normalize validates c and fills in the defaults.
func (c *Config) normalize() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("azblob: %s: %s", field, fmt.Sprintf(format, args...))
	}
	if c.Container == "" {
		return bad("Container", "is empty; name the container to write to")
	}
	if err := checkContainer(c.Container); err != nil {
		return bad("Container", "%v", err)
	}
	c.Prefix = strings.TrimLeft(c.Prefix, "/")
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if strings.Contains(c.Prefix, "//") {
		return bad("Prefix", "%q contains an empty folder (\"//\"); remove the extra slash", c.Prefix)
	}
	if c.Prefix != "" {
		if err := checkKey(c.Prefix + "x"); err != nil {
			return bad("Prefix", "%v", err)
		}
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			return bad("Endpoint", "%v", err)
		}
	}
	if c.Audience != "" {
		if c.Credential != CredentialEntra {
			return bad("Audience", "is for credential %s only; leave it out", CredentialEntra)
		}
		if err := checkEndpoint(c.Audience); err != nil {
			return bad("Audience", "%v", err)
		}
	}
	switch c.Overwrite {
	case "":
		c.Overwrite = OverwriteFail
	case OverwriteFail, OverwriteRename, OverwriteReplace:
	default:
		return bad("Overwrite", "%q is not known; use %s, %s or %s", c.Overwrite, OverwriteFail, OverwriteRename, OverwriteReplace)
	}
	switch c.AccessTier {
	case "", "Hot", "Cool", "Cold", "Archive":
	default:
		return bad("AccessTier", "%q is not a tier; use Hot, Cool, Cold or Archive", c.AccessTier)
	}
	switch {
	case c.BlockSize == 0:
		c.BlockSize = DefaultBlockSize
	case c.BlockSize < minBlockSize || c.BlockSize > maxBlockSize:
		return bad("BlockSize", "%d bytes is outside 64 KiB to 4000 MiB", c.BlockSize)
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

// String returns "azblob://account/container/prefix". It never contains
// credentials.
func (d *Blob) String() string { return d.name }

// Put stores size bytes from r under the blob name made from name; see
// PutMeta.
func (d *Blob) Put(ctx context.Context, name string, r io.Reader, size int64) (string, error) {
	return d.PutMeta(ctx, name, r, size, nil)
}

// PutMeta stores size bytes from r as a block blob named by the key
// template, with meta as blob metadata, and returns the blob's URL. A
// negative size means unknown; otherwise r must yield exactly size bytes.
// name is a base name: no "/", not "." or "..".
//
// Metadata keys are letters, digits, '-' and '_' (lowercased, '-' stored
// as '_'); values are printable ASCII; together at most 8 KiB. "mode" is
// ignored. PutMeta sets MetaSHA256 to the content's sha256; if meta has
// it already, the content must match, else nothing is committed.
//
// When the name holds a blob with the same sha256 and size, PutMeta
// succeeds without uploading (an idempotent retry); other content is
// decided by Config.Overwrite. Failures are *Error values;
// outbox.IsTransient tells whether to try again later.
func (d *Blob) PutMeta(ctx context.Context, name string, r io.Reader, size int64, meta map[string]string) (string, error) {
	md, err := checkMeta(meta)
	if err != nil {
		return "", d.fail("put", name, "", err)
	}
	if err := checkName(name); err != nil {
		return "", d.fail("put", name, "", err)
	}
	r = outbox.ContextReader{Ctx: ctx, R: r}
	var cleanup func()
	defer func() {
		if cleanup != nil {
			cleanup()
		}
	}()
	for i := 1; i <= maxRenames; i++ {
		base := name
		if i > 1 {
			base = numbered(name, i)
		}
		key, err := d.key.expand(d.cfg.Prefix, base, md[MetaJob], md[MetaDate], d.now)
		if err != nil {
			return "", d.fail("put", name, "", err)
		}
		if err := ctx.Err(); err != nil {
			return "", d.fail("put", name, key, err)
		}
		bb := d.client.NewBlockBlobClient(key)
		st, err := d.stat(ctx, bb)
		if err != nil {
			return "", d.fail("put", name, key, err)
		}
		if st != nil {
			// The name is taken: compare before anything goes up.
			if md[MetaSHA256] == "" {
				var body io.Reader
				md[MetaSHA256], size, body, cleanup, err = d.hashFirst(r, size)
				if err != nil {
					return "", d.fail("put", name, key, err)
				}
				r = body
			}
			if st.same(md[MetaSHA256], size) {
				return d.location(key), nil
			}
			switch d.cfg.Overwrite {
			case OverwriteRename:
				continue
			case OverwriteFail:
				return "", d.fail("put", name, key, st.exists(md[MetaSHA256]))
			}
		}
		// Free (or to be replaced): upload, on condition that nobody
		// stored the name meanwhile (or changed the blob to be replaced).
		cond := &blob.ModifiedAccessConditions{IfNoneMatch: ptr(azcore.ETagAny)}
		if st != nil {
			cond = &blob.ModifiedAccessConditions{IfMatch: ptr(st.etag)}
		}
		sum, err := d.upload(ctx, bb, name, r, size, md, cond)
		if err == nil {
			return d.location(key), nil
		}
		// A block list that no longer holds (another upload to the name
		// committed first, which drops this one's blocks) is a lost race
		// too, if the service says so rather than that the condition
		// failed.
		if !isConditionLost(err) && !bloberror.HasCode(err, bloberror.InvalidBlockList) || sum == "" {
			return "", d.fail("put", name, key, err)
		}
		// Someone stored the name first: most likely an earlier attempt
		// of this very put whose answer got lost.
		now, serr := d.stat(ctx, bb)
		switch {
		case serr != nil:
			return "", d.fail("put", name, key, serr)
		case now == nil:
			return "", d.fail("put", name, key, err)
		case now.same(sum, size):
			return d.location(key), nil
		case d.cfg.Overwrite == OverwriteFail:
			return "", d.fail("put", name, key, now.exists(sum))
		default:
			// Renamed or replaced meanwhile, and r is read: the next
			// attempt of the job finds out where this result goes.
			return "", d.fail("put", name, key, &lostRaceError{key: key})
		}
	}
	return "", d.fail("put", name, "", fmt.Errorf("%q and %d numbered names hold other results", name, maxRenames-1))
}

func ptr[T any](v T) *T { return &v }

// stored is what a blob holds, as far as Put needs to know.
type stored struct {
	sha256 string
	size   int64
	etag   azcore.ETag
}

func (s *stored) same(sum string, size int64) bool {
	return s.sha256 == sum && (size < 0 || s.size == size)
}

// exists returns the error for a name that holds other content.
func (s *stored) exists(sum string) error {
	have := s.sha256
	if have == "" {
		have = "none recorded"
	}
	return fmt.Errorf("%w (stored: %d bytes, sha256 %s; this result: sha256 %s); "+
		"delete or rename the stored blob if it is wrong, add {job} or {date} to the key template, or set overwrite: rename",
		outbox.ErrExists, s.size, have, sum)
}

// stat returns what bb holds, or nil when there is no such blob.
func (d *Blob) stat(ctx context.Context, bb *blockblob.Client) (*stored, error) {
	p, err := bb.GetProperties(ctx, nil)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, noURL(err)
	}
	s := &stored{}
	for k, v := range p.Metadata {
		if strings.EqualFold(k, MetaSHA256) && v != nil {
			s.sha256 = strings.ToLower(*v)
		}
	}
	if p.ContentLength != nil {
		s.size = *p.ContentLength
	}
	if p.ETag != nil {
		s.etag = *p.ETag
	}
	return s, nil
}

// upload streams r to bb: in one Put Blob when it fits in a block, else
// staged in blocks and committed. It returns the content's sha256 once
// all of r was read, also when the upload then failed.
func (d *Blob) upload(ctx context.Context, bb *blockblob.Client, name string, r io.Reader, size int64,
	md map[string]string, cond *blob.ModifiedAccessConditions) (string, error) {
	blockSize := d.cfg.BlockSize
	if size > 0 && size/blockSize >= maxBlocks {
		blockSize = size/maxBlocks + 1
	}
	hr := newHashReader(r, size, md[MetaSHA256])
	headers := &blob.HTTPHeaders{BlobContentType: ptr(contentType(name))}
	var tier *blob.AccessTier
	if d.cfg.AccessTier != "" {
		tier = ptr(blob.AccessTier(d.cfg.AccessTier))
	}
	meta := func(sum string) map[string]*string {
		m := make(map[string]*string, len(md)+1)
		for k, v := range md {
			m[azureMetaName(k)] = ptr(v)
		}
		m[azureMetaName(MetaSHA256)] = ptr(sum)
		return m
	}

	// A buffer one byte larger than a known size finds out whether the
	// content is longer than announced.
	first := make([]byte, blockSize)
	if size >= 0 && size < blockSize {
		first = make([]byte, size+1)
	}
	n, err := io.ReadFull(hr, first)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		// The whole result is in first: one request.
		body := first[:n]
		sum := hr.sum()
		headers.BlobContentMD5 = hr.md5Sum()
		_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(body)), &blockblob.UploadOptions{
			Metadata:                meta(sum),
			HTTPHeaders:             headers,
			Tier:                    tier,
			TransactionalValidation: blob.TransferValidationTypeMD5(headers.BlobContentMD5),
			AccessConditions:        &blob.AccessConditions{ModifiedAccessConditions: cond},
		})
		return sum, noURL(err)
	case err != nil:
		return "", err
	}
	ids, err := d.stage(ctx, bb, hr, first[:n], blockSize)
	if err != nil {
		return "", err
	}
	sum := hr.sum()
	headers.BlobContentMD5 = hr.md5Sum()
	_, err = bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		Metadata:         meta(sum),
		HTTPHeaders:      headers,
		Tier:             tier,
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond},
	})
	return sum, noURL(err)
}

// stage uploads first and the rest of hr as blocks, at most
// Config.Concurrency at once, and returns their ids in order. It returns
// once every block is staged or the first error (of the reader or of a
// block) has stopped the others.
func (d *Blob) stage(ctx context.Context, bb *blockblob.Client, hr *hashReader, first []byte, blockSize int64) ([]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var prefix [12]byte
	_, _ = rand.Read(prefix[:])
	// Block ids are of one length per blob, and random per upload, so
	// that two uploads to one name never mix their blocks.
	blockID := func(i int) string {
		return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "erpipe-%x-%06d", prefix, i))
	}
	// Concurrency+1 buffers go round: one being filled from hr, the
	// others being staged. A buffer is allocated when first needed.
	free := make(chan []byte, d.cfg.Concurrency+1)
	for range d.cfg.Concurrency {
		free <- nil
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		err error
		ids []string
	)
	setErr := func(e error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			err = e
			cancel(e)
		}
	}
	buf, n := first, len(first)
	for i := 0; n > 0; i++ {
		if i >= maxBlocks {
			setErr(&readError{fmt.Errorf("the result is larger than %d blocks of %d bytes; raise block_size", maxBlocks, blockSize)})
			break
		}
		id := blockID(i)
		ids = append(ids, id)
		block := buf[:n]
		wg.Go(func() {
			defer func() { free <- block[:cap(block)] }()
			_, e := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(block)), &blockblob.StageBlockOptions{
				TransactionalValidation: blob.TransferValidationTypeMD5(md5Of(block)),
			})
			if e != nil {
				setErr(noURL(e))
			}
		})
		// The next block, into a free buffer.
		select {
		case buf = <-free:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if buf == nil {
			buf = make([]byte, blockSize)
		}
		var rerr error
		n, rerr = io.ReadFull(hr, buf[:blockSize])
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			setErr(rerr)
			break
		}
	}
	wg.Wait()
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// hashFirst computes the sha256 of r before the upload. It returns the
// hash, the size, and a reader that yields the same content again;
// cleanup releases that reader.
func (d *Blob) hashFirst(r io.Reader, size int64) (sum string, n int64, body io.Reader, cleanup func(), err error) {
	if cr, ok := r.(outbox.ContextReader); ok {
		if s, ok := cr.R.(io.Seeker); ok {
			if start, err := s.Seek(0, io.SeekCurrent); err == nil {
				hr := newHashReader(r, size, "")
				if _, err := io.Copy(io.Discard, hr); err != nil {
					return "", 0, nil, nil, err
				}
				if _, err := s.Seek(start, io.SeekStart); err != nil {
					return "", 0, nil, nil, &readError{fmt.Errorf("rewinding after hashing: %w", err)}
				}
				return hr.sum(), hr.n, r, func() {}, nil
			}
			// Not actually seekable (a pipe behind an *os.File): spool.
		}
	}
	f, err := os.CreateTemp(d.cfg.SpoolDir, "erpipe-azblob-spool-*")
	if err != nil {
		return "", 0, nil, nil, fmt.Errorf("creating a spool file for a result that cannot be read twice: %w", err)
	}
	cleanup = func() {
		f.Close()
		os.Remove(f.Name())
	}
	hr := newHashReader(io.TeeReader(r, spoolWriter{f}), size, "")
	_, err = io.Copy(io.Discard, hr)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return "", 0, nil, nil, err
	}
	return hr.sum(), hr.n, f, cleanup, nil
}

// location returns the blob's URL (without any SAS token).
func (d *Blob) location(key string) string {
	var b strings.Builder
	b.WriteString(d.cred.endpoint)
	b.WriteString("/")
	b.WriteString(url.PathEscape(d.cfg.Container))
	for seg := range strings.SplitSeq(key, "/") {
		b.WriteString("/")
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}

// fail wraps err into an *Error for the operation on name/key.
func (d *Blob) fail(op, name, key string, err error) error {
	var re *readError
	var se *spoolError
	if errors.As(err, &re) {
		err = re
	} else if errors.As(err, &se) {
		err = se
	}
	e := &Error{Op: op, Name: name, Err: err, Transient: classify(err), hint: d.hint(err), redact: d.cred.redact}
	if key != "" {
		e.Location = d.location(key)
	} else {
		e.Location = d.name
	}
	return e
}

// contentTypes are the types of the files erpipe makes; they come before
// the system's MIME table, which differs between machines.
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

// azureMetaName is the name Azure stores metadata key k under: metadata
// names are C# identifiers, so '-' becomes '_'.
func azureMetaName(k string) string { return strings.ReplaceAll(k, "-", "_") }

// checkMeta validates and copies meta, lowercasing the keys and leaving
// out "mode" (object stores have no file modes).
func checkMeta(meta map[string]string) (map[string]string, error) {
	md := make(map[string]string, len(meta)+1)
	seen := map[string]string{}
	total := 0
	for k, v := range meta {
		lk := strings.ToLower(k)
		if lk == outbox.MetaMode {
			continue
		}
		if lk == "" {
			return nil, errors.New("metadata: empty key")
		}
		for i, r := range lk {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9' || i == 0) && r != '-' && r != '_' {
				return nil, fmt.Errorf("metadata key %q: use only letters, digits, '-' and '_', starting with a letter", k)
			}
		}
		for _, r := range v {
			if r < 0x20 || r > 0x7e {
				return nil, fmt.Errorf("metadata %q: value %q has a character that is not printable ASCII", k, v)
			}
		}
		if other, dup := seen[azureMetaName(lk)]; dup {
			return nil, fmt.Errorf("metadata keys %q and %q are the same to Azure (case and '-' or '_' do not count)", other, k)
		}
		seen[azureMetaName(lk)] = k
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
		return nil, fmt.Errorf("metadata is %d bytes; Azure allows %d", total, maxMetaLen)
	}
	return md, nil
}
