package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

// TestUnavailable checks which errors of a put make the folder
// "unavailable for now" (the job waits and retries) rather than failed:
// a full disk or quota, a read-only or unmounted-looking folder, missing
// permissions and I/O errors, however deeply wrapped. The e2e test with a
// real full and read-only tmpfs needs root to mount; this one runs
// everywhere.
func TestUnavailable(t *testing.T) {
	pathErr := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "write", Path: "/outbox/.x.tmp", Err: errno}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{pathErr(syscall.ENOSPC), true},
		{pathErr(syscall.EDQUOT), true},
		{pathErr(syscall.EROFS), true},
		{pathErr(syscall.EACCES), true},
		{pathErr(syscall.EPERM), true},
		{pathErr(syscall.EIO), true},
		{fmt.Errorf("folder: put %q: %w", "a.csv", &os.LinkError{Op: "link", Old: "a", New: "b", Err: syscall.EROFS}), true},
		{pathErr(syscall.ENAMETOOLONG), false},
		{pathErr(syscall.EINVAL), false},
		{errors.New("something else"), false},
	} {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
