// Package outbox delivers results to destinations: a folder now, object
// storage later. Every destination implements the small Destination
// interface and passes the same conformance suite (outbox/outboxtest).
package outbox

import (
	"context"
	"errors"
	"io"
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
