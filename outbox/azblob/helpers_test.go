package azblob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/erpipe/erpipe/internal/azuritetest"
	"github.com/erpipe/erpipe/outbox/azblob"
)

var prefixSeq atomic.Int64

// config returns a shared-key Config for srv under a prefix no other test
// uses. The key goes through the environment, as operators give it.
func config(t *testing.T, srv *server) azblob.Config {
	t.Helper()
	t.Setenv(azblob.EnvKey, azuritetest.Key)
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "-")
	return azblob.Config{
		Account:     azuritetest.Account,
		Container:   testContainer,
		Prefix:      fmt.Sprintf("%s-%d", name, prefixSeq.Add(1)),
		Endpoint:    srv.Endpoint,
		CAFile:      srv.CAFile,
		Credential:  azblob.CredentialSharedKey,
		MaxAttempts: 3,
		BlockSize:   1 << 20,
		Concurrency: 2,
	}
}

func newDest(t testing.TB, cfg azblob.Config) *azblob.Blob {
	t.Helper()
	d, err := azblob.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// sasToken returns a SAS token for the test container with permissions
// perms, valid for the next hour (or expired an hour ago).
func sasToken(t testing.TB, perms sas.ContainerPermissions, expired bool) string {
	t.Helper()
	now := time.Now().UTC()
	v := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     now.Add(-time.Hour),
		ExpiryTime:    now.Add(time.Hour),
		Permissions:   perms.String(),
		ContainerName: testContainer,
	}
	if expired {
		v.StartTime, v.ExpiryTime = now.Add(-3*time.Hour), now.Add(-time.Hour)
	}
	q, err := v.SignWithSharedKey(azuritetest.SharedKey())
	if err != nil {
		t.Fatal(err)
	}
	return q.Encode()
}

func containerClient(t testing.TB, srv *server) *container.Client {
	t.Helper()
	c, err := srv.Container(testContainer)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// object is what the server holds under a blob name.
type object struct {
	data        []byte
	contentType string
	md5         []byte
	meta        map[string]string // names lowercased
}

// get reads the blob at loc, a URL Put returned.
func get(t testing.TB, srv *server, loc string) (object, bool) {
	t.Helper()
	key := keyOf(t, srv, loc)
	c := containerClient(t, srv).NewBlobClient(key)
	resp, err := c.DownloadStream(t.Context(), nil)
	if err != nil {
		if bloberror.HasCode(err, bloberror.BlobNotFound) {
			return object{}, false
		}
		t.Fatalf("download %s: %v", key, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	o := object{data: data, meta: map[string]string{}}
	if resp.ContentType != nil {
		o.contentType = *resp.ContentType
	}
	o.md5 = resp.ContentMD5
	for k, v := range resp.Metadata {
		if v != nil {
			o.meta[strings.ToLower(k)] = *v
		}
	}
	return o, true
}

// keyOf returns the blob name of a location URL on srv.
func keyOf(t testing.TB, srv *server, loc string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(loc, srv.Endpoint+"/"+testContainer+"/")
	if !ok {
		t.Fatalf("location %q is not in %s/%s/", loc, srv.Endpoint, testContainer)
	}
	key, err := url.PathUnescape(rest)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return key
}

// listNames returns the committed blobs under d's prefix, relative to it.
func listNames(t testing.TB, srv *server, d *azblob.Blob) []string {
	t.Helper()
	prefix := strings.TrimPrefix(d.String(), "azblob://"+azuritetest.Account+"/"+testContainer+"/") + "/"
	return listUnder(t, srv, prefix)
}

func listUnder(t testing.TB, srv *server, prefix string) []string {
	t.Helper()
	var names []string
	p := containerClient(t, srv).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for p.More() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, strings.TrimPrefix(*b.Name, prefix))
		}
	}
	return names
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
