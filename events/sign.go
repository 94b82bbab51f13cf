package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook request.
const (
	HeaderSignature = "Erpipe-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
	HeaderEventID   = "Erpipe-Event-Id"
	HeaderEventType = "Erpipe-Event-Type"
	HeaderAttempt   = "Erpipe-Delivery-Attempt" // 1 for the first try
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock for Verify.
const DefaultTolerance = 5 * time.Minute

// Sign returns the Erpipe-Signature header of body sent at t: the
// timestamp in Unix seconds and the hex HMAC-SHA256, keyed by secret, of
// the timestamp, a dot and the body.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("the request has no valid Erpipe-Signature header (t=<unix seconds>,v1=<hex>)")
	ErrBadSignature = errors.New("the signature does not match the body: another secret, or a changed body")
	ErrStale        = errors.New("the signature's timestamp is too far from now: a replay, or a clock that is off")
)

// Verify checks an Erpipe-Signature header against body and secret, and
// that its timestamp is within tolerance of now (zero tolerance:
// DefaultTolerance). A receiver calls it with the raw body, before it
// parses it; it should also keep the event ids it has handled, since a
// delivery may come more than once.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
		case k == "t":
			ts = v
		case k == "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = ok || hmac.Equal([]byte(s), []byte(want))
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w (signed at %s, %s off)", ErrStale, time.Unix(sec, 0).UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	return nil
}
