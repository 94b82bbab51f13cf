package s3

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// maxRetryAfter caps the wait a store can ask for with Retry-After within
// one Put. A store that wants a longer pause gets a transient error, and
// the job is retried later from durable state.
const maxRetryAfter = time.Minute

// retryer is the SDK's standard retryer (exponential back-off with full
// jitter, a retry quota, 5xx/429/throttling/connection errors retried; see
// retryables for the changes) that also waits as long as a standard Retry-After header asks.
//
// The SDK itself only reads the non-standard x-amz-retry-after header
// (milliseconds, clamped to the back-off plus 5 s). S3-compatible stores
// and proxies in front of them send the standard Retry-After (RFC 9110
// §10.2.3: seconds or an HTTP date) with 429 and 503.
type retryer struct {
	aws.RetryerV2
	now func() time.Time
}

func newRetryer(maxAttempts int) *retryer {
	std := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.Retryables = retryables()
	})
	return &retryer{RetryerV2: std, now: time.Now}
}

// RetryDelay returns the standard back-off, or the Retry-After of the
// failed attempt's answer when that is longer (at most maxRetryAfter).
func (r *retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, derr := r.RetryerV2.RetryDelay(attempt, err)
	if derr != nil {
		return d, derr
	}
	if ra, ok := retryAfter(err, r.now()); ok && ra > d {
		d = min(ra, maxRetryAfter)
	}
	return d, nil
}

// retryAfter returns the wait asked for by the Retry-After header of the
// HTTP answer in err, if any.
func retryAfter(err error, now time.Time) (time.Duration, bool) {
	var re interface{ HTTPResponse() *smithyhttp.Response }
	if !errors.As(err, &re) {
		return 0, false
	}
	resp := re.HTTPResponse()
	if resp == nil || resp.Response == nil {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
