// Package outbox delivers results to destinations: folders, object
// storage, and receivers that process what they get (D365). Every
// destination implements the small Destination interface; those that
// store objects pass the same conformance suite (outbox/outboxtest).
package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrExists is returned by Put when an object of that name holds other
// content and the destination's policy forbids replacing it.
var ErrExists = errors.New("a different result of that name already exists")

// Destination receives results.
type Destination interface {
	// String names the destination for logs and job records, e.g.
	// "folder outbox/customers-v3". It never contains credentials.
	String() string
	// Put stores size bytes from r under name (a base name, no folders).
	// It is atomic: a reader of the destination sees the whole object or
	// nothing, also when r fails half-way. It is idempotent: putting the
	// same content under the same name again succeeds and changes nothing.
	// It never silently replaces different content; depending on the
	// destination's policy it stores under a free name instead or fails
	// with ErrExists. It returns where the object landed (a path or URL).
	Put(ctx context.Context, name string, r io.Reader, size int64) (location string, err error)
}

// MetaPutter is a Destination that keeps metadata with each object: the
// job id, the template and its version, the input's and the output's
// sha256, so that a result can be traced from the store alone.
type MetaPutter interface {
	Destination
	PutMeta(ctx context.Context, name string, r io.Reader, size int64, meta map[string]string) (location string, err error)
}

// Metadata keys callers pass to MetaPutter.PutMeta.
const (
	MetaSHA256      = "sha256"       // the output's sha256 (hex)
	MetaJob         = "job"          // the job id
	MetaTemplate    = "template"     // template name and version, "customers-v3 1.0.0"
	MetaInputSHA256 = "input-sha256" // the input's sha256 (hex)
	MetaDate        = "date"         // the job's date, YYYY-MM-DD
	// MetaMode is the widest permission, in octal ("0600"), a destination
	// that stores files may give the stored file, so that a result is no
	// more readable than its input; object stores ignore it.
	MetaMode = "mode"
)

// IsTransient reports whether err says the destination is unavailable for
// now (down, unreachable, throttling), so that the same Put may succeed
// later without a change to the data or the configuration. Destinations
// mark such errors with a Temporary() bool method.
func IsTransient(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// IsBusy reports whether err says the destination is working on the put
// (D365 importing a package, a data project busy with another import)
// rather than down: a transient error that is part of the normal course,
// waited for without a warning. Destinations mark such errors with a
// Busy() bool method.
func IsBusy(err error) bool {
	var b interface{ Busy() bool }
	return errors.As(err, &b) && b.Busy()
}

// Unavailable marks err as transient when transient is true (see
// IsTransient), and returns it unchanged otherwise.
func Unavailable(err error, transient bool) error {
	if !transient || err == nil {
		return err
	}
	return &unavailableError{err}
}

type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return e.err.Error() }
func (e *unavailableError) Unwrap() error   { return e.err }
func (e *unavailableError) Temporary() bool { return true }

// Sweeper is a Destination that can clean up what interrupted puts left
// behind (temporary files, unfinished multipart uploads). The service calls
// Sweep at start-up, before any Put.
type Sweeper interface {
	Sweep(ctx context.Context) error
}

// AgedSweeper is a Destination that can clean up, while other processes
// may be putting to it (the nodes of a cluster), the temporary files of
// interrupted puts that were last written before a time: no live put is
// that old.
type AgedSweeper interface {
	SweepOlder(ctx context.Context, before time.Time) error
}

// ContextReader reads R until Ctx ends, so that copying or hashing a large
// result stops when its Put is cancelled.
type ContextReader struct {
	Ctx context.Context
	R   io.Reader
}

func (c ContextReader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}

// PartialError is a Put whose object was delivered to a receiver that
// processes it (D365) and reported problems with part of it (rows it
// refused): the output is delivered, at Location, and the job ends with
// errors. Problems say what was refused and where its detail is.
type PartialError struct {
	Location string
	Problems []string
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("delivered to %s with problems: %s", e.Location, strings.Join(e.Problems, "; "))
}
