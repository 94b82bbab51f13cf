package s3

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrChecksum is wrapped by the error Put returns when the content it read
// does not match the sha256 it announced in the metadata (the caller's
// MetaSHA256, or the hash of a first pass over a seekable reader). Nothing
// is stored in that case.
var ErrChecksum = errors.New("the content does not match its sha256")

// readError marks an error of the caller's reader (or of the content it
// yields), as opposed to an error of the store.
type readError struct{ err error }

func (e *readError) Error() string { return "reading the result: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// verifyReader passes r through, hashing what it reads. At the end of r it
// checks the byte count against size (when size >= 0) and the hash against
// want (when not empty), and turns io.EOF into an error if either differs,
// so that the upload fails instead of completing. Errors of r come back
// wrapped in *readError.
type verifyReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	want string
	err  error
}

func newVerifyReader(r io.Reader, size int64, want string) *verifyReader {
	return &verifyReader{r: r, h: sha256.New(), size: size, want: want}
}

// Read implements io.Reader.
func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.h.Write(p[:n])
		v.n += int64(n)
	}
	switch {
	case v.size >= 0 && v.n > v.size:
		v.err = &readError{fmt.Errorf("the result has more than the %d bytes announced", v.size)}
	case err == io.EOF && v.size >= 0 && v.n < v.size:
		v.err = &readError{fmt.Errorf("the result ended after %d of the %d bytes announced", v.n, v.size)}
	case err == io.EOF && v.want != "":
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			v.err = &readError{fmt.Errorf("%w: read sha256 %s, expected %s; did the result change while it was being written?",
				ErrChecksum, got, v.want)}
		} else {
			v.err = io.EOF
		}
	case err != nil:
		if err == io.EOF {
			v.err = io.EOF
		} else {
			var se *spoolError
			if errors.As(err, &se) {
				v.err = se
			} else {
				v.err = &readError{err}
			}
		}
	}
	return n, v.err
}
