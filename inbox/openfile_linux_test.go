package inbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestOpenForWriting(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"written.csv", "read.csv", "closed.csv", "rw.csv"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	for p, flag := range map[string]int{paths[0]: os.O_WRONLY | os.O_APPEND, paths[1]: os.O_RDONLY, paths[3]: os.O_RDWR} {
		f, err := os.OpenFile(p, flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
	}
	// The same file under another name (a hard link): found by inode.
	link := filepath.Join(dir, "sub", "written.csv")
	if err := os.Mkdir(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(paths[0], link); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, link, filepath.Join(dir, "missing.csv"))

	pid := os.Getpid()
	want := []int{pid, 0, 0, pid, pid, 0}
	if got := openForWriting(paths); !slices.Equal(got, want) {
		t.Fatalf("openForWriting = %v, want %v", got, want)
	}
	if got := openForWriting(nil); len(got) != 0 {
		t.Fatalf("openForWriting(nil) = %v", got)
	}
}

func TestFdinfoFlags(t *testing.T) {
	tests := []struct {
		in    string
		flags int64
		ok    bool
	}{
		{"pos:\t0\nflags:\t0100001\nmnt_id:\t25\nino:\t1234\n", 0o100001, true},
		{"pos:\t5\nflags:\t02\n", 2, true},
		{"flags:\t0100000", 0o100000, true},
		{"pos:\t0\n", 0, false},
		{"flags:\tzz\n", 0, false},
	}
	for _, tt := range tests {
		flags, ok := fdinfoFlags([]byte(tt.in))
		if flags != tt.flags || ok != tt.ok {
			t.Errorf("fdinfoFlags(%q) = %o, %v; want %o, %v", tt.in, flags, ok, tt.flags, tt.ok)
		}
	}
}

// BenchmarkOpenForWriting measures one pass over /proc for 100 files, the
// cost a scan pays when files settle.
func BenchmarkOpenForWriting(b *testing.B) {
	dir := b.TempDir()
	paths := make([]string, 100)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("f%03d.csv", i))
		if err := os.WriteFile(paths[i], []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		openForWriting(paths)
	}
}
