package templates

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/unicode"

	"github.com/erpipe/erpipe/transform"
)

// TestGolden runs every built-in template on each of its cases and compares
// what it makes with the files under testdata/, the way a finance user
// reviews a change: `go test ./templates -update` rewrites them, and git
// diff shows what changed.
//
// The cases of template T are its samples (T/samples/*) and the folders
// T/testdata/cases/<case>/ holding one input.* file. What a case makes is
// kept in T/testdata/golden/<case>/: one file per output (a zip's entries
// as <zip>/<entry>, UTF-16 text as UTF-8), plus result.txt with the counts
// and every rejected row and warning, or the file-level error.
func TestGolden(t *testing.T) {
	for _, name := range Names() {
		tmpl, err := Load(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for caseName, input := range goldenCases(t, name) {
			t.Run(name+"/"+caseName, func(t *testing.T) {
				got := map[string][]byte{}
				out := t.TempDir()
				res, err := tmpl.Run(context.Background(), input, out)
				var summary strings.Builder
				if err != nil {
					summary.WriteString("error: " + err.Error() + "\n")
				} else {
					summary.WriteString(resultText(res))
					for _, p := range res.Outputs {
						for k, v := range outputFiles(t, p) {
							got[k] = v
						}
					}
				}
				got["result.txt"] = []byte(summary.String())
				compareGolden(t, filepath.Join(name, "testdata", "golden", caseName), got)
			})
		}
	}
}

// goldenCases maps case names to input files on disk.
func goldenCases(t *testing.T, name string) map[string]string {
	cases := map[string]string{}
	for _, s := range Samples(name) {
		cases["sample-"+path.Base(s)] = filepath.FromSlash(s)
	}
	dirs, _ := os.ReadDir(filepath.Join(name, "testdata", "cases"))
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(name, "testdata", "cases", d.Name(), "input.*"))
		if len(matches) != 1 {
			t.Errorf("%s/testdata/cases/%s: want exactly one input.* file, found %d", name, d.Name(), len(matches))
			continue
		}
		cases[d.Name()] = matches[0]
	}
	return cases
}

// resultText renders the counts, rejected rows and warnings of a run.
func resultText(res *transform.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "read %d, written %d, rejected %d, skipped %d\n", res.Read, res.Written, res.Rejected, res.Skipped)
	for _, e := range res.Errors {
		b.WriteString("rejected: " + e.Error() + "\n")
	}
	for _, e := range res.Warnings {
		b.WriteString("warning: " + e.Error() + "\n")
	}
	return b.String()
}

// outputFiles returns what an output file holds, by golden file name: a
// zip's entries as <zip>/<entry>, anything else as itself. UTF-16 text is
// turned into UTF-8 (prefixed with a note), so that diffs are readable.
func outputFiles(t *testing.T, p string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if !strings.HasSuffix(p, ".zip") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = readable(t, b)
		return out
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)+"/"+f.Name] = readable(t, b)
	}
	return out
}

func readable(t *testing.T, b []byte) []byte {
	if !bytes.HasPrefix(b, []byte{0xFF, 0xFE}) {
		return b
	}
	s, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte("(UTF-16 LE with BOM, shown as UTF-8)\n"), s...)
}

// compareGolden compares got with the files under dir, or rewrites them
// with -update.
func compareGolden(t *testing.T, dir string, got map[string][]byte) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for name, b := range got {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		want[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatalf("%v (run go test ./templates -update to make the golden files)", err)
	}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: the run no longer makes it", name)
		case !bytes.Equal(g, w):
			t.Errorf("%s differs from %s:\n%s", name, filepath.Join(dir, name), lineDiff(string(w), string(g)))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: made by the run but not in %s", name, dir)
		}
	}
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 10; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, w, g)
			shown++
		}
	}
	return b.String()
}
