package extsort

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/erpipe/erpipe/internal/memtest"
)

type kv struct{ k, v string }

// records makes n records with keys from a few distinct values (so that
// many are equal) and values that say in which order they were added.
func records(n, keys int, seed uint64) []kv {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]kv, n)
	for i := range out {
		k := fmt.Sprintf("k%0*d", 1+r.IntN(3), r.IntN(keys))
		if r.IntN(10) == 0 {
			k += "\x00tail"
		}
		out[i] = kv{k, fmt.Sprintf("v%d", i)}
	}
	return out
}

// sortAll sorts recs with a Sorter of opts in dir and returns them as
// given back, with the number of runs written.
func sortAll(t *testing.T, dir string, opts Options, recs []kv) ([]kv, int) {
	t.Helper()
	s := New(dir, opts)
	defer s.Close()
	for _, r := range recs {
		if err := s.Add([]byte(r.k), []byte(r.v)); err != nil {
			t.Fatal(err)
		}
	}
	runs := s.Runs()
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	var got []kv
	for it.Next() {
		got = append(got, kv{string(it.Key()), string(it.Val())})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return got, runs
}

// TestSort sorts in memory, in a few runs, in many runs merged at once and
// in runs of runs (FanIn small): the order is the stable sort's.
func TestSort(t *testing.T) {
	tests := []struct {
		name    string
		n, keys int
		opts    Options
		minRuns int
		maxRuns int
	}{
		{"empty", 0, 1, Options{}, 0, 0},
		{"one", 1, 1, Options{ChunkBytes: 1}, 1, 1},
		{"in memory", 1000, 50, Options{}, 0, 0},
		{"a few runs", 1000, 50, Options{ChunkBytes: 4096}, 5, 1000},
		{"a run per record", 300, 7, Options{ChunkBytes: 1}, 300, 300},
		{"runs of runs", 5000, 100, Options{ChunkBytes: 2048, FanIn: 3}, 50, 5000},
		{"every key distinct", 3000, 1 << 30, Options{ChunkBytes: 1000, FanIn: 2}, 100, 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			recs := records(tt.n, tt.keys, uint64(tt.n))
			want := slices.Clone(recs)
			slices.SortStableFunc(want, func(a, b kv) int { return bytes.Compare([]byte(a.k), []byte(b.k)) })
			got, runs := sortAll(t, dir, tt.opts, recs)
			if !slices.Equal(got, want) {
				t.Errorf("records out of order (%d given back, %d added)", len(got), len(want))
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("first difference at %d: got %q, want %q", i, got[i], want[i])
					}
				}
			}
			if runs < tt.minRuns || runs > tt.maxRuns {
				t.Errorf("%d runs written while adding, want %d to %d", runs, tt.minRuns, tt.maxRuns)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("%d files left in the folder after Close", len(left))
			}
		})
	}
}

// TestCloseRemovesRuns: the runs go when the Sorter is closed before it
// sorted, and while its records are being read.
func TestCloseRemovesRuns(t *testing.T) {
	for _, sortFirst := range []bool{false, true} {
		dir := t.TempDir()
		s := New(dir, Options{ChunkBytes: 64})
		for _, r := range records(500, 10, 1) {
			if err := s.Add([]byte(r.k), []byte(r.v)); err != nil {
				t.Fatal(err)
			}
		}
		if s.Runs() == 0 {
			t.Fatal("no run written")
		}
		if sortFirst {
			it, err := s.Sort()
			if err != nil {
				t.Fatal(err)
			}
			it.Next()
		}
		s.Close()
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("sorted %v: %d files left after Close", sortFirst, len(left))
		}
		if err := s.Add([]byte("k"), nil); err == nil {
			t.Error("Add after Close: no error")
		}
	}
}

// TestRunUnwritable: a folder that can't hold the runs is an error from
// Add, not a lost record.
func TestRunUnwritable(t *testing.T) {
	s := New(t.TempDir()+"/missing", Options{ChunkBytes: 8})
	defer s.Close()
	if err := s.Add([]byte("key"), []byte("value")); err == nil {
		t.Fatal("no error for a run that can't be written")
	}
}

// TestMemoryFlat: sorting ten times the records allocates about the same:
// the chunk is reused and the runs are read through fixed buffers.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("sorts a million records")
	}
	dir := t.TempDir()
	val := bytes.Repeat([]byte("v"), 40)
	run := func(n int) {
		s := New(dir, Options{ChunkBytes: 1 << 20, FanIn: 16})
		defer s.Close()
		key := make([]byte, 8)
		r := rand.New(rand.NewPCG(uint64(n), 2))
		for i := 0; i < n; i++ {
			for j := range key {
				key[j] = byte('a' + r.IntN(26))
			}
			if err := s.Add(key, val); err != nil {
				t.Fatal(err)
			}
		}
		it, err := s.Sort()
		if err != nil {
			t.Fatal(err)
		}
		var prev []byte
		for it.Next() {
			if bytes.Compare(prev, it.Key()) > 0 {
				t.Fatal("out of order")
			}
			prev = append(prev[:0], it.Key()...)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	// 100k and 1M records of 48 bytes (5 and 50 MB) under one ceiling: a
	// 1 MB chunk, 16 read buffers of 64 KB, and the sort's own (about 5 MB
	// for either).
	for _, n := range []int{100_000, 1_000_000} {
		memtest.Ceiling(t, 6<<20, func() { run(n) })
	}
}
