// Package inbox finds files that are ready to process in watched folders
// and hands each one out once.
//
// A [Watcher] watches a set of folders, one per pipeline. A file is ready
// when the watcher has seen the same size and modification time across a
// window of at least [Options.Settle], measured on the watcher's own clock.
// The file's mtime is not trusted to say how old it is: file shares skew
// clocks and copy tools preserve old timestamps on files they are still
// writing. A file that sits untouched is taken about Settle after the
// watcher first sees it (the watcher wakes exactly then), a file being
// written is not taken until its writer has paused for Settle.
//
// fsnotify events only wake the scanner early; a full scan every
// [Options.Rescan] is the source of truth, because events can be lost and
// network shares send none. Subfolders are not descended into, and
// directories, symlinks, other non-regular files and the names [Ignored]
// reports are never taken.
//
// The caller takes a file by [Claim], an atomic rename into its own
// processing folder, right after receiving it:
//
//	w, err := inbox.NewWatcher(inbox.Options{})
//	...
//	w.Add("customers", "inbox/customers")
//	ready := make(chan inbox.File)
//	go w.Run(ctx, ready)
//	for f := range ready { // until the caller stops
//		p, err := inbox.Claim(f.Path, ".erpipe/processing")
//		if errors.Is(err, fs.ErrNotExist) {
//			continue // someone else took it
//		}
//		...
//	}
//
// A writer that keeps a file open and pauses longer than Settle in the
// middle of writing defeats every size-based check; Settle must be longer
// than the longest pause of the slowest writer.
package inbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for the zero values of [Options].
const (
	DefaultSettle = 2 * time.Second
	DefaultRescan = 5 * time.Second
	DefaultRetry  = time.Minute
)

// eventDelay is how long the watcher waits after an fsnotify event before
// it scans, so that a burst of write events costs one scan, not hundreds.
const eventDelay = 50 * time.Millisecond

// Options configure a [Watcher]. The zero value is ready to use.
type Options struct {
	// Settle is how long a file's size and mtime must be seen unchanged
	// before it is ready. Zero or less means DefaultSettle (2s).
	Settle time.Duration
	// Rescan is the interval of full scans of every folder. Zero or less
	// means DefaultRescan (5s).
	Rescan time.Duration
	// Retry is how long after handing out a file the watcher offers it
	// again if it still sits unchanged at the same path, that is, if the
	// caller did not claim it. Zero or less means DefaultRetry (1m).
	Retry time.Duration
	// Ignore holds extra glob patterns (path/filepath.Match syntax, on the
	// base name, case-insensitive) of names never taken, in addition to
	// the built-in ones of [Ignored].
	Ignore []string
	// Poll turns fsnotify off: the watcher relies on Rescan alone. Use it
	// for network shares, where change events do not arrive. The watcher
	// also polls when fsnotify cannot start (e.g. inotify limits).
	Poll bool
	// Logger receives folder errors (a folder missing, permission
	// denied) once per change of state, never once per scan. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// PatternError reports a malformed pattern in [Options.Ignore].
type PatternError struct {
	Pattern string
	Err     error
}

// Error names the pattern and what is wrong with it.
func (e *PatternError) Error() string {
	return fmt.Sprintf("inbox: ignore pattern %q: %v", e.Pattern, e.Err)
}

// Unwrap returns the underlying error, such as filepath.ErrBadPattern.
func (e *PatternError) Unwrap() error { return e.Err }

var errPatternSeparator = errors.New("patterns match base names and cannot contain a path separator")

// File is a file found ready in a watched folder.
type File struct {
	Dir     string    // the watched folder, as given to Add but absolute
	Key     string    // the caller's key for that folder, e.g. the pipeline name
	Path    string    // Dir joined with Name
	Name    string    // base name
	Size    int64     // size in bytes when it was found ready
	ModTime time.Time // modification time when it was found ready
}

// Watcher finds ready files in a set of folders. Create it with
// [NewWatcher], add folders with [Watcher.Add], then call [Watcher.Run].
// Its methods are safe for concurrent use.
type Watcher struct {
	settle, rescan, retry time.Duration
	poll                  bool
	ignore                []string
	log                   *slog.Logger
	now                   func() time.Time // the clock; time.Now outside tests

	wake chan struct{} // Scan's request, capacity 1

	mu      sync.Mutex
	dirs    []*folder
	fsw     *fsnotify.Watcher // non-nil while Run uses fsnotify
	running bool

	// Owned by the goroutine in Run.
	files map[string]*fileState // by path
}

// folder is one watched folder.
type folder struct {
	key, dir string
	watching bool   // an fsnotify watch is installed
	lastErr  string // the last error logged for the folder, "" when healthy
}

// fileState is what the watcher knows about one file.
type fileState struct {
	dir    *folder
	size   int64
	mtime  time.Time
	since  time.Time // when size and mtime were first seen as they are
	handed time.Time // when the file was handed out as it is; zero if not
	gen    uint64    // the scan that last saw the file
}

// NewWatcher returns a watcher with no folders. It fails only on a
// malformed pattern in opts.Ignore, with a *PatternError.
func NewWatcher(opts Options) (*Watcher, error) {
	ign, err := compilePatterns(opts.Ignore)
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		settle: cmp.Or(max(opts.Settle, 0), DefaultSettle),
		rescan: cmp.Or(max(opts.Rescan, 0), DefaultRescan),
		retry:  cmp.Or(max(opts.Retry, 0), DefaultRetry),
		poll:   opts.Poll,
		ignore: ign,
		log:    opts.Logger,
		now:    time.Now,
		wake:   make(chan struct{}, 1),
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	return w, nil
}

// Add watches folder dir under key, creating dir if it is missing. It may
// be called before or while Run runs. Adding a folder twice is an error;
// two keys may not share a folder.
func (w *Watcher) Add(key, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("inbox: watch %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("inbox: watch %q: %w", dir, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range w.dirs {
		if d.dir == abs {
			return fmt.Errorf("inbox: folder %q is already watched for %q", dir, d.key)
		}
	}
	d := &folder{key: key, dir: abs}
	w.dirs = append(w.dirs, d)
	if w.fsw != nil {
		w.watchLocked(d)
	}
	w.Scan()
	return nil
}

// Scan asks the running watcher to scan every folder now instead of at the
// next Rescan. It does not wait for the scan. Run always scans when it
// starts, so Scan before Run changes nothing.
func (w *Watcher) Scan() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run watches the folders and sends each ready file on ready, until ctx
// is done; then it returns ctx.Err(). Files already in the folders are
// found by the first scan and handed out once they have settled. Sending
// blocks while ready is full (back-pressure), but never past the end of
// ctx. Run returns an error at once if the watcher is already running.
//
// A file handed out is not handed out again while it sits at the same
// path with the same size and mtime, until Retry has passed: the caller
// is expected to claim it at once. If it changes, it settles anew and is
// handed out again. Each Run starts with no memory of files handed out by
// an earlier Run.
func (w *Watcher) Run(ctx context.Context, ready chan<- File) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("inbox: watcher is already running")
	}
	w.running = true
	w.files = make(map[string]*fileState)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()

	var events <-chan fsnotify.Event
	var errs <-chan error
	if !w.poll {
		fsw, err := fsnotify.NewWatcher()
		if err != nil {
			w.log.Warn("inbox: file events unavailable, polling instead", "rescan", w.rescan, "err", err)
		} else {
			defer func() {
				w.mu.Lock()
				w.fsw = nil
				for _, d := range w.dirs {
					d.watching = false
				}
				w.mu.Unlock()
				fsw.Close()
			}()
			w.mu.Lock()
			w.fsw = fsw
			for _, d := range w.dirs {
				w.watchLocked(d)
			}
			w.mu.Unlock()
			events, errs = fsw.Events, fsw.Errors
		}
	}

	timer := time.NewTimer(0) // the first scan, now
	defer timer.Stop()
	next := w.now()
	var gen uint64
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.wake:
			next = w.now()
			timer.Reset(0)
			continue
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			w.event(ev)
			if at := w.now().Add(eventDelay); at.Before(next) {
				next = at
				timer.Reset(eventDelay)
			}
			continue
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// Typically an event queue overflow: events were lost, so
			// scan now.
			w.log.Warn("inbox: file events", "err", err)
			next = w.now()
			timer.Reset(0)
			continue
		case <-timer.C:
		}

		gen++
		now := w.now()
		found, due := w.scanAll(now, gen)
		next = now.Add(w.rescan)
		if !due.IsZero() && due.Before(next) {
			next = due
		}
		timer.Reset(max(next.Sub(now), time.Millisecond))
		for _, f := range found {
			select {
			case ready <- f:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// event handles one fsnotify event: it forgets the watch of a folder that
// was removed or renamed, so that the next scan installs it again.
func (w *Watcher) event(ev fsnotify.Event) {
	if !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		return
	}
	name := filepath.Clean(ev.Name)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range w.dirs {
		if d.dir == name && d.watching {
			d.watching = false
			if w.fsw != nil {
				_ = w.fsw.Remove(d.dir) // already gone with the folder, usually
			}
		}
	}
}

// watchLocked installs the fsnotify watch of d. w.mu is held.
func (w *Watcher) watchLocked(d *folder) {
	if d.watching || w.fsw == nil {
		return
	}
	if err := w.fsw.Add(d.dir); err != nil {
		// The folder may be missing for now: the scan reports that, and
		// tries again on its next round.
		return
	}
	d.watching = true
}

// scanAll scans every folder. It returns the files found ready, oldest
// first, and the earliest time at which a file seen now may become ready
// (zero if none).
func (w *Watcher) scanAll(now time.Time, gen uint64) (ready []File, due time.Time) {
	w.mu.Lock()
	dirs := slices.Clone(w.dirs)
	w.mu.Unlock()

	for _, d := range dirs {
		ready = w.scanDir(d, now, gen, ready)
	}
	for path, st := range w.files {
		if st.gen != gen {
			// Gone (claimed, deleted) or its folder was not readable.
			delete(w.files, path)
			continue
		}
		if at := w.deadline(st); !at.IsZero() && (due.IsZero() || at.Before(due)) {
			due = at
		}
	}
	slices.SortFunc(ready, func(a, b File) int {
		return cmp.Or(a.ModTime.Compare(b.ModTime), cmp.Compare(a.Path, b.Path))
	})
	return ready, due
}

// scanDir lists one folder, updates the state of its files and appends
// the ready ones to ready.
func (w *Watcher) scanDir(d *folder, now time.Time, gen uint64, ready []File) []File {
	entries, err := os.ReadDir(d.dir)
	w.mu.Lock()
	if err != nil {
		if msg := err.Error(); msg != d.lastErr {
			d.lastErr = msg
			w.log.Error("inbox: cannot read folder; will try again", "key", d.key, "dir", d.dir, "err", err)
		}
		w.mu.Unlock()
		// Keep the state of its files: an unreadable folder is not an
		// empty one.
		for _, st := range w.files {
			if st.dir == d {
				st.gen = gen
			}
		}
		return ready
	}
	if d.lastErr != "" {
		d.lastErr = ""
		w.log.Info("inbox: folder readable again", "key", d.key, "dir", d.dir)
	}
	w.watchLocked(d)
	w.mu.Unlock()

	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || Ignored(name) || matchAny(w.ignore, name) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue // removed since the listing
		}
		path := filepath.Join(d.dir, name)
		st := w.files[path]
		if st == nil {
			st = &fileState{dir: d}
			w.files[path] = st
		}
		st.gen = gen
		if w.observe(st, info.Size(), info.ModTime(), now) {
			ready = append(ready, File{
				Dir: d.dir, Key: d.key, Path: path, Name: name,
				Size: info.Size(), ModTime: info.ModTime(),
			})
		}
	}
	return ready
}

// observe records that a file was seen with size and mtime at now, and
// reports whether to hand it out now. It marks the file handed out.
func (w *Watcher) observe(st *fileState, size int64, mtime time.Time, now time.Time) bool {
	if st.since.IsZero() || size != st.size || !mtime.Equal(st.mtime) {
		st.size, st.mtime, st.since, st.handed = size, mtime, now, time.Time{}
		return false
	}
	switch {
	case st.handed.IsZero() && now.Sub(st.since) >= w.settle:
	case !st.handed.IsZero() && now.Sub(st.handed) >= w.retry:
	default:
		return false
	}
	st.handed = now
	return true
}

// deadline is when a file may next be handed out if it stays unchanged.
func (w *Watcher) deadline(st *fileState) time.Time {
	if st.handed.IsZero() {
		return st.since.Add(w.settle)
	}
	return st.handed.Add(w.retry)
}
