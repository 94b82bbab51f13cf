package transform

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/internal/memtest"
)

// journalRows writes a journal of n rows over vouchers vouchers, their
// rows interleaved; a tenth of the vouchers do not balance, and some have
// a large debit. It returns the CSV, the rows of vouchers that do not
// balance, and the number of vouchers with a large debit.
func journalRows(n, vouchers int, seed uint64) (csv string, unbalanced, large int) {
	r := rand.New(rand.NewPCG(seed, 3))
	type voucher struct{ debit, credit, rows int }
	vs := make([]voucher, vouchers)
	var b strings.Builder
	b.WriteString("voucher,debit,credit\n")
	lines := make([]int, n)
	for i := range lines {
		lines[i] = i % vouchers
	}
	r.Shuffle(n, func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	for _, v := range lines {
		amount := 1 + r.IntN(1200)
		if vs[v].rows%2 == 0 {
			fmt.Fprintf(&b, "V%d,%d,\n", v, amount)
			vs[v].debit += amount
		} else {
			// balance the voucher, except for one in ten
			c := vs[v].debit - vs[v].credit
			if v%10 == 3 {
				c++
			}
			fmt.Fprintf(&b, "V%d,,%d\n", v, c)
			vs[v].credit += c
		}
		vs[v].rows++
	}
	bigs := map[int]bool{}
	for _, v := range lines {
		if vs[v].debit != vs[v].credit || vs[v].rows < 2 {
			unbalanced++
		}
	}
	// a voucher with a debit of 1000 or more warns once
	for _, line := range strings.Split(b.String(), "\n")[1:] {
		var v, d int
		if _, err := fmt.Sscanf(line, "V%d,%d,", &v, &d); err == nil && d >= 1000 {
			bigs[v] = true
		}
	}
	return b.String(), unbalanced, len(bigs)
}

// TestGroupChecksSpilled: group checks give the same result whether their
// groups stay in memory or are spilled to disk (every group at once, or
// after a few), and the run leaves no file in the temporary folder.
func TestGroupChecksSpilled(t *testing.T) {
	tpl, err := loadString(t, journalTemplate)
	if err != nil {
		t.Fatal(err)
	}
	csv, unbalanced, large := journalRows(3000, 400, 1)
	in := writeFile(t, t.TempDir(), "j.csv", csv)
	type outcome struct {
		read, written, rejected, warned int
		errors, warnings                []string
		out                             string
	}
	run := func(t *testing.T) outcome {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		out := t.TempDir()
		res, err := tpl.Run(context.Background(), in, out)
		if err != nil {
			t.Fatal(err)
		}
		o := outcome{read: res.Read, written: res.Written, rejected: res.Rejected, warned: res.Warned}
		for _, e := range res.Errors {
			o.errors = append(o.errors, e.Error())
		}
		for _, w := range res.Warnings {
			o.warnings = append(o.warnings, w.Error())
		}
		data, err := os.ReadFile(filepath.Join(out, "j.csv"))
		if err != nil {
			t.Fatal(err)
		}
		o.out = string(data)
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("%d files left in the temporary folder", len(left))
		}
		return o
	}
	want := run(t)
	if want.rejected != unbalanced || want.warned != large || want.read != 3000 || want.written != 3000-unbalanced {
		t.Fatalf("in memory: read %d written %d rejected %d warned %d, want 3000, %d, %d, %d",
			want.read, want.written, want.rejected, want.warned, 3000-unbalanced, unbalanced, large)
	}
	for _, tc := range []struct {
		name              string
		groupBytes, chunk int
	}{
		{"every group spilled, a run per group", 1, 1},
		{"spilled after a few groups", 2000, 500},
		{"spilled after many groups", 20000, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldG, oldC := checkGroupBytes, checkRunBytes
			checkGroupBytes, checkRunBytes = tc.groupBytes, tc.chunk
			defer func() { checkGroupBytes, checkRunBytes = oldG, oldC }()
			got := run(t)
			if got.read != want.read || got.written != want.written || got.rejected != want.rejected || got.warned != want.warned {
				t.Errorf("read %d written %d rejected %d warned %d, want %d, %d, %d, %d",
					got.read, got.written, got.rejected, got.warned, want.read, want.written, want.rejected, want.warned)
			}
			if !slices.Equal(got.errors, want.errors) || !slices.Equal(got.warnings, want.warnings) {
				t.Errorf("the messages differ from those of the groups in memory; first error %q, want %q", got.errors[0], want.errors[0])
			}
			if got.out != want.out {
				t.Error("the output differs")
			}
		})
	}
}

// TestFailedSetLongRecords: what failed is read back whole, however long
// (past the first read), and a key whose hash is found but that did not
// fail is not taken for one that did.
func TestFailedSetLongRecords(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	cr := &checkRun{}
	defer cr.close()
	fs := &failedSet{seed: maphash.MakeSeed()}
	long := strings.Repeat("x", 5000)
	for i := range 50 {
		if err := fs.add(cr, fmt.Sprintf("k%d", i), fmt.Sprintf("%d %s", i, long[:i*100])); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.seal(); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		d, idx, ok, err := fs.lookup(fmt.Sprintf("k%d", i))
		if err != nil || !ok || d != fmt.Sprintf("%d %s", i, long[:i*100]) {
			t.Fatalf("k%d: %v %v, detail of %d bytes", i, ok, err, len(d))
		}
		if !fs.warnedOnce(idx) || fs.warnedOnce(idx) {
			t.Fatalf("k%d: warned once is not once", i)
		}
	}
	if _, _, ok, err := fs.lookup("k50"); ok || err != nil {
		t.Errorf("k50 failed: %v %v", ok, err)
	}
	// A key of the same hash as one that failed (the hash forced).
	fs.ents[0].hash = maphash.String(fs.seed, "k99")
	slices.SortFunc(fs.ents, func(a, b failedEntry) int { return cmp.Compare(a.hash, b.hash) })
	if _, _, ok, err := fs.lookup("k99"); ok || err != nil {
		t.Errorf("k99 taken for a failed group: %v %v", ok, err)
	}
}

// TestGroupChecksMemoryFlat: checks with a group per few rows keep the
// live heap under a ceiling: measured 9 MB for 100,000 rows (33,000
// vouchers) and 11 MB for 400,000 (what grows is 16 bytes per group that
// failed); with the groups in memory, before, 21 MB for 100,000.
func TestGroupChecksMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("checks 400,000 rows")
	}
	tpl, err := loadString(t, journalTemplate)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{100_000, 400_000} {
		csv, _, _ := journalRows(n, n/3, uint64(n))
		in := writeFile(t, t.TempDir(), "j.csv", csv)
		csv = ""
		memtest.LiveHeapCeiling(t, 16<<20, func() {
			if _, err := tpl.Run(context.Background(), in, t.TempDir()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestGroupChecksRemovedOnError: a run stopped in its second pass (the
// context cancelled) leaves no spilled group in the temporary folder.
func TestGroupChecksRemovedOnError(t *testing.T) {
	oldG, oldC := checkGroupBytes, checkRunBytes
	checkGroupBytes, checkRunBytes = 1, 1 // every group spilled, a run each
	defer func() { checkGroupBytes, checkRunBytes = oldG, oldC }()
	tpl, err := loadString(t, journalTemplate)
	if err != nil {
		t.Fatal(err)
	}
	csv, _, _ := journalRows(30000, 3000, 5)
	in := writeFile(t, t.TempDir(), "j.csv", csv)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = tpl.RunWith(ctx, in, t.TempDir(), RunOptions{OnProgress: func(read int) {
		if read >= 20000 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("the run was not stopped")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("%d files left in the temporary folder", len(left))
	}
}
