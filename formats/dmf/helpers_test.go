package dmf_test

import (
	"archive/zip"
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/formats/dmf"
	"golang.org/x/text/encoding/unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedTime makes packages reproducible in tests.
var fixedTime = time.Date(2024, 5, 31, 12, 0, 0, 0, time.UTC)

// writePackage writes a package into a file in t.TempDir and returns its
// path. rows[i] are the rows of entity i.
func writePackage(t testing.TB, opts dmf.Options, entities []dmf.Entity, rows [][][]string) string {
	t.Helper()
	if opts.Modified.IsZero() {
		opts.Modified = fixedTime
	}
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	path := filepath.Join(t.TempDir(), "package.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := dmf.NewWriter(f, opts, entities)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	// Interleave the entities' rows, as a transform does.
	for r := 0; ; r++ {
		more := false
		for i := range rows {
			if r < len(rows[i]) {
				more = true
				if err := w.Write(i, rows[i][r]); err != nil {
					t.Fatalf("Write(%d, %q): %v", i, rows[i][r], err)
				}
			}
		}
		if !more {
			break
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// zipEntries returns the entries of the zip at path, in order, with their
// content.
func zipEntries(t testing.TB, path string) ([]*zip.File, map[string][]byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zr.Close() })
	data := make(map[string][]byte)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		data[f.Name] = b
	}
	return zr.File, data
}

// buildZip writes a zip of the given entries (name, content pairs, in
// order) into t.TempDir and returns its path.
func buildZip(t testing.TB, entries ...string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(entries); i += 2 {
		w, err := zw.Create(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, entries[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "built.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fromUTF16 decodes UTF-16 (byte order mark required) for diffs.
func fromUTF16(t testing.TB, b []byte) string {
	t.Helper()
	s, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
	if err != nil {
		t.Fatalf("not UTF-16 with BOM: %v", err)
	}
	return string(s)
}

func toUTF16LE(s string) string {
	b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

func toUTF16BE(s string, bom bool) string {
	policy := unicode.IgnoreBOM
	if bom {
		policy = unicode.UseBOM
	}
	b, err := unicode.UTF16(unicode.BigEndian, policy).NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

// checkGolden compares got with testdata/name; with -update it rewrites the
// file. Files ending in .utf16 are shown decoded in the failure message.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := string(got), string(want)
	if strings.HasSuffix(name, ".utf16") {
		g, w = fromUTF16(t, got), fromUTF16(t, want)
	}
	t.Errorf("%s differs (go test -update rewrites it)\n got: %s\nwant: %s\nfirst difference at character %d", path, g, w, firstDiff(g, w))
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
