package inbox

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Readiness is how a watched folder decides that a file is complete and
// may be taken. The zero value means [ReadySettle].
type Readiness string

// The readiness modes of a folder.
const (
	// ReadySettle takes a file once its size and modification time have
	// been seen unchanged for the settle window and, where the operating
	// system can tell (Linux), no process has it open for writing. Use it
	// for people and programs that copy files in directly.
	ReadySettle Readiness = "settle"
	// ReadyMarker takes a file only once a marker file, its name plus
	// the marker suffix ("invoices.csv.done"), sits beside it. The marker
	// must be written after the file is complete: a marker older than its
	// file does not count. Files are taken as soon as their marker is
	// there, with no settle wait; markers themselves are never handed
	// out. The caller removes the marker ([File.Marker]) right after it
	// has claimed the file.
	ReadyMarker Readiness = "marker"
	// ReadyRename takes a file as soon as it appears under its final
	// name, with no settle wait: writers write to a temporary name
	// ("*.tmp", the other names [Ignored] reports, or
	// [FolderOptions.Temp]) and rename the file when it is complete, and
	// a rename is atomic. A writer that writes under the final name is
	// taken half-way in this mode: use ReadySettle for such writers.
	ReadyRename Readiness = "rename"
)

// Subfolders says whether a watched folder's subfolders are searched for
// files. The zero value means [SubfoldersIgnore].
type Subfolders string

// The subfolder modes of a folder.
const (
	// SubfoldersIgnore takes files directly in the folder only.
	SubfoldersIgnore Subfolders = "ignore"
	// SubfoldersInclude takes files in subfolders too, at any depth.
	// [File.Name] is then the path relative to the watched folder, with
	// forward slashes ("2024/05/invoices.csv"). Symbolic links to folders
	// are not followed, and folders whose names [Ignored] or
	// [Options.Ignore] match (".git", "upload.tmp") are not entered.
	SubfoldersInclude Subfolders = "include"
)

// DefaultMarkerSuffix is the marker suffix of [ReadyMarker] folders when
// [FolderOptions.MarkerSuffix] is empty.
const DefaultMarkerSuffix = ".done"

// FolderOptions configure one watched folder; see [Watcher.AddFolder].
// The zero value is the behaviour of [Watcher.Add]: settle readiness, no
// subfolders, the watcher's Settle and MaxSettle.
type FolderOptions struct {
	// Readiness is how the folder decides a file is complete: settle
	// (the default), marker or rename.
	Readiness Readiness
	// MarkerSuffix is appended to a file's name to make the name of its
	// marker, in marker mode. Empty means DefaultMarkerSuffix (".done").
	// It is compared ignoring letter case and may not contain a path
	// separator.
	MarkerSuffix string
	// Temp holds glob patterns (path/filepath.Match syntax, on the base
	// name, case-insensitive) of temporary names writers use before they
	// rename a file into place. Such files are never taken, in any mode.
	// The names [Ignored] reports, "*.tmp" among them, always are
	// temporary, so rename mode needs Temp only for other conventions
	// (e.g. "*.uploading").
	Temp []string
	// Subfolders says whether files in subfolders are taken: ignore (the
	// default) or include.
	Subfolders Subfolders
	// Settle overrides [Options.Settle] for this folder; zero keeps it.
	Settle time.Duration
	// MaxSettle overrides [Options.MaxSettle] for this folder; zero
	// keeps it.
	MaxSettle time.Duration
	// Patterns are glob patterns (path/filepath.Match syntax, on the base
	// name, case-insensitive) of the files the folder takes, such as
	// "*.csv"; empty means every file. Other files are left where they
	// are, and logged once.
	Patterns []string
	// FollowLink lets the folder be a symbolic link. Without it a folder
	// that is (or becomes) a link is not listed, and says so in the log:
	// whoever can replace the folder by a link could otherwise make the
	// caller take every file of the folder it points to.
	FollowLink bool
}

// Validate reports the first problem of o, in words that say what to
// fix, so that a configuration can be checked before a watcher starts.
// A malformed Temp pattern is reported as a *PatternError.
func (o FolderOptions) Validate() error {
	switch o.Readiness {
	case "", ReadySettle, ReadyMarker, ReadyRename:
	default:
		return fmt.Errorf("readiness %q is not known: use settle, marker or rename", o.Readiness)
	}
	switch o.Subfolders {
	case "", SubfoldersIgnore, SubfoldersInclude:
	default:
		return fmt.Errorf("subfolders %q is not known: use ignore or include", o.Subfolders)
	}
	if s := o.MarkerSuffix; s != "" {
		if strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) {
			return fmt.Errorf("marker suffix %q contains a path separator: give a name ending such as .done", s)
		}
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("marker suffix %q is blank: give a name ending such as .done", s)
		}
		if Ignored("x" + s) {
			return fmt.Errorf("marker suffix %q ends like a temporary name, which is never looked at: give a name ending such as .done", s)
		}
	}
	if o.Settle < 0 || o.MaxSettle < 0 {
		return errors.New("settle and max settle cannot be negative")
	}
	if o.Settle > 0 && o.MaxSettle > 0 && o.MaxSettle <= o.Settle {
		return fmt.Errorf("max settle %v must be longer than settle %v", o.MaxSettle, o.Settle)
	}
	if _, err := compilePatterns(o.Temp); err != nil {
		return err
	}
	_, err := compilePatterns(o.Patterns)
	return err
}

// folder is one watched folder and what the watcher keeps about it.
type folder struct {
	key, dir          string
	mode              Readiness
	suffix            string   // marker suffix, lowered; marker mode only
	temp              []string // lowered Temp patterns
	patterns          []string // lowered Patterns; none takes every file
	include           bool     // descend into subfolders
	followLink        bool     // the folder may be a symbolic link
	settle, maxSettle time.Duration

	// Guarded by Watcher.mu.
	watching bool              // an fsnotify watch is installed on dir
	lastErr  string            // the last error logged for dir, "" when healthy
	subs     map[string]bool   // subfolders with an fsnotify watch, by path
	subErr   map[string]string // the last error logged per subfolder
}

// Add watches folder dir under key with the default [FolderOptions]: it
// is AddFolder(key, dir, FolderOptions{}).
func (w *Watcher) Add(key, dir string) error {
	return w.AddFolder(key, dir, FolderOptions{})
}

// AddFolder watches folder dir under key, with opts, creating dir if it
// is missing. It may be called before or while Run runs. Adding a folder
// twice is an error; two keys may not share a folder. Options that
// [FolderOptions.Validate] rejects are an error naming the folder.
func (w *Watcher) AddFolder(key, dir string, opts FolderOptions) error {
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("inbox: folder %q: %w", dir, err)
	}
	d := &folder{
		key:        key,
		mode:       opts.Readiness,
		include:    opts.Subfolders == SubfoldersInclude,
		followLink: opts.FollowLink,
		settle:     opts.Settle,
		maxSettle:  opts.MaxSettle,
	}
	d.mode = cmp.Or(d.mode, ReadySettle)
	if d.mode == ReadyMarker {
		d.suffix = strings.ToLower(cmp.Or(opts.MarkerSuffix, DefaultMarkerSuffix))
	}
	d.temp, _ = compilePatterns(opts.Temp) // checked by Validate
	d.patterns, _ = compilePatterns(opts.Patterns)
	d.settle = cmp.Or(d.settle, w.settle)
	d.maxSettle = cmp.Or(d.maxSettle, w.maxSettle)
	if d.maxSettle <= d.settle {
		return fmt.Errorf("inbox: folder %q: max settle %v must be longer than settle %v", dir, d.maxSettle, d.settle)
	}

	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("inbox: watch %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("inbox: watch %q: %w", dir, err)
	}
	d.dir = abs
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.dirs {
		if o.dir == abs {
			return fmt.Errorf("inbox: folder %q is already watched for %q", dir, o.key)
		}
	}
	w.dirs = append(w.dirs, d)
	if w.fsw != nil {
		w.watchLocked(d)
	}
	w.Scan()
	return nil
}

// RemoveFolder stops watching the folder added under key, and reports
// whether there was one. Its files are left where they are; one already
// handed out stays the caller's. Together with AddFolder it lets a running
// watcher follow a changed configuration.
func (w *Watcher) RemoveFolder(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := slices.IndexFunc(w.dirs, func(d *folder) bool { return d.key == key })
	if i < 0 {
		return false
	}
	d := w.dirs[i]
	w.dirs = slices.Delete(w.dirs, i, i+1)
	if w.fsw != nil {
		if d.watching {
			_ = w.fsw.Remove(d.dir)
		}
		for sub := range d.subs {
			_ = w.fsw.Remove(sub)
		}
	}
	d.watching, d.subs = false, nil
	return true
}

// skip reports whether a name in folder d is never taken (and, for a
// folder, never entered).
func (w *Watcher) skip(d *folder, name string) bool {
	return Ignored(name) || matchAny(w.ignore, name) || matchAny(d.temp, name)
}

// markerOf returns the name of the file whose marker is name, in a marker
// folder, and whether name is a marker at all.
func (d *folder) markerOf(name string) (string, bool) {
	if d.mode != ReadyMarker || len(name) <= len(d.suffix) {
		return "", false
	}
	cut := len(name) - len(d.suffix)
	if !strings.EqualFold(name[cut:], d.suffix) {
		return "", false
	}
	return name[:cut], true
}
