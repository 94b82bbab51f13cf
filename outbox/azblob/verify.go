package azblob

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrChecksum is wrapped by the error Put returns when the content it read
// does not match the sha256 the caller announced in the metadata. Nothing
// is stored in that case: the blocks read are never committed.
var ErrChecksum = errors.New("the content does not match its sha256")

// readError marks an error of the caller's reader (or of the content it
// yields), as opposed to an error of the storage account.
type readError struct{ err error }

func (e *readError) Error() string { return "reading the result: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// spoolError marks an error of the spool file, so that it is not taken
// for an error of the caller's reader.
type spoolError struct{ err error }

func (e *spoolError) Error() string { return "writing the spool file: " + e.err.Error() }
func (e *spoolError) Unwrap() error { return e.err }

// hashReader passes r through, computing the sha256 and MD5 of what it
// reads. At the end of r it checks the byte count against size (when
// size >= 0) and the sha256 against want (when not empty), and turns
// io.EOF into an error if either differs, so that nothing is committed.
// Errors of r come back wrapped in *readError.
type hashReader struct {
	r    io.Reader
	sha  hash.Hash
	md5  hash.Hash
	n    int64
	size int64
	want string
	err  error
}

func newHashReader(r io.Reader, size int64, want string) *hashReader {
	return &hashReader{r: r, sha: sha256.New(), md5: md5.New(), size: size, want: want}
}

// Read implements io.Reader.
func (v *hashReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.sha.Write(p[:n])
		v.md5.Write(p[:n])
		v.n += int64(n)
	}
	switch {
	case v.size >= 0 && v.n > v.size:
		v.err = &readError{fmt.Errorf("the result has more than the %d bytes announced", v.size)}
	case err == io.EOF && v.size >= 0 && v.n < v.size:
		v.err = &readError{fmt.Errorf("the result ended after %d of the %d bytes announced", v.n, v.size)}
	case err == io.EOF && v.want != "":
		if got := v.sum(); got != v.want {
			v.err = &readError{fmt.Errorf("%w: read sha256 %s, expected %s; did the result change while it was being written?",
				ErrChecksum, got, v.want)}
		} else {
			v.err = io.EOF
		}
	case err != nil:
		var se *spoolError
		switch {
		case err == io.EOF:
			v.err = io.EOF
		case errors.As(err, &se):
			v.err = se
		default:
			v.err = &readError{err}
		}
	}
	return n, v.err
}

// sum returns the sha256 of what was read, in lowercase hex.
func (v *hashReader) sum() string { return hex.EncodeToString(v.sha.Sum(nil)) }

// md5Sum returns the MD5 of what was read.
func (v *hashReader) md5Sum() []byte { return v.md5.Sum(nil) }

// spoolWriter marks write errors of the spool file.
type spoolWriter struct{ w io.Writer }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		err = &spoolError{err}
	}
	return n, err
}

// md5Of returns the MD5 of b.
func md5Of(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}
