package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/erpipe/erpipe/outbox"
)

// Error is a failed operation of an S3 destination.
type Error struct {
	// Op is the operation: "put".
	Op string
	// Name is the result's name as given to Put.
	Name string
	// Location is "s3://bucket/key" of the object, or the destination
	// "s3://bucket/prefix" when the key could not be made.
	Location string
	// Transient is true when the same Put may succeed later without a
	// change to the data or the configuration: the store is down or
	// unreachable, overloaded or throttling, a request timed out, or the
	// context ended. The caller keeps the job pending and retries.
	Transient bool
	// Err is the cause.
	Err error

	hint string // what to do about it, if known
}

// Error returns "s3 put s3://bucket/key: cause", followed by what to do
// about it when that is known.
func (e *Error) Error() string {
	msg := "s3 " + e.Op + " " + e.Location + ": " + e.Err.Error()
	if e.hint != "" {
		msg += " (" + e.hint + ")"
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports Transient, for outbox.IsTransient.
func (e *Error) Temporary() bool { return e.Transient }

// retryableCodes are error codes the SDK does not retry by default but
// that mean "try again": AWS answers 409 ConditionalRequestConflict when
// conditional writes to the same key race.
var retryableCodes = map[string]struct{}{
	"ConditionalRequestConflict": {},
}

// classify decides whether err is transient (Error.Transient, which
// outbox.IsTransient reads).
func classify(err error) bool {
	var re *readError
	var se *spoolError
	switch {
	case err == nil, errors.Is(err, outbox.ErrExists):
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The put did not happen; the job is handed back, not failed.
		return true
	case errors.As(err, &re), errors.As(err, &se), isCertError(err):
		return false
	case errors.As(err, new(ratelimit.QuotaExceededError)):
		// The client gave up retrying because too many requests failed.
		return true
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The connection broke in the middle of an answer.
		return true
	}
	if retry.IsErrorRetryables(retryables()).IsErrorRetryable(err) == aws.TrueTernary {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		c := status.HTTPStatusCode()
		return c >= 500 || c == http.StatusTooManyRequests || c == http.StatusRequestTimeout
	}
	return false
}

// retryables is the SDK's list of retryable error checks, plus
// retryableCodes, minus TLS certificate errors: the SDK retries those as
// connection errors, but an untrusted certificate needs a person.
func retryables() []retry.IsErrorRetryable {
	r := []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
		if isCertError(err) {
			return aws.FalseTernary
		}
		return aws.UnknownTernary
	})}
	r = append(r, retry.DefaultRetryables...)
	return append(r, retry.RetryableErrorCode{Codes: retryableCodes})
}

// isCertError reports whether err is a failed TLS certificate check.
func isCertError(err error) bool {
	return errors.As(err, new(*tls.CertificateVerificationError)) ||
		errors.As(err, new(x509.UnknownAuthorityError)) ||
		errors.As(err, new(x509.HostnameError)) ||
		errors.As(err, new(x509.CertificateInvalidError))
}

// hint says what to do about common failures of the store.
func hint(err error, bucket, endpoint string) string {
	if endpoint == "" {
		endpoint = "AWS S3"
	}
	var api smithy.APIError
	code := ""
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	var status interface{ HTTPStatusCode() int }
	httpStatus := 0
	if errors.As(err, &status) {
		httpStatus = status.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket":
		return fmt.Sprintf("bucket %q does not exist at %s; create it or fix the bucket name", bucket, endpoint)
	case code == "RequestTimeTooSkewed":
		return "this machine's clock is off; synchronise it (NTP)"
	case code == "InvalidAccessKeyId", code == "SignatureDoesNotMatch", code == "AccessDenied",
		httpStatus == http.StatusForbidden:
		return "the store refused the credentials or the write: check the AWS credentials " +
			"(AWS_PROFILE, AWS_ACCESS_KEY_ID, the instance role) and that they may write to bucket " + strconv.Quote(bucket)
	case isCertError(err):
		return "the store's TLS certificate is not trusted; set the CA file (ca_file=) to its certificate authority"
	case errors.As(err, new(*net.OpError)), errors.As(err, new(*net.DNSError)):
		return "cannot reach the store at " + endpoint + "; check that it runs and that the endpoint is right"
	}
	return ""
}

// isNotFound reports whether err is a 404 of HeadObject.
func isNotFound(err error) bool {
	var nf *types.NotFound
	var nsk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nsk) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey") {
		return true
	}
	return false
}

// isConditionLost reports whether a conditional write failed because the
// key already exists (412 PreconditionFailed) or another conditional
// write to it is in progress (409 ConditionalRequestConflict).
func isConditionLost(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var status interface{ HTTPStatusCode() int }
	return errors.As(err, &status) && status.HTTPStatusCode() == http.StatusPreconditionFailed
}
