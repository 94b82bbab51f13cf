package inbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// ErrCrossDevice is returned (wrapped) by Claim when the inbox and the
// claim folder are on different filesystems, where a rename cannot be
// atomic. Claim never falls back to copying: put the claim folder on the
// filesystem of the inbox.
var ErrCrossDevice = errors.New("the inbox and the claim folder are on different filesystems")

// claimStamp is the layout of the time at the start of a claimed name.
const claimStamp = "20060102T150405.000000Z"

// maxName is the longest file name, in bytes, that common filesystems
// (ext4, XFS, NTFS in UTF-16 units, APFS) accept.
const maxName = 255

// Claim moves the file at path into folder dir by one atomic rename and
// returns its new path. dir is created if missing. The new name is
// "<UTC time>-<random>-<name>", for example
// "20240501T101530.123456Z-3fa9c1d2-invoices.xlsx", so claimed files sort
// by claim time and two claims never collide; a name too long for the
// filesystem is shortened before its extension. [OriginalName] gives back
// the name.
//
// Of several processes claiming the same file, exactly one succeeds; the
// others get an error that satisfies errors.Is(err, fs.ErrNotExist), which
// means someone else has it. A claim across filesystems fails with an
// error wrapping [ErrCrossDevice]; the file stays where it was.
func Claim(path, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("inbox: claim %q: %w", path, err)
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("inbox: claim %q: %w", path, err)
	}
	dst := filepath.Join(dir, claimedName(filepath.Base(path), time.Now(), hex.EncodeToString(rnd[:])))
	if err := os.Rename(path, dst); err != nil {
		if errors.Is(err, syscall.EXDEV) {
			return "", fmt.Errorf("inbox: claim %q into %q: %w; put the folders on one filesystem: %w", path, dir, ErrCrossDevice, err)
		}
		return "", fmt.Errorf("inbox: claim: %w", err)
	}
	return dst, nil
}

// claimedName builds the name Claim gives a file: the time, a random tag
// and the original name, shortened to fit maxName bytes.
func claimedName(name string, now time.Time, tag string) string {
	prefix := now.UTC().Format(claimStamp) + "-" + tag + "-"
	return prefix + shorten(name, maxName-len(prefix))
}

// OriginalName returns the name a file had before [Claim] renamed it, from
// its claimed path or name. Names Claim had to shorten come back shortened.
// A name Claim did not make is returned as its base name unchanged.
func OriginalName(claimed string) string {
	name := filepath.Base(claimed)
	stamp, rest, ok := strings.Cut(name, "-")
	if !ok || len(stamp) != len(claimStamp) {
		return name
	}
	if _, err := time.Parse(claimStamp, stamp); err != nil {
		return name
	}
	tag, orig, ok := strings.Cut(rest, "-")
	if !ok || tag == "" || orig == "" {
		return name
	}
	if _, err := hex.DecodeString(tag); err != nil {
		return name
	}
	return orig
}

// shorten cuts name to at most max bytes, keeping a short extension and
// whole UTF-8 characters.
func shorten(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := filepath.Ext(name)
	if len(ext) > 16 || len(ext) >= max {
		ext = ""
	}
	stem := name[:len(name)-len(ext)]
	n := max - len(ext)
	// Back up to the start of a character, but not past what a valid
	// UTF-8 character can span: invalid bytes are cut anywhere.
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(stem[i]) {
			n = i
			break
		}
	}
	return stem[:n] + ext
}
