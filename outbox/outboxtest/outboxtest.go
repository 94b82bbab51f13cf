// Package outboxtest is the conformance suite every outbox.Destination
// runs, in the style of rclone's fstests: one call from the destination's
// own test runs the same subtests against it.
//
//	func TestConformance(t *testing.T) {
//		outboxtest.Run(t, func(t *testing.T) outbox.Destination {
//			return newEmptyDestination(t)
//		}, outboxtest.Options{Get: get, List: list})
//	}
//
// The suite checks the contract of outbox.Destination: what Put stores can
// be read back, large inputs stream, a failing or cancelled Put leaves
// nothing visible, the same content under the same name is idempotent, and
// other content under a taken name is never silently replaced. It does not
// know policies: it accepts either a new location or outbox.ErrExists.
package outboxtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/erpipe/erpipe/outbox"
)

// DefaultLargeSize is the size of the large put when Options.LargeSize is
// zero.
const DefaultLargeSize = 20 << 20

// Options tell the suite how to look into a destination.
type Options struct {
	// Get returns the bytes stored at location, a value Put returned.
	// Required.
	Get func(t *testing.T, d outbox.Destination, location string) ([]byte, error)
	// List returns the names of everything a reader of d can see,
	// including temporary or partial objects, in any order. Required.
	List func(t *testing.T, d outbox.Destination) []string
	// LargeSize is the size in bytes of the large put; zero means
	// DefaultLargeSize (20 MiB).
	LargeSize int64
}

// Run runs the conformance suite. newDest must return a new, empty
// destination each time it is called; each subtest calls it once.
func Run(t *testing.T, newDest func(t *testing.T) outbox.Destination, opts Options) {
	t.Helper()
	if opts.Get == nil || opts.List == nil {
		t.Fatal("outboxtest: Options.Get and Options.List are required")
	}
	if opts.LargeSize <= 0 {
		opts.LargeSize = DefaultLargeSize
	}
	s := &suite{newDest: newDest, opts: opts}
	t.Run("PutSmall", s.putSmall)
	t.Run("PutEmpty", s.putEmpty)
	t.Run("PutUnknownSize", s.putUnknownSize)
	t.Run("PutLarge", s.putLarge)
	t.Run("WrongSize", s.wrongSize)
	t.Run("SameContentIsIdempotent", s.sameContent)
	t.Run("OtherContentNotReplaced", s.otherContent)
	t.Run("Names", s.names)
	t.Run("BadNames", s.badNames)
	t.Run("FailingReader", s.failingReader)
	t.Run("Concurrent", s.concurrent)
	t.Run("Cancelled", s.cancelled)
	t.Run("CancelledMidway", s.cancelledMidway)
}

type suite struct {
	newDest func(t *testing.T) outbox.Destination
	opts    Options
}

// put stores content under name and fails the test on error.
func (s *suite) put(t *testing.T, d outbox.Destination, name string, content []byte) string {
	t.Helper()
	loc, err := d.Put(context.Background(), name, bytes.NewReader(content), int64(len(content)))
	if err != nil {
		t.Fatalf("%v: Put(%q): %v", d, name, err)
	}
	if loc == "" {
		t.Fatalf("%v: Put(%q) returned an empty location", d, name)
	}
	return loc
}

// check fails the test unless location holds want.
func (s *suite) check(t *testing.T, d outbox.Destination, location string, want []byte) {
	t.Helper()
	got, err := s.opts.Get(t, d, location)
	if err != nil {
		t.Fatalf("%v: get %q: %v", d, location, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%v: %q holds %d bytes %.40q, want %d bytes %.40q", d, location, len(got), got, len(want), want)
	}
}

// list returns the sorted visible names.
func (s *suite) list(t *testing.T, d outbox.Destination) []string {
	t.Helper()
	names := slices.Clone(s.opts.List(t, d))
	slices.Sort(names)
	return names
}

// expectList fails the test unless exactly want is visible.
func (s *suite) expectList(t *testing.T, d outbox.Destination, want ...string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if got := s.list(t, d); !slices.Equal(got, want) {
		t.Fatalf("%v: visible %q, want %q", d, got, want)
	}
}

func (s *suite) putSmall(t *testing.T) {
	d := s.newDest(t)
	if d.String() == "" {
		t.Error("String() is empty")
	}
	content := []byte("CUSTOMERACCOUNT,NAME\nUS-001,Contoso Retail\n")
	loc := s.put(t, d, "customers.csv", content)
	s.check(t, d, loc, content)
	s.expectList(t, d, "customers.csv")
}

func (s *suite) putEmpty(t *testing.T) {
	d := s.newDest(t)
	loc := s.put(t, d, "empty.csv", nil)
	s.check(t, d, loc, []byte{})
	s.expectList(t, d, "empty.csv")
}

func (s *suite) putUnknownSize(t *testing.T) {
	d := s.newDest(t)
	content := bytes.Repeat([]byte("line of unknown length\n"), 1000)
	// A reader that is not a *bytes.Reader, so nothing can find its size.
	loc, err := d.Put(context.Background(), "unknown.txt", io.MultiReader(bytes.NewReader(content)), -1)
	if err != nil {
		t.Fatalf("Put with size -1: %v", err)
	}
	s.check(t, d, loc, content)
	s.expectList(t, d, "unknown.txt")
}

func (s *suite) putLarge(t *testing.T) {
	d := s.newDest(t)
	const name = "large.zip"
	g := newGenerator(s.opts.LargeSize, 1)
	g.atHalf = func() {
		// Half-way through the upload nothing may be visible under the
		// name yet.
		if slices.Contains(s.list(t, d), name) {
			t.Errorf("%q is visible before Put returned", name)
		}
	}
	loc, err := d.Put(context.Background(), name, g, s.opts.LargeSize)
	if err != nil {
		t.Fatalf("Put %d bytes: %v", s.opts.LargeSize, err)
	}
	if !g.halfSeen {
		t.Fatal("Put returned before reading half of the input")
	}
	got, err := s.opts.Get(t, d, loc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != s.opts.LargeSize {
		t.Fatalf("stored %d bytes, want %d", len(got), s.opts.LargeSize)
	}
	if sum := sha256.Sum256(got); !bytes.Equal(sum[:], g.sum.Sum(nil)) {
		t.Fatal("stored bytes differ from the input")
	}
	s.expectList(t, d, name)
}

func (s *suite) wrongSize(t *testing.T) {
	content := []byte("0123456789")
	for _, size := range []int64{5, 11, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			d := s.newDest(t)
			if _, err := d.Put(context.Background(), "sized.csv", bytes.NewReader(content), size); err == nil {
				t.Fatalf("Put of %d bytes declared as %d: no error", len(content), size)
			}
			s.expectList(t, d)
		})
	}
}

func (s *suite) sameContent(t *testing.T) {
	d := s.newDest(t)
	content := []byte("same bytes twice")
	first := s.put(t, d, "report.xml", content)
	second := s.put(t, d, "report.xml", content)
	if first != second {
		t.Fatalf("same content stored at %q, then at %q", first, second)
	}
	s.check(t, d, first, content)
	s.expectList(t, d, "report.xml")
}

func (s *suite) otherContent(t *testing.T) {
	d := s.newDest(t)
	a, b := []byte("first result"), []byte("second, different result")
	locA := s.put(t, d, "package.zip", a)

	locB, err := d.Put(context.Background(), "package.zip", bytes.NewReader(b), int64(len(b)))
	switch {
	case errors.Is(err, outbox.ErrExists):
		s.expectList(t, d, "package.zip")
		// Asking again gives the same answer.
		if _, err := d.Put(context.Background(), "package.zip", bytes.NewReader(b), int64(len(b))); !errors.Is(err, outbox.ErrExists) {
			t.Fatalf("second Put of other content: %v, want ErrExists", err)
		}
	case err != nil:
		t.Fatalf("Put of other content under a taken name: %v, want a new location or ErrExists", err)
	default:
		if locB == locA {
			t.Fatalf("other content stored at the taken location %q", locA)
		}
		s.check(t, d, locB, b)
		if n := len(s.list(t, d)); n != 2 {
			t.Fatalf("%d objects visible, want 2", n)
		}
		// The other content is now stored: putting it again is
		// idempotent too.
		if again := s.put(t, d, "package.zip", b); again != locB {
			t.Fatalf("other content put again landed at %q, want %q", again, locB)
		}
		if n := len(s.list(t, d)); n != 2 {
			t.Fatalf("%d objects visible after repeating, want 2", n)
		}
	}
	s.check(t, d, locA, a)
	if again := s.put(t, d, "package.zip", a); again != locA {
		t.Fatalf("first content put again landed at %q, want %q", again, locA)
	}
}

func (s *suite) names(t *testing.T) {
	for _, name := range []string{
		"Kunden Übersicht ÆØÅ.zip",
		"two  spaces and a trailing one .csv",
		"請求書 2024-05.xml",
		"a+b=c&d;e,f'g(1)[2]{3}@#%!.txt",
	} {
		t.Run(name, func(t *testing.T) {
			d := s.newDest(t)
			content := []byte("content of " + name)
			loc := s.put(t, d, name, content)
			s.check(t, d, loc, content)
			s.expectList(t, d, name)
		})
	}
}

func (s *suite) badNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "../escape.csv", "sub/file.csv", "/abs.csv", `..\escape.csv`} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			d := s.newDest(t)
			if loc, err := d.Put(context.Background(), name, bytes.NewReader([]byte("x")), 1); err == nil {
				t.Fatalf("Put(%q) stored at %q, want an error", name, loc)
			}
			s.expectList(t, d)
		})
	}
}

func (s *suite) failingReader(t *testing.T) {
	d := s.newDest(t)
	boom := errors.New("network share went away")
	r := io.MultiReader(io.LimitReader(newGenerator(1<<20, 2), 1<<20), errReader{boom})
	_, err := d.Put(context.Background(), "half.zip", r, 2<<20)
	if !errors.Is(err, boom) {
		t.Fatalf("Put with a failing reader: %v, want it to wrap %v", err, boom)
	}
	s.expectList(t, d)
}

func (s *suite) concurrent(t *testing.T) {
	d := s.newDest(t)
	const n = 8
	locs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			g := newGenerator(256<<10+int64(i), uint64(i))
			locs[i], errs[i] = d.Put(context.Background(), fmt.Sprintf("part-%d.csv", i), g, g.left)
		})
	}
	wg.Wait()
	var want []string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		want = append(want, fmt.Sprintf("part-%d.csv", i))
		content, err := io.ReadAll(newGenerator(256<<10+int64(i), uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		s.check(t, d, locs[i], content)
	}
	s.expectList(t, d, want...)
}

func (s *suite) cancelled(t *testing.T) {
	d := s.newDest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Put(ctx, "late.csv", bytes.NewReader([]byte("x")), 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context: %v, want context.Canceled", err)
	}
	s.expectList(t, d)
}

func (s *suite) cancelledMidway(t *testing.T) {
	d := s.newDest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := newGenerator(4<<20, 3)
	g.atHalf = cancel
	_, err := d.Put(ctx, "interrupted.zip", g, g.left)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled half-way: %v, want context.Canceled", err)
	}
	s.expectList(t, d)
}

// generator streams size pseudo-random bytes without holding them, and
// hashes what it gave out.
type generator struct {
	rng      *rand.ChaCha8
	left     int64
	half     int64
	atHalf   func() // called once, when half the bytes were read
	halfSeen bool
	sum      hash.Hash
}

func newGenerator(size int64, seed uint64) *generator {
	var key [32]byte
	key[0] = byte(seed)
	return &generator{rng: rand.NewChaCha8(key), left: size, half: size / 2, sum: sha256.New()}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if !g.halfSeen && g.left <= g.half {
		g.halfSeen = true
		if g.atHalf != nil {
			g.atHalf()
		}
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	// Stop at the half-way mark so that atHalf runs between reads.
	if !g.halfSeen && int64(len(p)) > g.left-g.half {
		p = p[:g.left-g.half]
	}
	n, _ := g.rng.Read(p)
	g.sum.Write(p[:n])
	g.left -= int64(n)
	return n, nil
}

// errReader always fails with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
