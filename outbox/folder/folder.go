// Package folder is the outbox destination that writes results into a
// local or mounted folder.
//
// Writes are atomic. Put streams into a temporary file in the same folder,
// named ".<name>.<random>.partial" so that inbox watchers (erpipe's own,
// rclone, most sync tools) skip it, syncs it to disk, and then links it to
// its final name without ever replacing an existing file. A reader of the
// folder sees the whole result or nothing, also when the input fails half
// way, the context is cancelled or the process dies (then only a hidden
// .partial file stays behind, which [Folder.Sweep] removes at the next
// start).
//
// Puts are idempotent: when the name already holds the same bytes
// (same size and SHA-256), Put succeeds and changes nothing. When it holds
// other bytes, the [Policy] decides.
package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/erpipe/erpipe/internal/filename"
	"github.com/erpipe/erpipe/outbox"
)

// Policy says what Put does when the name holds a different result.
type Policy string

// The policies. The zero Policy means PolicyRename.
const (
	// PolicyRename stores the new result under the first free name of
	// "name (2).ext", "name (3).ext", ... (or the one that already holds
	// the same bytes) and returns that path.
	PolicyRename Policy = "rename"
	// PolicyFail fails with an error wrapping outbox.ErrExists.
	PolicyFail Policy = "fail"
	// PolicyReplace replaces the old file by the new one in one atomic
	// rename: readers see the old or the new result, never a mix.
	PolicyReplace Policy = "replace"
)

// DefaultPerm is the permission of result files when Folder.Perm is zero,
// before the umask.
const DefaultPerm os.FileMode = 0o644

// maxRenames bounds the search for a free name under PolicyRename.
const maxRenames = 10000

// Folder is a destination folder. Its fields may be set directly (for
// example from configuration); New checks them. Use it only after New or
// with fields that New would accept.
type Folder struct {
	Dir    string      // the folder; results are written directly into it
	Policy Policy      // what to do when a name holds other content; "" is PolicyRename
	Perm   os.FileMode // permission of result files; 0 is DefaultPerm
	// FollowLink lets Dir be a symbolic link. Without it a Dir that is
	// (or becomes) a link is refused, as unavailable until it is a real
	// folder again: whoever can replace the folder by a link could make
	// the results go elsewhere.
	FollowLink bool
}

// New returns a Folder writing into dir with the given policy (empty means
// PolicyRename), creating dir if it is missing. It fails on an unknown
// policy or when dir cannot be created.
func New(dir string, policy Policy) (*Folder, error) {
	switch policy {
	case "":
		policy = PolicyRename
	case PolicyRename, PolicyFail, PolicyReplace:
	default:
		return nil, fmt.Errorf("folder %q: unknown policy %q (use %q, %q or %q)", dir, policy, PolicyRename, PolicyFail, PolicyReplace)
	}
	if dir == "" {
		return nil, errors.New("folder: no folder given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("folder: create %q: %w", dir, err)
	}
	return &Folder{Dir: dir, Policy: policy}, nil
}

// String names the destination, e.g. `folder "outbox/customers"`.
func (f *Folder) String() string { return "folder " + strconv.Quote(f.Dir) }

// Put stores size bytes from r as file name in the folder and returns its
// path. A negative size means unknown; otherwise reading more or fewer
// bytes than size is an error. name must be a plain file name: not empty,
// not starting with ".", with no "/" or "\" and no NUL. See the package
// documentation for atomicity, idempotence and policies. On any error
// nothing new is visible in the folder.
func (f *Folder) Put(ctx context.Context, name string, r io.Reader, size int64) (string, error) {
	return f.put(ctx, name, r, size, f.perm())
}

// PutMeta is Put with metadata, of which a folder keeps one thing: the
// stored file's permission is no wider than outbox.MetaMode, when given.
func (f *Folder) PutMeta(ctx context.Context, name string, r io.Reader, size int64, meta map[string]string) (string, error) {
	perm := f.perm()
	if s, ok := meta[outbox.MetaMode]; ok {
		m, err := strconv.ParseUint(s, 8, 32)
		if err != nil {
			return "", fmt.Errorf("folder: put %q: mode %q is not an octal permission", name, s)
		}
		perm &= os.FileMode(m).Perm()
	}
	return f.put(ctx, name, r, size, perm)
}

// perm is the permission of result files.
func (f *Folder) perm() os.FileMode {
	if f.Perm == 0 {
		return DefaultPerm
	}
	return f.Perm
}

func (f *Folder) put(ctx context.Context, name string, r io.Reader, size int64, perm os.FileMode) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("folder: put %q: %w", name, err)
	}
	if !f.FollowLink {
		if fi, err := os.Lstat(f.Dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", outbox.Unavailable(fmt.Errorf("folder: put %q: %s is a symbolic link, which is not followed; make it a real folder (or, if the link is yours, set follow_symlinks: true in erpipe.yaml)", name, f.Dir), true)
		}
	}
	tmp, sum, err := f.writeTemp(ctx, name, r, size, perm)
	if err != nil {
		return "", outbox.Unavailable(fmt.Errorf("folder: put %q: %w", name, err), unavailable(err))
	}
	loc, err := f.publish(ctx, tmp, name, sum)
	// After publish the temp file is either linked and still there, or
	// was renamed away; either way it is removed from view now.
	if rmErr := os.Remove(tmp.path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
		err = rmErr
	}
	if err != nil {
		return "", outbox.Unavailable(fmt.Errorf("folder: put %q: %w", name, err), unavailable(err))
	}
	return loc, nil
}

// unavailable reports whether err says the folder cannot take a result for
// now but may later, once someone frees space or fixes a mount or a
// permission: the job then waits and retries instead of failing.
func unavailable(err error) bool {
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EACCES, syscall.EPERM, syscall.EIO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// CheckName returns an error unless name can be stored as a file of its
// own in a folder: it must not be empty, start with "." (hidden, and the
// prefix of temporary files), or contain "/", "\" or NUL.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("folder: empty file name")
	case name[0] == '.':
		return fmt.Errorf("folder: file name %q starts with \".\"; hidden names are reserved for files being written", name)
	case strings.ContainsAny(name, `/\`) || name != filepath.Base(name):
		return fmt.Errorf("folder: file name %q contains a path separator; results are stored flat", name)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("folder: file name %q contains a NUL byte", name)
	}
	return nil
}

// temp is a fully written and synced temporary file.
type temp struct {
	path string
	size int64
}

// writeTemp streams r into a new temporary file in the folder, syncs it,
// and returns it with the SHA-256 of its content. On error it removes it.
func (f *Folder) writeTemp(ctx context.Context, name string, r io.Reader, size int64, perm os.FileMode) (t temp, sum []byte, err error) {
	file, err := os.CreateTemp(f.Dir, filename.TempPattern(name))
	if err != nil {
		return t, nil, err
	}
	t.path = file.Name()
	defer func() {
		if err != nil {
			file.Close()
			os.Remove(t.path)
		}
	}()
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size+1) // one more, to notice a longer input
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	n, err := io.CopyBuffer(io.MultiWriter(file, h), outbox.ContextReader{Ctx: ctx, R: src}, buf)
	if err != nil {
		return t, nil, err
	}
	if size >= 0 && n != size {
		return t, nil, fmt.Errorf("input has %s bytes, expected %d", countText(n, size), size)
	}
	t.size = n
	if err := file.Chmod(perm); err != nil {
		return t, nil, err
	}
	if err := file.Sync(); err != nil {
		return t, nil, err
	}
	if err := file.Close(); err != nil {
		return t, nil, err
	}
	return t, h.Sum(nil), nil
}

func countText(n, size int64) string {
	if n > size {
		return "more than " + strconv.FormatInt(size, 10)
	}
	return strconv.FormatInt(n, 10)
}

// publish gives the temporary file its final name under the policy and
// returns the path of the result.
func (f *Folder) publish(ctx context.Context, t temp, name string, sum []byte) (string, error) {
	for i := 1; i <= maxRenames; i++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		candidate := name
		if i > 1 {
			candidate = numbered(name, i)
		}
		dst := filepath.Join(f.Dir, candidate)
		err := linkNoReplace(t.path, dst)
		if err == nil {
			return dst, syncDir(f.Dir)
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
		same, err := sameContent(dst, t.size, sum)
		if err != nil {
			return "", err
		}
		if same {
			return dst, nil
		}
		switch f.Policy {
		case PolicyFail:
			return "", fmt.Errorf("%s: %w", dst, outbox.ErrExists)
		case PolicyReplace:
			if err := os.Rename(t.path, dst); err != nil {
				return "", err
			}
			return dst, syncDir(f.Dir)
		}
	}
	return "", fmt.Errorf("%q and %d numbered names hold other results", name, maxRenames-1)
}

// numbered returns "stem (i).ext" for name "stem.ext", keeping double
// extensions such as ".tar.gz" together.
func numbered(name string, i int) string {
	ext := filepath.Ext(name)
	if ext == name {
		ext = "" // ".x" has no stem; CheckName rejects it anyway
	}
	stem := strings.TrimSuffix(name, ext)
	if inner := filepath.Ext(stem); strings.EqualFold(inner, ".tar") && inner != stem {
		ext = inner + ext
		stem = strings.TrimSuffix(stem, inner)
	}
	return fmt.Sprintf("%s (%d)%s", stem, i, ext)
}

// sameContent reports whether path is a regular file with the given size
// and SHA-256. A folder or other non-file in the way is other content.
func sameContent(path string, size int64, sum []byte) (bool, error) {
	file, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() || st.Size() != size {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), sum), nil
}

// linkNoReplace makes the file at oldpath visible at newpath too, failing
// with an error matching os.ErrExist if newpath exists. The caller removes
// oldpath afterwards if it still exists. It uses a hard link, which never
// replaces; where the filesystem has no hard links it falls back to the
// platform's renameNoReplace.
func linkNoReplace(oldpath, newpath string) error {
	err := os.Link(oldpath, newpath)
	if err == nil || errors.Is(err, os.ErrExist) || !linkUnsupported(err) {
		return err
	}
	return renameNoReplace(oldpath, newpath)
}

// linkUnsupported reports whether a Link error means the filesystem has
// no hard links (FAT, some network and FUSE filesystems).
func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EMLINK) || errors.Is(err, syscall.ENOSYS)
}

// syncDir makes a new directory entry durable. Filesystems that cannot
// sync a directory are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}

var _ outbox.Destination = (*Folder)(nil)

// checkThenRename is the last resort on filesystems with neither hard
// links nor an atomic no-replace rename: it renames only if newpath does
// not exist. A second writer creating newpath between the check and the
// rename would be replaced; that needs two concurrent puts of one name
// into one folder on such a filesystem.
func checkThenRename(oldpath, newpath string) error {
	if _, err := os.Lstat(newpath); err == nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: os.ErrExist}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Rename(oldpath, newpath)
}

// Sweep removes the temporary files that a Put cut short by a crash left
// in the folder (".<name>.<random>.partial"). Call it only when no Put of
// this folder is running, such as at start-up under the workspace lock.
func (f *Folder) Sweep(ctx context.Context) error {
	return f.SweepOlder(ctx, time.Time{})
}

// SweepOlder removes the temporary files of interrupted puts last
// written before before (all of them when before is zero): in a folder
// that other processes put to, theirs are younger.
func (f *Folder) SweepOlder(ctx context.Context, before time.Time) error {
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".partial") {
			if !before.IsZero() {
				if fi, err := e.Info(); err != nil || !fi.ModTime().Before(before) {
					continue
				}
			}
			if err := os.Remove(filepath.Join(f.Dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
