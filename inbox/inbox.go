// Package inbox finds files that are ready to process in watched folders
// and hands each one out once.
//
// A [Watcher] watches a set of folders, one per pipeline, each with its
// own [FolderOptions]. How a folder decides that a file is complete is its
// [Readiness]:
//
//   - settle (the default): the watcher has seen the same size and
//     modification time across a window of at least the settle time,
//     measured on the watcher's own clock, and no process has the file
//     open for writing where the operating system can tell (on Linux, any
//     process whose /proc entries the watcher may read: the same user's,
//     or every one when it runs as root; writers on other machines of a
//     network share cannot be seen). The file's mtime is not trusted to
//     say how old it is: file shares skew clocks and copy tools preserve
//     old timestamps on files they are still writing. A file that sits
//     untouched is taken about Settle after the watcher first sees it (the
//     watcher wakes exactly then), a file being written is not taken until
//     its writer has paused for Settle and closed it.
//   - marker: a file is taken once "<name><suffix>" ("invoices.csv.done")
//     appears beside it, written after the file; see [ReadyMarker].
//   - rename: writers write under a temporary name and rename; final
//     names are taken at once; see [ReadyRename].
//
// A file that is not ready within [Options.MaxSettle] of being first seen
// (it keeps changing, stays open for writing, or waits for a marker) is
// reported once, in the log and to [Options.OnStuck], and is still not
// taken until it is ready.
//
// fsnotify events only wake the scanner early; a full scan every
// [Options.Rescan] is the source of truth, because events can be lost and
// network shares send none ([Options.Poll] turns events off). Files
// already in the folders when Run starts are taken. Subfolders are
// entered or not as [FolderOptions.Subfolders] says; directories,
// symlinks, other non-regular files, the names [Ignored] reports and
// markers are never taken.
//
// The caller takes a file by an atomic rename into its own processing
// folder (on the same filesystem, where no one else writes), right after
// receiving it, checks with [File.Same] that what it renamed is still the
// regular file that was found ready (not a link or a FIFO put in its
// place since), and then removes its marker, if it has one (jobs.Service
// does this):
//
//	w, err := inbox.NewWatcher(inbox.Options{})
//	...
//	w.AddFolder("customers", "inbox/customers", inbox.FolderOptions{Readiness: inbox.ReadyMarker})
//	ready := make(chan inbox.File)
//	go w.Run(ctx, ready)
//	for f := range ready { // until the caller stops
//		claimed := filepath.Join(".erpipe/claimed/job1", filepath.Base(f.Path))
//		err := os.Rename(f.Path, claimed)
//		if errors.Is(err, fs.ErrNotExist) {
//			continue // someone else took it
//		}
//		fi, err := os.Lstat(claimed)
//		if err != nil || !f.Same(fi) {
//			... // replaced or changed since: do not read it
//		}
//		if f.Marker != "" {
//			os.Remove(f.Marker) // consumed with its file
//		}
//		...
//	}
//
// In settle mode, a writer that pauses longer than Settle in the middle of
// writing and that the watcher cannot see holding the file open (a writer
// on another machine, or one that closes and reopens the file) defeats
// every size-based check; Settle must be longer than the longest pause of
// the slowest such writer, or the folder should use marker or rename mode.
package inbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for the zero values of [Options].
const (
	DefaultSettle    = 2 * time.Second
	DefaultRescan    = 5 * time.Second
	DefaultRetry     = time.Minute
	DefaultMaxSettle = time.Hour
)

// eventDelay is how long the watcher waits after an fsnotify event before
// it scans, so that a burst of write events costs one scan, not hundreds.
const eventDelay = 50 * time.Millisecond

// minWait is the shortest time between two scans that timers ask for.
const minWait = 10 * time.Millisecond

// Options configure a [Watcher]. The zero value is ready to use.
type Options struct {
	// Settle is how long a file's size and mtime must be seen unchanged
	// before it is ready, in settle mode. Zero or less means
	// DefaultSettle (2s). [FolderOptions.Settle] overrides it.
	Settle time.Duration
	// Rescan is the interval of full scans of every folder. Zero or less
	// means DefaultRescan (5s).
	Rescan time.Duration
	// Retry is how long after handing out a file the watcher offers it
	// again if it still sits unchanged at the same path, that is, if the
	// caller did not claim it. Zero or less means DefaultRetry (1m).
	Retry time.Duration
	// MaxSettle is how long a file may go on not being ready (changing,
	// open for writing, waiting for its marker) after the watcher first
	// saw it before it is reported as stuck. Zero or less means
	// DefaultMaxSettle (1h). It must be longer than Settle.
	// [FolderOptions.MaxSettle] overrides it.
	MaxSettle time.Duration
	// OnStuck, if set, is called once for each file that is not ready
	// within MaxSettle, so that the caller can record it; the watcher
	// also logs it. The file is still taken if it becomes ready later.
	// It is called from Run's goroutine and must return quickly.
	OnStuck func(Stuck)
	// Ignore holds extra glob patterns (path/filepath.Match syntax, on the
	// base name, case-insensitive) of names never taken, in addition to
	// the built-in ones of [Ignored].
	Ignore []string
	// Poll turns fsnotify off: the watcher relies on Rescan alone. Use it
	// for network shares, where change events do not arrive. The watcher
	// also polls when fsnotify cannot start (e.g. inotify limits).
	Poll bool
	// Logger receives folder errors (a folder missing, permission
	// denied), stuck files and markers without their file, once per
	// change of state, never once per scan. Nil means slog.Default().
	Logger *slog.Logger
}

// PatternError reports a malformed pattern in [Options.Ignore] or
// [FolderOptions.Temp].
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
	Dir  string // the watched folder, as given to Add but absolute
	Key  string // the caller's key for that folder, e.g. the pipeline name
	Path string // Dir joined with Name
	// Name is the base name, or with SubfoldersInclude the path relative
	// to Dir with forward slashes ("2024/05/invoices.csv").
	Name    string
	Size    int64     // size in bytes when it was found ready
	ModTime time.Time // modification time when it was found ready
	// Marker is, in marker mode, the path of the file's marker; "" in the
	// other modes. The caller removes it right after a successful
	// claim of Path (not before: the file must not be left without its
	// marker, and not long after: a marker without its file is logged
	// and does not count for a file of the same name dropped later).
	Marker string
	// Info is what the watcher saw of the file (without following links)
	// when it found it ready; nil for a File made by hand. The caller
	// checks with Same that what it claimed is still that file.
	Info fs.FileInfo
}

// Same reports whether fi (of the file the caller claimed, not following
// links) is the file the watcher found ready: the same file (device and
// inode), size and modification time. A file that was replaced after it
// was found ready (by a link, a FIFO or another file) or written to
// again is not. With no Info, any regular file is.
func (f File) Same(fi fs.FileInfo) bool {
	if !fi.Mode().IsRegular() {
		return false
	}
	if f.Info == nil {
		return true
	}
	return os.SameFile(f.Info, fi) && fi.Size() == f.Info.Size() && fi.ModTime().Equal(f.Info.ModTime())
}

// Stuck reports a file that was not ready within MaxSettle; see
// [Options.OnStuck].
type Stuck struct {
	File  File      // the file as last seen; Marker is the expected marker path in marker mode
	Since time.Time // when the watcher first saw it (or saw it change after a hand-out)
	// Reason says in plain words why the file is not ready and what to
	// check, e.g. "still changing after 1h0m0s".
	Reason string
}

// Watcher finds ready files in a set of folders. Create it with
// [NewWatcher], add folders with [Watcher.Add] or [Watcher.AddFolder],
// then call [Watcher.Run]. Its methods are safe for concurrent use.
type Watcher struct {
	settle, rescan, retry, maxSettle time.Duration
	poll                             bool
	ignore                           []string
	onStuck                          func(Stuck)
	log                              *slog.Logger
	now                              func() time.Time // the clock; time.Now outside tests
	writers                          func(paths []string) []int

	wake chan struct{} // Scan's request, capacity 1

	// waiting is, by key, how many files the last scan saw that were not
	// handed out (settling, waiting for a marker, open for writing).
	waiting atomic.Pointer[map[string]int]

	mu      sync.Mutex
	dirs    []*folder
	fsw     *fsnotify.Watcher // non-nil while Run uses fsnotify
	running bool

	// Owned by the goroutine in Run.
	files   map[string]*fileState   // by path
	markers map[string]*markerState // by path
	odd     map[string]uint64       // entries that are never taken, logged once; by path, the gen last seen
}

// NewWatcher returns a watcher with no folders. It fails on a malformed
// pattern in opts.Ignore, with a *PatternError, and on a MaxSettle not
// longer than Settle.
func NewWatcher(opts Options) (*Watcher, error) {
	ign, err := compilePatterns(opts.Ignore)
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		settle:    cmp.Or(max(opts.Settle, 0), DefaultSettle),
		rescan:    cmp.Or(max(opts.Rescan, 0), DefaultRescan),
		retry:     cmp.Or(max(opts.Retry, 0), DefaultRetry),
		maxSettle: cmp.Or(max(opts.MaxSettle, 0), DefaultMaxSettle),
		poll:      opts.Poll,
		ignore:    ign,
		onStuck:   opts.OnStuck,
		log:       opts.Logger,
		now:       time.Now,
		writers:   openForWriting,
		wake:      make(chan struct{}, 1),
	}
	if w.maxSettle <= w.settle {
		return nil, fmt.Errorf("inbox: max settle %v must be longer than settle %v", w.maxSettle, w.settle)
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	return w, nil
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
// found by the first scan and handed out once they are ready. Sending
// blocks while ready is full (back-pressure), but never past the end of
// ctx. Run returns an error at once if the watcher is already running.
//
// A file handed out is not handed out again while it sits at the same
// path with the same size and mtime, until Retry has passed: the caller
// is expected to claim it at once. If it changes, it must become ready
// anew and is handed out again. Each Run starts with no memory of files
// handed out by an earlier Run.
func (w *Watcher) Run(ctx context.Context, ready chan<- File) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("inbox: watcher is already running")
	}
	w.running = true
	w.files = make(map[string]*fileState)
	w.markers = make(map[string]*markerState)
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
					d.subs = nil
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
		timer.Reset(max(next.Sub(now), minWait))
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
		if d.subs[name] {
			delete(d.subs, name)
			if w.fsw != nil {
				_ = w.fsw.Remove(name)
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

// Waiting returns, by key, how many files the last scan found in the
// folders that are not ready yet (settling, waiting for their marker,
// open for writing); nil before the first scan. It is for metrics.
func (w *Watcher) Waiting() map[string]int {
	if m := w.waiting.Load(); m != nil {
		return maps.Clone(*m)
	}
	return nil
}
