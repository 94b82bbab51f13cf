package folder_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/folder"
	"github.com/erpipe/erpipe/outbox/outboxtest"
)

// suiteOptions reads a Folder back from disk. List shows every entry,
// hidden temporary files too, so that a stray .partial fails the suite.
var suiteOptions = outboxtest.Options{
	Get: func(t *testing.T, d outbox.Destination, location string) ([]byte, error) {
		if dir := d.(*folder.Folder).Dir; filepath.Dir(location) != dir {
			t.Errorf("location %q is not in %q", location, dir)
		}
		return os.ReadFile(location)
	},
	List: func(t *testing.T, d outbox.Destination) []string {
		return listAll(t, d.(*folder.Folder).Dir)
	},
}

func listAll(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("list %s: %v", dir, err)
		return nil
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestConformance(t *testing.T) {
	for _, policy := range []folder.Policy{folder.PolicyRename, folder.PolicyFail} {
		t.Run(string(policy), func(t *testing.T) {
			outboxtest.Run(t, func(t *testing.T) outbox.Destination {
				f, err := folder.New(filepath.Join(t.TempDir(), "outbox", "customers"), policy)
				if err != nil {
					t.Fatal(err)
				}
				return f
			}, suiteOptions)
		})
	}
}

func newFolder(t *testing.T, policy folder.Policy) *folder.Folder {
	t.Helper()
	f, err := folder.New(t.TempDir(), policy)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func put(t *testing.T, f *folder.Folder, name, content string) (string, error) {
	t.Helper()
	return f.Put(context.Background(), name, strings.NewReader(content), int64(len(content)))
}

func TestPolicies(t *testing.T) {
	type putStep struct {
		content string
		want    string // base name of the location; "" means ErrExists
	}
	tests := []struct {
		policy folder.Policy
		steps  []putStep
		files  map[string]string // what the folder holds in the end
	}{
		{folder.PolicyRename, []putStep{
			{"one", "SAF-T 2024-05.xml"},
			{"two", "SAF-T 2024-05 (2).xml"},
			{"three", "SAF-T 2024-05 (3).xml"},
			{"two", "SAF-T 2024-05 (2).xml"},
			{"one", "SAF-T 2024-05.xml"},
		}, map[string]string{"SAF-T 2024-05.xml": "one", "SAF-T 2024-05 (2).xml": "two", "SAF-T 2024-05 (3).xml": "three"}},
		{"", []putStep{
			{"one", "SAF-T 2024-05.xml"},
			{"two", "SAF-T 2024-05 (2).xml"},
		}, map[string]string{"SAF-T 2024-05.xml": "one", "SAF-T 2024-05 (2).xml": "two"}},
		{folder.PolicyFail, []putStep{
			{"one", "SAF-T 2024-05.xml"},
			{"two", ""},
			{"one", "SAF-T 2024-05.xml"},
		}, map[string]string{"SAF-T 2024-05.xml": "one"}},
		{folder.PolicyReplace, []putStep{
			{"one", "SAF-T 2024-05.xml"},
			{"two", "SAF-T 2024-05.xml"},
			{"two", "SAF-T 2024-05.xml"},
		}, map[string]string{"SAF-T 2024-05.xml": "two"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			f := newFolder(t, tt.policy)
			for i, s := range tt.steps {
				loc, err := put(t, f, "SAF-T 2024-05.xml", s.content)
				if s.want == "" {
					if !errors.Is(err, outbox.ErrExists) {
						t.Fatalf("step %d: err %v, want ErrExists", i, err)
					}
					if !strings.Contains(err.Error(), "SAF-T 2024-05.xml") {
						t.Errorf("error %q does not name the file", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if loc != filepath.Join(f.Dir, s.want) {
					t.Fatalf("step %d: stored at %q, want %q", i, loc, s.want)
				}
			}
			got := map[string]string{}
			for _, name := range listAll(t, f.Dir) {
				b, err := os.ReadFile(filepath.Join(f.Dir, name))
				if err != nil {
					t.Fatal(err)
				}
				got[name] = string(b)
			}
			if len(got) != len(tt.files) {
				t.Fatalf("folder holds %q, want %q", got, tt.files)
			}
			for name, content := range tt.files {
				if got[name] != content {
					t.Fatalf("folder holds %q, want %q", got, tt.files)
				}
			}
		})
	}
}

func TestRenameKeepsDoubleExtension(t *testing.T) {
	tests := []struct{ name, want string }{
		{"customers.zip", "customers (2).zip"},
		{"backup.tar.gz", "backup (2).tar.gz"},
		{"README", "README (2)"},
		{"v1.2 export.csv", "v1.2 export (2).csv"},
		{"x.TAR.ZST", "x (2).TAR.ZST"},
	}
	for _, tt := range tests {
		f := newFolder(t, folder.PolicyRename)
		if _, err := put(t, f, tt.name, "first"); err != nil {
			t.Fatal(err)
		}
		loc, err := put(t, f, tt.name, "second")
		if err != nil {
			t.Fatal(err)
		}
		if got := filepath.Base(loc); got != tt.want {
			t.Errorf("second %q stored as %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFolderInTheWay(t *testing.T) {
	f := newFolder(t, folder.PolicyRename)
	if err := os.Mkdir(filepath.Join(f.Dir, "result.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	loc, err := put(t, f, "result.csv", "data")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(loc) != "result (2).csv" {
		t.Fatalf("stored at %q, want result (2).csv", loc)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"customers.zip", true},
		{"Kunden Übersicht ÆØÅ.zip", true},
		{"a..b.csv", true},
		{"", false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{"../x", false},
		{"a/b", false},
		{`a\b`, false},
		{"nul\x00.csv", false},
	}
	for _, tt := range tests {
		if err := folder.CheckName(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	f, err := folder.New(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if f.Policy != folder.PolicyRename {
		t.Errorf("default policy %q, want rename", f.Policy)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("New did not create %s: %v", dir, err)
	}
	if got, want := f.String(), `folder "`+dir+`"`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if _, err := folder.New(dir, "overwrite"); err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("unknown policy: %v", err)
	}
	if _, err := folder.New("", folder.PolicyFail); err == nil {
		t.Error("empty folder: no error")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := folder.New(filepath.Join(file, "sub"), ""); err == nil {
		t.Error("folder under a file: no error")
	}
}

func TestPerm(t *testing.T) {
	for _, perm := range []os.FileMode{0, 0o600, 0o640} {
		f := newFolder(t, folder.PolicyFail)
		f.Perm = perm
		loc, err := put(t, f, "x.csv", "data")
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(loc)
		if err != nil {
			t.Fatal(err)
		}
		want := perm
		if want == 0 {
			want = folder.DefaultPerm
		}
		if st.Mode().Perm() != want {
			t.Errorf("Perm %o: file mode %o, want %o", perm, st.Mode().Perm(), want)
		}
	}
}

func TestLongNameTemp(t *testing.T) {
	// 250 bytes: the final name fits, ".<name>.<random>.partial" would
	// not if it were not shortened.
	name := strings.Repeat("æ", 123) + ".csv"
	f := newFolder(t, folder.PolicyRename)
	loc, err := put(t, f, name, "data")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(loc) != name {
		t.Fatalf("stored as %q", loc)
	}
	if got := listAll(t, f.Dir); !slices.Equal(got, []string{name}) {
		t.Fatalf("folder holds %q", got)
	}
}

func TestUnwritableFolder(t *testing.T) {
	f := newFolder(t, folder.PolicyRename)
	if err := os.RemoveAll(f.Dir); err != nil {
		t.Fatal(err)
	}
	_, err := put(t, f, "x.csv", "data")
	if err == nil || !strings.Contains(err.Error(), "x.csv") {
		t.Fatalf("put into a removed folder: %v, want an error naming x.csv", err)
	}
}

// FuzzPutName checks that no name escapes the folder: Put either rejects
// it or stores exactly that file directly in the folder.
func FuzzPutName(f *testing.F) {
	for _, s := range []string{"customers.zip", "../x", "a/b", ".", "..", "Kunden Übersicht ÆØÅ.zip", "x*y?.csv", "a\\b", "a.tar.gz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		root := t.TempDir()
		dir := filepath.Join(root, "out")
		d, err := folder.New(dir, folder.PolicyRename)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := d.Put(context.Background(), name, bytes.NewReader([]byte("x")), 1)
		if err != nil {
			if folder.CheckName(name) == nil && len(name) <= 255 {
				t.Fatalf("valid name %q failed: %v", name, err)
			}
		} else {
			if loc != filepath.Join(dir, name) || filepath.Base(loc) != name {
				t.Fatalf("name %q stored at %q", name, loc)
			}
		}
		// Nothing but the result is in the folder, nothing beside it.
		if got := listAll(t, root); !slices.Equal(got, []string{"out"}) {
			t.Fatalf("name %q: %q next to the folder", name, got)
		}
		want := []string{}
		if err == nil {
			want = []string{name}
		}
		if got := listAll(t, dir); !slices.Equal(got, want) {
			t.Fatalf("name %q: folder holds %q, want %q", name, got, want)
		}
	})
}

// zeros streams n zero bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.n)]
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// BenchmarkPut20MiB shows that memory per Put does not grow with the
// result: allocations stay at the copy buffer, about 256 KiB.
func BenchmarkPut20MiB(b *testing.B) {
	const size = 20 << 20
	f, err := folder.New(b.TempDir(), folder.PolicyRename)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		name := "result-" + strconv.Itoa(i) + ".zip"
		if _, err := f.Put(context.Background(), name, &zeros{size}, size); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(filepath.Join(f.Dir, name))
		b.StartTimer()
	}
}

// TestPutMetaMode: outbox.MetaMode narrows the stored file's permission,
// never widens it; a mode that is not octal is refused.
func TestPutMetaMode(t *testing.T) {
	for _, c := range []struct {
		perm, want os.FileMode
		mode       string
	}{
		{0, 0o600, "0600"}, {0, 0o640, "0640"}, {0o600, 0o600, "0644"}, {0, 0o644, "0777"},
	} {
		f, err := folder.New(t.TempDir(), folder.PolicyRename)
		if err != nil {
			t.Fatal(err)
		}
		f.Perm = c.perm
		loc, err := f.PutMeta(context.Background(), "r.csv", strings.NewReader("a\n"), 2, map[string]string{outbox.MetaMode: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(loc); err != nil || fi.Mode().Perm() != c.want {
			t.Errorf("perm %#o, mode %s: stored as %v (%v), want %#o", c.perm, c.mode, fi.Mode().Perm(), err, c.want)
		}
	}
	f, _ := folder.New(t.TempDir(), folder.PolicyRename)
	if _, err := f.PutMeta(context.Background(), "r.csv", strings.NewReader("a\n"), 2, map[string]string{outbox.MetaMode: "rw-r--r--"}); err == nil {
		t.Error("a mode that is not octal was taken")
	}
}
