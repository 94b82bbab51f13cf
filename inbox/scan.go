package inbox

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// fileState is what the watcher knows about one file that may be taken.
type fileState struct {
	dir     *folder
	size    int64
	mtime   time.Time
	since   time.Time // when size and mtime were first seen as they are
	first   time.Time // when first seen not handed out: the MaxSettle clock
	handed  time.Time // when the file was handed out as it is; zero if not
	recheck time.Time // settle mode: seen open for writing, look again then
	writer  int       // the process seen with it open for writing; 0 if none
	stuck   bool      // reported as stuck since first
	gen     uint64    // the scan that last saw the file
}

// markerState is what the watcher knows about one marker file.
type markerState struct {
	size   int64
	mtime  time.Time
	orphan time.Time // when first seen without its file; zero when beside it
	// stale is set once the marker has sat without its file for Settle:
	// it is left over (its file was claimed and the marker not removed),
	// and it does not count for a file of that name until it changes.
	stale bool
	gen   uint64
}

// scan is the work of one scan of every folder.
type scan struct {
	now   time.Time
	gen   uint64
	ready []File
	check []candidate // settled files that wait for the open-for-writing check
	stuck []Stuck
}

// candidate is a file of a settle folder that has otherwise settled.
type candidate struct {
	st *fileState
	f  File
}

// scanAll scans every folder. It returns the files found ready, oldest
// first, and the earliest time at which something seen now may change
// (a file may become ready, or be due for a stuck report); zero if none.
func (w *Watcher) scanAll(now time.Time, gen uint64) (ready []File, due time.Time) {
	w.mu.Lock()
	dirs := slices.Clone(w.dirs)
	w.mu.Unlock()
	if w.files == nil {
		w.files = make(map[string]*fileState)
	}
	if w.markers == nil {
		w.markers = make(map[string]*markerState)
	}

	sc := &scan{now: now, gen: gen}
	for _, d := range dirs {
		w.scanDir(d, sc)
	}
	w.checkWriters(sc)

	waiting := map[string]int{}
	for path, st := range w.files {
		if st.gen != gen {
			// Gone (claimed, deleted) or its folder was not readable.
			delete(w.files, path)
			continue
		}
		if st.handed.IsZero() {
			waiting[st.dir.key]++
		}
		if at := st.deadline(w.retry); !at.IsZero() && (due.IsZero() || at.Before(due)) {
			due = at
		}
	}
	w.waiting.Store(&waiting)
	for path, ms := range w.markers {
		if ms.gen != gen {
			delete(w.markers, path)
		}
	}
	for path, g := range w.odd {
		if g != gen {
			delete(w.odd, path) // gone: logged again if it comes back
		}
	}
	for _, s := range sc.stuck {
		w.log.Warn("inbox: file not ready; it is left where it is and taken once ready",
			"key", s.File.Key, "file", s.File.Path, "since", s.Since, "reason", s.Reason)
		if w.onStuck != nil {
			w.onStuck(s)
		}
	}
	slices.SortFunc(sc.ready, func(a, b File) int {
		return cmp.Or(a.ModTime.Compare(b.ModTime), cmp.Compare(a.Path, b.Path))
	})
	return sc.ready, due
}

// scanDir lists folder d, and its subfolders when it includes them, and
// updates the state of their files.
func (w *Watcher) scanDir(d *folder, sc *scan) {
	queue := []string{""} // folders to list, relative to d.dir, with '/'
	var seenSubs map[string]bool
	if d.include {
		seenSubs = make(map[string]bool)
	}
	for len(queue) > 0 {
		rel := queue[0]
		queue = queue[1:]
		abs := filepath.Join(d.dir, filepath.FromSlash(rel))
		var entries []fs.DirEntry
		err := checkLink(d, rel, abs)
		if err == nil {
			entries, err = os.ReadDir(abs)
		}
		if !w.listed(d, rel, abs, err, sc) {
			continue
		}
		var files, markers []fs.DirEntry
		for _, e := range entries {
			name := e.Name()
			switch {
			case e.IsDir():
				if d.include && !w.skip(d, name) {
					sub := filepath.Join(abs, name)
					seenSubs[sub] = true
					w.watchSub(d, sub)
					queue = append(queue, path.Join(rel, name))
				} else if !w.skip(d, name) {
					w.oddEntry(d, filepath.Join(abs, name), e.Type(), sc)
				}
			case !e.Type().IsRegular():
				if !w.skip(d, name) {
					w.oddEntry(d, filepath.Join(abs, name), e.Type(), sc)
				}
			case d.mode == ReadyMarker && isMarker(d, name) && !Ignored(name):
				markers = append(markers, e)
			case w.skip(d, name):
			case len(d.patterns) > 0 && !matchAny(d.patterns, name):
				w.oddEntry(d, filepath.Join(abs, name), e.Type(), sc)
			default:
				files = append(files, e)
			}
		}
		w.scanFiles(d, rel, abs, files, markers, sc)
	}
	if d.include {
		w.mu.Lock()
		for sub := range d.subs {
			if !seenSubs[sub] {
				delete(d.subs, sub)
				if w.fsw != nil {
					_ = w.fsw.Remove(sub)
				}
			}
		}
		for sub := range d.subErr {
			if !seenSubs[sub] {
				delete(d.subErr, sub) // gone, or below an unreadable one
			}
		}
		w.mu.Unlock()
	}
}

// oddEntry notes an entry of a watched folder that is never taken (a
// folder, when subfolders are not searched; a link, a FIFO, a device, a
// socket) and logs it the first time it is seen, so that an operator
// wondering why it sits there finds the answer.
func (w *Watcher) oddEntry(d *folder, p string, t fs.FileMode, sc *scan) {
	if w.odd == nil {
		w.odd = make(map[string]uint64)
	}
	if _, seen := w.odd[p]; !seen {
		why := "it is not a regular file"
		switch {
		case t.IsRegular():
			why = fmt.Sprintf("its name does not match what this inbox takes (%s)", strings.Join(d.patterns, ", "))
		case t.IsDir():
			why = "it is a folder, and this inbox does not search subfolders (inbox: {subfolders: include})"
		case t&fs.ModeSymlink != 0:
			why = "it is a symbolic link, and links are never followed: drop the file itself"
		case t&fs.ModeNamedPipe != 0:
			why = "it is a named pipe (FIFO), not a file"
		case t&(fs.ModeDevice|fs.ModeCharDevice) != 0:
			why = "it is a device, not a file"
		case t&fs.ModeSocket != 0:
			why = "it is a socket, not a file"
		}
		w.log.Warn("inbox: entry never taken; it is left where it is", "key", d.key, "path", p, "reason", why)
	}
	w.odd[p] = sc.gen
}

// ErrLinkedFolder is why a watched folder that is a symbolic link is not
// listed (see [FolderOptions.FollowLink]).
var ErrLinkedFolder = errors.New("the folder is a symbolic link, which is not followed (whoever can replace it by a link could make erpipe take the files of another folder); " +
	"make it a real folder, or set follow_symlinks: true in erpipe.yaml if the link is yours")

// checkLink refuses the watched folder itself (rel "") when it is a
// symbolic link that d may not follow. Subfolders that are links are
// never entered: a listing does not report them as folders.
func checkLink(d *folder, rel, abs string) error {
	if rel != "" || d.followLink {
		return nil
	}
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return ErrLinkedFolder
	}
	return nil
}

// isMarker reports whether name is a marker in marker folder d.
func isMarker(d *folder, name string) bool {
	_, ok := d.markerOf(name)
	return ok
}

// listed handles the outcome of listing folder abs (rel to d.dir): it
// logs a failure once per change of state and keeps the state of the
// files below it, since an unreadable folder is not an empty one. It
// reports whether the listing can be used.
func (w *Watcher) listed(d *folder, rel, abs string, err error, sc *scan) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := &d.lastErr
	if rel != "" {
		if d.subErr == nil {
			d.subErr = make(map[string]string)
		}
		e := d.subErr[abs]
		last = &e
		defer func() {
			if e == "" {
				delete(d.subErr, abs)
			} else {
				d.subErr[abs] = e
			}
		}()
	}
	if err != nil {
		if msg := err.Error(); msg != *last {
			*last = msg
			w.log.Error("inbox: cannot read folder; will try again", "key", d.key, "dir", abs, "err", err)
		}
		prefix := abs + string(filepath.Separator)
		for p, st := range w.files {
			if st.dir == d && (rel == "" || strings.HasPrefix(p, prefix)) {
				st.gen = sc.gen
			}
		}
		for p, ms := range w.markers {
			if strings.HasPrefix(p, prefix) {
				ms.gen = sc.gen
			}
		}
		return false
	}
	if *last != "" {
		*last = ""
		w.log.Info("inbox: folder readable again", "key", d.key, "dir", abs)
	}
	if rel == "" {
		w.watchLocked(d)
	}
	return true
}

// watchSub installs an fsnotify watch on subfolder sub of d, if Run uses
// fsnotify and it has none yet. A watch that cannot be installed (the
// inotify limit) is tried again at the next scan; scans find the files
// anyway.
func (w *Watcher) watchSub(d *folder, sub string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fsw == nil || d.subs[sub] {
		return
	}
	if err := w.fsw.Add(sub); err != nil {
		return
	}
	if d.subs == nil {
		d.subs = make(map[string]bool)
	}
	d.subs[sub] = true
}

// scanFiles updates the state of the files and markers of one listed
// folder abs (rel to d.dir) and records what is ready.
func (w *Watcher) scanFiles(d *folder, rel, abs string, files, markers []fs.DirEntry, sc *scan) {
	byFile := make(map[string]*markerState, len(markers)) // by the name of its file
	markerPath := make(map[*markerState]string, len(markers))
	for _, e := range markers {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue // removed since the listing
		}
		p := filepath.Join(abs, e.Name())
		ms := w.markers[p]
		if ms == nil {
			ms = &markerState{}
			w.markers[p] = ms
		}
		ms.gen = sc.gen
		if size, mtime := info.Size(), info.ModTime(); ms.mtime.IsZero() || size != ms.size || !mtime.Equal(ms.mtime) {
			// New, or written again: a fresh marker.
			ms.size, ms.mtime, ms.stale, ms.orphan = size, mtime, false, time.Time{}
		}
		name, _ := d.markerOf(e.Name())
		byFile[name] = ms
		markerPath[ms] = p
	}

	paired := make(map[*markerState]bool, len(markers))
	for _, e := range files {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue // removed since the listing
		}
		p := filepath.Join(abs, e.Name())
		st := w.files[p]
		if st == nil {
			st = &fileState{dir: d}
			w.files[p] = st
		}
		st.gen = sc.gen
		f := File{
			Dir: d.dir, Key: d.key, Path: p, Name: path.Join(rel, e.Name()),
			Size: info.Size(), ModTime: info.ModTime(), Info: info,
		}
		var ms *markerState
		if d.mode == ReadyMarker {
			ms = byFile[e.Name()]
			if ms != nil {
				paired[ms] = true
				f.Marker = markerPath[ms]
			} else {
				f.Marker = p + d.suffix
			}
		}
		w.observe(st, f, ms, sc)
	}

	for ms, p := range markerPath {
		if paired[ms] {
			ms.orphan = time.Time{}
			continue
		}
		switch {
		case ms.orphan.IsZero():
			ms.orphan = sc.now
		case !ms.stale && sc.now.Sub(ms.orphan) >= d.settle:
			// Left over, most likely, by a caller that claimed the file
			// and did not remove the marker. Logged once: it is set
			// again only when the marker changes.
			ms.stale = true
			name, _ := d.markerOf(filepath.Base(p))
			w.log.Warn("inbox: marker has no file beside it; left in place, and it does not count for a file of that name until it is written again",
				"key", d.key, "marker", p, "file", name)
		}
	}
}

// observe records what a scan saw of a file and decides whether it is
// ready. ms is the file's marker in marker mode, nil if it has none.
func (w *Watcher) observe(st *fileState, f File, ms *markerState, sc *scan) {
	d, now := st.dir, sc.now
	if st.since.IsZero() || f.Size != st.size || !f.ModTime.Equal(st.mtime) {
		if st.first.IsZero() || !st.handed.IsZero() {
			st.first, st.stuck = now, false // a new file, or a new version of one
		}
		st.size, st.mtime, st.since = f.Size, f.ModTime, now
		st.handed, st.recheck, st.writer = time.Time{}, time.Time{}, 0
	}

	var ok bool
	var why string // why it is not ready, for a stuck report
	switch d.mode {
	case ReadyMarker:
		switch {
		case ms == nil:
			why = fmt.Sprintf("no marker %s beside it after %v: the writer writes the marker once the file is complete",
				filepath.Base(f.Marker), d.maxSettle)
		case ms.stale:
			why = fmt.Sprintf("its marker %s was there, alone, before the file: write the marker again once the file is complete",
				filepath.Base(f.Marker))
		case ms.mtime.Before(st.mtime):
			why = fmt.Sprintf("its marker %s is older than the file: the writer must write the marker after the file is complete",
				filepath.Base(f.Marker))
		default:
			ok = true
		}
		if !ok && !st.handed.IsZero() {
			// Handed out, then its marker went away without the file
			// being claimed: it waits for a new marker.
			st.handed, st.first, st.stuck = time.Time{}, now, false
		}
	case ReadyRename:
		ok = true // a rename is atomic: the final name is complete
	default:
		switch {
		case st.writer != 0 && now.Before(st.recheck):
			why = fmt.Sprintf("still open for writing by process %d after %v", st.writer, d.maxSettle)
		case now.Sub(st.since) < d.settle:
			why = fmt.Sprintf("still changing after %v", d.maxSettle)
		default:
			ok = true
		}
	}
	if !st.handed.IsZero() {
		ok = ok && now.Sub(st.handed) >= w.retry
	}
	switch {
	case !ok:
		w.stuckCheck(st, f, why, sc)
	case d.mode == ReadySettle:
		sc.check = append(sc.check, candidate{st, f})
	default:
		st.handed = now
		sc.ready = append(sc.ready, f)
	}
}

// checkWriters finishes the settle candidates of a scan: those that no
// process has open for writing are ready, the others are looked at again
// a settle window later. One pass over the process table serves them all.
func (w *Watcher) checkWriters(sc *scan) {
	if len(sc.check) == 0 {
		return
	}
	paths := make([]string, len(sc.check))
	for i, c := range sc.check {
		paths[i] = c.f.Path
	}
	pids := w.writers(paths)
	for i, c := range sc.check {
		st := c.st
		if pid := pids[i]; pid != 0 {
			st.writer, st.recheck = pid, sc.now.Add(st.dir.settle)
			w.stuckCheck(st, c.f, fmt.Sprintf("still open for writing by process %d after %v", pid, st.dir.maxSettle), sc)
			continue
		}
		st.writer, st.recheck = 0, time.Time{}
		st.handed = sc.now
		sc.ready = append(sc.ready, c.f)
	}
}

// stuckCheck reports a file that is not ready once MaxSettle has passed
// since it was first seen, once.
func (w *Watcher) stuckCheck(st *fileState, f File, why string, sc *scan) {
	if st.stuck || !st.handed.IsZero() || why == "" || sc.now.Sub(st.first) < st.dir.maxSettle {
		return
	}
	st.stuck = true
	sc.stuck = append(sc.stuck, Stuck{File: f, Since: st.first, Reason: why})
}

// deadline is when something may next change for a file that stays as it
// is: it may be handed out (again), or be due for a stuck report. Zero
// means never (a marker file waits for its marker, which a scan finds).
func (st *fileState) deadline(retry time.Duration) time.Time {
	if !st.handed.IsZero() {
		return st.handed.Add(retry)
	}
	var at time.Time
	switch st.dir.mode {
	case ReadySettle:
		at = st.since.Add(st.dir.settle)
		if st.recheck.After(at) {
			at = st.recheck
		}
	case ReadyRename:
		at = st.since
	}
	if !st.stuck {
		if s := st.first.Add(st.dir.maxSettle); at.IsZero() || s.Before(at) {
			at = s
		}
	}
	return at
}
