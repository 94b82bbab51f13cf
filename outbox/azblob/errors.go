package azblob

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/erpipe/erpipe/outbox"
)

// Error is a failed operation of an Azure Blob Storage destination.
type Error struct {
	// Op is the operation: "put".
	Op string
	// Name is the result's name as given to Put.
	Name string
	// Location is the blob's URL, or the destination
	// "azblob://account/container/prefix" when the blob name could not be
	// made. It never carries a SAS token.
	Location string
	// Transient is true when the same Put may succeed later without a
	// change to the data or the configuration: the account is
	// unreachable, busy or throttling, a request timed out, or the
	// context ended. The caller keeps the job pending and retries.
	Transient bool
	// Err is the cause.
	Err error

	hint   string              // what to do about it, if known
	redact func(string) string // hides the credential's secrets; a func, so that %#v shows none
}

// Error returns "azblob put URL: cause", followed by what to do about it
// when that is known. Secrets of the destination's credential are
// replaced by "[REDACTED]", wherever the cause may have picked them up.
func (e *Error) Error() string {
	msg := "azblob " + e.Op + " " + e.Location + ": " + describe(e.Err)
	if e.hint != "" {
		msg += " (" + e.hint + ")"
	}
	if e.redact != nil {
		msg = e.redact(msg)
	}
	return msg
}

// GoString returns Error(), so that %#v shows no more than %v: the cause
// may hold a request URL with a SAS token.
func (e *Error) GoString() string { return e.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports Transient, for outbox.IsTransient.
func (e *Error) Temporary() bool { return e.Transient }

// redact replaces each secret in s.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 8 { // a short "secret" would blank out common words
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}

// describe says what err is without the noise of the SDK's messages (a
// multi-line dump of the answer) and without request URLs, which carry a
// SAS token when there is one.
func describe(err error) string {
	var auth *azidentity.AuthenticationFailedError
	if errors.As(err, &auth) {
		return "Microsoft Entra ID " + entraAnswer(auth.RawResponse)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" {
			code = http.StatusText(re.StatusCode)
		}
		return fmt.Sprintf("the storage service answered %d %s", re.StatusCode, code)
	}
	return oneLine(err.Error())
}

// entraAnswer says what Entra ID answered: the status, its error code
// and the first sentence of its description ("AADSTS7000215: Invalid
// client secret provided.").
func entraAnswer(resp *http.Response) string {
	if resp == nil {
		return "could not be asked for a token"
	}
	msg := fmt.Sprintf("answered %d", resp.StatusCode)
	body, err := runtime.Payload(resp)
	if err != nil {
		return msg
	}
	var v struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &v) != nil || v.Error == "" {
		return msg
	}
	desc, _, _ := strings.Cut(v.Description, "\n")
	desc, _, _ = strings.Cut(desc, " Trace ID:")
	return msg + " " + v.Error + ": " + strings.TrimSpace(desc)
}

// oneLine joins the lines of a multi-line message (azidentity's list of
// the credentials it tried), leaving out rules and blank lines.
func oneLine(s string) string {
	var parts []string
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && strings.Trim(line, "-") != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
}

// noURL drops the request URL that net/http puts into its errors
// (`Put "https://...?sig=...": dial tcp ...`), keeping the chain for
// errors.Is and errors.As.
func noURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &urlFreeError{op: ue.Op, err: ue.Err, whole: err}
}

type urlFreeError struct {
	op    string
	err   error // the url.Error's cause
	whole error // the chain, for Unwrap
}

func (e *urlFreeError) Error() string { return e.op + ": " + e.err.Error() }
func (e *urlFreeError) Unwrap() error { return e.whole }

// transientCodes are error codes of the storage service that mean "try
// again later".
var transientCodes = map[bloberror.Code]bool{
	bloberror.ServerBusy:         true,
	bloberror.OperationTimedOut:  true,
	bloberror.InternalError:      true,
	"ConditionalRequestConflict": false,
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
	case errors.As(err, new(*lostRaceError)):
		return true
	}
	var resp *azcore.ResponseError
	if errors.As(err, &resp) {
		switch c := resp.StatusCode; {
		case c >= 500, c == http.StatusTooManyRequests, c == http.StatusRequestTimeout:
			return true
		}
		return transientCodes[bloberror.Code(resp.ErrorCode)]
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		// No such host is a wrong account or endpoint, not an outage.
		return !dns.IsNotFound
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return true
	case errors.As(err, new(*net.OpError)),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		// Refused, reset, or closed in the middle of an answer.
		return true
	}
	var auth *azidentity.AuthenticationFailedError
	if errors.As(err, &auth) && auth.RawResponse != nil {
		c := auth.RawResponse.StatusCode
		return c >= 500 || c == http.StatusTooManyRequests || c == http.StatusRequestTimeout
	}
	return false
}

// isCertError reports whether err is a failed TLS certificate check.
func isCertError(err error) bool {
	return errors.As(err, new(*tls.CertificateVerificationError)) ||
		errors.As(err, new(x509.UnknownAuthorityError)) ||
		errors.As(err, new(x509.HostnameError)) ||
		errors.As(err, new(x509.CertificateInvalidError))
}

// hint says what to do about common failures.
func (d *Blob) hint(err error) string {
	cr := d.cred
	var re *azcore.ResponseError
	code, status := bloberror.Code(""), 0
	if errors.As(err, &re) {
		code, status = bloberror.Code(re.ErrorCode), re.StatusCode
	}
	var auth *azidentity.AuthenticationFailedError
	var dns *net.DNSError
	switch {
	case errors.As(err, &auth):
		return "Microsoft Entra ID refused the sign-in: check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET " +
			"(or the certificate, workload or managed identity) and that the secret has not expired"
	case isCredentialUnavailable(err):
		return "no Microsoft Entra ID credential was found: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, " +
			"or run where a managed or workload identity is assigned, or sign in with az login"
	case code == bloberror.ContainerNotFound:
		return fmt.Sprintf("container %q does not exist in storage account %q; create it, or fix container:", d.cfg.Container, cr.account)
	case code == bloberror.AuthenticationFailed || code == bloberror.AuthorizationFailure ||
		code == bloberror.AuthorizationPermissionMismatch || code == bloberror.InsufficientAccountPermissions ||
		status == http.StatusForbidden:
		switch cr.kind {
		case CredentialSAS:
			return fmt.Sprintf("the storage account refused the SAS token in %s: check that it has not expired, that it is for account %q "+
				"and container %q, and that it allows read, create and write (sp=rcw)", cr.source, cr.account, d.cfg.Container)
		case CredentialEntra:
			return fmt.Sprintf("the storage account refused the Entra ID identity: give it the role Storage Blob Data Contributor "+
				"on container %q of account %q (a new role assignment takes a few minutes)", d.cfg.Container, cr.account)
		default:
			if cr.key == "" { // a connection string with a SAS
				return fmt.Sprintf("the storage account refused the SAS of the connection string in %s: check that it has not "+
					"expired and allows read, create and write (sp=rcw)", cr.source)
			}
			return fmt.Sprintf("the storage account refused the access key in %s: check that it is key1 or key2 of account %q "+
				"and has not been rotated, and that this machine's clock is right", cr.source, cr.account)
		}
	case isCertError(err):
		return "the storage endpoint's TLS certificate is not trusted; set ca_file to its certificate authority"
	case errors.As(err, &dns) && dns.IsNotFound:
		return fmt.Sprintf("there is no storage endpoint %s; check account: (and endpoint:)", cr.endpoint)
	case errors.As(err, new(*net.OpError)):
		return "cannot reach the storage account at " + cr.endpoint + "; check that it runs and that the endpoint is right"
	}
	return ""
}

// isCredentialUnavailable reports whether err says that no Entra ID
// credential is configured (as opposed to one that was refused).
// azidentity's type for it is not exported; its message is.
func isCredentialUnavailable(err error) bool {
	return strings.Contains(err.Error(), "DefaultAzureCredential: failed to acquire a token")
}

// isNotFound reports whether err is a 404 of the blob (not of its
// container).
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
		return false
	}
	return re.ErrorCode == "" || bloberror.Code(re.ErrorCode) == bloberror.BlobNotFound
}

// isConditionLost reports whether a conditional write failed because the
// blob exists (409 BlobAlreadyExists, 412 ConditionNotMet) or changed.
func isConditionLost(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch bloberror.Code(re.ErrorCode) {
	case bloberror.BlobAlreadyExists, bloberror.ConditionNotMet:
		return true
	}
	return re.StatusCode == http.StatusPreconditionFailed
}

// lostRaceError is a put that lost its name to another writer between the
// check and the commit, under a policy that would store it under another
// name; it is tried again later.
type lostRaceError struct{ key string }

func (e *lostRaceError) Error() string {
	return fmt.Sprintf("another writer stored other content as %q while this result was uploaded; it is tried again", e.key)
}
