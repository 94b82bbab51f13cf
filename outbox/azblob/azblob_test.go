package azblob_test

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/erpipe/erpipe/internal/azuritetest"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/azblob"
)

// TestPutMetadata: the blob has the content, its sha256 and the caller's
// metadata (with '-' as '_'), its MD5 as Content-MD5, a Content-Type from
// the name, and the location is its URL; "mode" is not stored.
func TestPutMetadata(t *testing.T) {
	needServers(t)
	for _, size := range []int64{26, 3<<20 + 17} { // one request; staged in blocks of 1 MiB
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			srv := servers[0]
			cfg := config(t, srv)
			cfg.AccessTier = "Cool"
			d := newDest(t, cfg)
			content, _ := io.ReadAll(gen(7, size))
			meta := map[string]string{outbox.MetaJob: "20260101-120000-abcdef", outbox.MetaTemplate: "customers-v3 1.2.0",
				outbox.MetaInputSHA256: sumBytes([]byte("input")), outbox.MetaDate: "2026-01-01", outbox.MetaMode: "0600"}
			loc, err := d.PutMeta(t.Context(), "customers.csv", gen(7, size), size, meta)
			if err != nil {
				t.Fatalf("PutMeta: %v", err)
			}
			if want := srv.Endpoint + "/" + testContainer + "/" + cfg.Prefix + "/customers.csv"; loc != want {
				t.Errorf("location = %q, want %q", loc, want)
			}
			o, ok := get(t, srv, loc)
			if !ok {
				t.Fatalf("%s not stored", loc)
			}
			if !bytes.Equal(o.data, content) {
				t.Fatalf("stored %d bytes, not the %d put", len(o.data), len(content))
			}
			want := map[string]string{"sha256": sumBytes(content), "job": "20260101-120000-abcdef",
				"template": "customers-v3 1.2.0", "input_sha256": sumBytes([]byte("input")), "date": "2026-01-01"}
			for k, v := range want {
				if o.meta[k] != v {
					t.Errorf("metadata %s = %q, want %q", k, o.meta[k], v)
				}
			}
			if len(o.meta) != len(want) {
				t.Errorf("metadata %q, want exactly %q", o.meta, want)
			}
			if sum := md5.Sum(content); !bytes.Equal(o.md5, sum[:]) {
				t.Errorf("Content-MD5 = %x, want %x", o.md5, sum)
			}
			if o.contentType != "text/csv" {
				t.Errorf("Content-Type = %q, want text/csv", o.contentType)
			}
			bl, err := containerClient(t, srv).NewBlockBlobClient(keyOf(t, srv, loc)).GetBlockList(t.Context(), blockblob.BlockListTypeAll, nil)
			if err != nil {
				t.Fatal(err)
			}
			if wantBlocks := (size + 1<<20 - 1) >> 20; size > 1<<20 && int64(len(bl.CommittedBlocks)) != wantBlocks {
				t.Errorf("%d committed blocks, want %d", len(bl.CommittedBlocks), wantBlocks)
			}
			if len(bl.UncommittedBlocks) != 0 {
				t.Errorf("%d uncommitted blocks left", len(bl.UncommittedBlocks))
			}
		})
	}
}

// TestChecksumMismatch: content that does not match the sha256 the caller
// announces is never committed, small or staged.
func TestChecksumMismatch(t *testing.T) {
	needServers(t)
	for _, size := range []int64{100, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			d := newDest(t, config(t, servers[0]))
			_, err := d.PutMeta(t.Context(), "x.zip", gen(1, size), size, map[string]string{outbox.MetaSHA256: sumOf(gen(2, size))})
			if !errors.Is(err, azblob.ErrChecksum) {
				t.Fatalf("PutMeta = %v, want ErrChecksum", err)
			}
			if outbox.IsTransient(err) {
				t.Errorf("IsTransient(%v) = true; the result changed, trying again later would not help", err)
			}
			if got := listNames(t, servers[0], d); len(got) != 0 {
				t.Errorf("stored %q", got)
			}
		})
	}
}

// TestOverwrite: what each policy does with other content under a taken
// name, and that the same content is always found where it is.
func TestOverwrite(t *testing.T) {
	needServers(t)
	a, b, c := []byte("first result"), []byte("second result"), []byte("third result")
	for _, tc := range []struct {
		policy string
		want   map[string][]byte // what is stored at the end, by name
	}{
		{azblob.OverwriteFail, map[string][]byte{"package.zip": a}},
		{azblob.OverwriteRename, map[string][]byte{"package.zip": a, "package (2).zip": b, "package (3).zip": c}},
		{azblob.OverwriteReplace, map[string][]byte{"package.zip": c}},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			srv := servers[0]
			cfg := config(t, srv)
			cfg.Overwrite = tc.policy
			d := newDest(t, cfg)
			var locs []string
			for _, content := range [][]byte{a, b, a, c, c} {
				// Unseekable readers without a sha256: a taken name makes
				// Put spool the result to compare it.
				loc, err := d.Put(t.Context(), "package.zip", io.MultiReader(bytes.NewReader(content)), -1)
				switch {
				case tc.policy == azblob.OverwriteFail && !bytes.Equal(content, a):
					if !errors.Is(err, outbox.ErrExists) || outbox.IsTransient(err) {
						t.Fatalf("Put of other content: %v, want a permanent ErrExists", err)
					}
					if !strings.Contains(err.Error(), "overwrite: rename") {
						t.Errorf("error %q does not say what to do", err)
					}
				case err != nil:
					t.Fatalf("Put %q: %v", content, err)
				}
				locs = append(locs, loc)
			}
			if tc.policy == azblob.OverwriteRename {
				if locs[0] != locs[2] || locs[3] != locs[4] || !strings.HasSuffix(locs[1], "/package%20%282%29.zip") {
					t.Errorf("locations %q: the same content must land where it landed before", locs)
				}
			}
			got := listNames(t, srv, d)
			slices.Sort(got)
			var names []string
			for n, content := range tc.want {
				names = append(names, n)
				o, _ := get(t, srv, srv.Endpoint+"/"+testContainer+"/"+cfg.Prefix+"/"+strings.ReplaceAll(strings.ReplaceAll(n, " ", "%20"), "(", "%28"))
				if !bytes.Equal(o.data, content) {
					t.Errorf("%s holds %q, want %q", n, o.data, content)
				}
			}
			slices.Sort(names)
			if !slices.Equal(got, names) {
				t.Errorf("stored %q, want %q", got, names)
			}
		})
	}
}

// TestKeyTemplate: {date} and {job} come from the metadata.
func TestKeyTemplate(t *testing.T) {
	needServers(t)
	srv := servers[0]
	cfg := config(t, srv)
	cfg.KeyTemplate = "{prefix}{date}/{job}-{name}"
	d := newDest(t, cfg)
	loc, err := d.PutMeta(t.Context(), "report.xml", strings.NewReader("<r/>"), 4, map[string]string{"job": "j-1", "date": "2026-03-31"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keyOf(t, srv, loc); got != cfg.Prefix+"/2026-03-31/j-1-report.xml" {
		t.Errorf("blob name %q", got)
	}
	if _, err := d.Put(t.Context(), "report.xml", strings.NewReader("<r/>"), 4); err == nil || !strings.Contains(err.Error(), "no job id") {
		t.Errorf("Put without a job id for {job}: %v", err)
	}
}

// TestSecretFile: a SAS token in a file (a mounted secret) works as well
// as one in the environment.
func TestSecretFile(t *testing.T) {
	needServers(t)
	srv := servers[0]
	cfg := config(t, srv)
	file := filepath.Join(t.TempDir(), "sas")
	if err := os.WriteFile(file, []byte(sasToken(t, sas.ContainerPermissions{Read: true, Create: true, Write: true}, false)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Credential, cfg.SecretFile = azblob.CredentialSAS, file
	d := newDest(t, cfg)
	loc, err := d.Put(t.Context(), "a.csv", strings.NewReader("a"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, "sig=") || strings.Contains(loc, "?") {
		t.Errorf("location %q carries the SAS token", loc)
	}
}

// TestRefused: credentials the account refuses, a missing container, a
// SAS that expired or may not write: each is permanent, with a message
// that says what to check, and no secret in it.
func TestRefused(t *testing.T) {
	needServers(t)
	const wrongKey = "V1JPTkcta2V5LW11c3QtbmV2ZXItYmUtcHJpbnRlZC00Mi0wMTIzNDU2Nzg5YWI="
	for _, tc := range []struct {
		name    string
		cfg     func(t *testing.T, cfg *azblob.Config)
		secrets func(t *testing.T) []string
		want    string
	}{
		{"wrong key", func(t *testing.T, cfg *azblob.Config) { t.Setenv(azblob.EnvKey, wrongKey) },
			func(*testing.T) []string { return []string{wrongKey, azuritetest.Key} },
			"refused the access key in $AZURE_STORAGE_KEY"},
		{"no container", func(t *testing.T, cfg *azblob.Config) { cfg.Container = "no-such-container" },
			func(*testing.T) []string { return []string{azuritetest.Key} },
			`container "no-such-container" does not exist in storage account "erpipetest"`},
		{"expired sas", func(t *testing.T, cfg *azblob.Config) {
			cfg.Credential = azblob.CredentialSAS
			t.Setenv(azblob.EnvSAS, sasToken(t, sas.ContainerPermissions{Read: true, Create: true, Write: true}, true))
		}, func(t *testing.T) []string { return sigs(os.Getenv(azblob.EnvSAS)) }, "has not expired"},
		{"read-only sas", func(t *testing.T, cfg *azblob.Config) {
			cfg.Credential = azblob.CredentialSAS
			t.Setenv(azblob.EnvSAS, sasToken(t, sas.ContainerPermissions{Read: true}, false))
		}, func(t *testing.T) []string { return sigs(os.Getenv(azblob.EnvSAS)) }, "sp=rcw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(t, servers[0])
			tc.cfg(t, &cfg)
			d := newDest(t, cfg)
			start := time.Now()
			_, err := d.Put(t.Context(), "refused.csv", strings.NewReader("x"), 1)
			if err == nil {
				t.Fatal("Put succeeded")
			}
			if outbox.IsTransient(err) {
				t.Errorf("IsTransient(%v) = true; this needs a person", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v: a refusal is not retried", took)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			for _, s := range tc.secrets(t) {
				if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), s) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

// sigs returns the secret parts of a SAS token.
func sigs(token string) []string {
	_, sig, _ := strings.Cut(token, "sig=")
	sig, _, _ = strings.Cut(sig, "&")
	return []string{token, sig}
}

// TestAccountDown: an account that cannot be reached is transient, also
// when it goes away in the middle of a staged upload, and the error names
// it without the SAS token; once it is back the same put succeeds.
func TestAccountDown(t *testing.T) {
	needServers(t)
	srv := azuritetest.New(t, azuritetest.Options{Containers: []string{testContainer}})
	cfg := config(t, srv)
	cfg.Credential, cfg.MaxAttempts = azblob.CredentialSAS, 2
	token := sasToken(t, sas.ContainerPermissions{Read: true, Create: true, Write: true}, false)
	t.Setenv(azblob.EnvSAS, token)
	d := newDest(t, cfg)
	const size = 6 << 20

	// Down in the middle: the reader stops the server half-way.
	stopped := false
	r := &hookReader{r: gen(3, size), at: size / 2, hook: func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
		stopped = true
	}}
	_, err := d.Put(t.Context(), "big.zip", r, size)
	if !stopped || err == nil || !outbox.IsTransient(err) {
		t.Fatalf("Put while the account went away: %v (stopped %v), want a transient error", err, stopped)
	}
	// Down from the start.
	_, err = d.Put(t.Context(), "big.zip", gen(3, size), size)
	if err == nil || !outbox.IsTransient(err) {
		t.Fatalf("Put while the account is down: %v, want a transient error", err)
	}
	for _, s := range sigs(token) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows the SAS token: %v", err)
		}
	}
	if !strings.Contains(err.Error(), "cannot reach the storage account at "+srv.Endpoint) {
		t.Errorf("error %q does not say the account cannot be reached", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	loc, err := d.Put(t.Context(), "big.zip", gen(3, size), size)
	if err != nil {
		t.Fatalf("Put once the account is back: %v", err)
	}
	if o, _ := get(t, srv, loc); sumBytes(o.data) != sumOf(gen(3, size)) {
		t.Error("stored content differs")
	}
}

// hookReader calls hook once, when at bytes of r have been read.
type hookReader struct {
	r    io.Reader
	n    int64
	at   int64
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.hook != nil && h.n >= h.at {
		h.hook()
		h.hook = nil
	}
	if h.hook != nil && int64(len(p)) > h.at-h.n {
		p = p[:h.at-h.n]
	}
	n, err := h.r.Read(p)
	h.n += int64(n)
	return n, err
}

// TestRacingPuts: puts of one name at the same time, staged in blocks,
// never mix their blocks. With the same content all succeed and one blob
// is stored; with other content one wins and the others fail with
// ErrExists (or are to be tried again), and the blob is the winner's.
func TestRacingPuts(t *testing.T) {
	needServers(t)
	const size, n = 3 << 20, 4
	for _, same := range []bool{true, false} {
		t.Run(fmt.Sprintf("same=%v", same), func(t *testing.T) {
			srv := servers[0]
			d := newDest(t, config(t, srv))
			errs := make([]error, n)
			locs := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				seed := uint64(1)
				if !same {
					seed = uint64(i + 1)
				}
				wg.Go(func() { locs[i], errs[i] = d.Put(t.Context(), "race.zip", gen(seed, size), size) })
			}
			wg.Wait()
			winners := 0
			var winner int
			for i, err := range errs {
				switch {
				case err == nil:
					winners++
					winner = i
				case same || !errors.Is(err, outbox.ErrExists) && !outbox.IsTransient(err):
					t.Errorf("Put %d: %v", i, err)
				}
			}
			if same && winners != n || !same && winners != 1 {
				t.Fatalf("%d puts succeeded (errors %v)", winners, errs)
			}
			seed := uint64(1)
			if !same {
				seed = uint64(winner + 1)
			}
			if o, _ := get(t, srv, locs[winner]); sumBytes(o.data) != sumOf(gen(seed, size)) {
				t.Error("the stored blob is not the content of a put that succeeded")
			}
			if got := listNames(t, srv, d); len(got) != 1 {
				t.Errorf("stored %q", got)
			}
		})
	}
}
