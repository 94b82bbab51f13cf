package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// blobPrefix is where the emulator serves its blob container ("dmf", as
// D365's).
const blobPrefix = "/blob/dmf/"

// maxBlob bounds an upload.
const maxBlob = 1 << 30

// ErrBlobNotFound is returned by a BlobStore for a blob it does not hold.
var ErrBlobNotFound = errors.New("the specified blob does not exist")

// BlobStore keeps the blobs of an environment: uploaded packages, exported
// packages, error files and recurring messages. The default keeps them in
// memory and serves them from the emulator; a store backed by Azurite can
// take its place.
type BlobStore interface {
	// SignedURL returns a URL that allows perms ("r", "w" or "rw") on blob
	// name until expiry, without any other credential.
	SignedURL(ctx context.Context, name, perms string, expiry time.Time) (string, error)
	// Put stores data as blob name.
	Put(ctx context.Context, name string, data []byte) error
	// Fetch returns what the blob a SignedURL points at holds, or an
	// error wrapping ErrBlobNotFound.
	Fetch(ctx context.Context, signedURL string) ([]byte, error)
}

// memBlobs is the default BlobStore.
type memBlobs struct {
	s    *Server
	mu   sync.Mutex
	data map[string][]byte
}

func (m *memBlobs) SignedURL(ctx context.Context, name, perms string, expiry time.Time) (string, error) {
	base := baseURL(ctx)
	if base == "" {
		base = m.s.URL()
	}
	return base + blobPrefix + url.PathEscape(name) + "?" + m.s.sas(name, perms, expiry), nil
}

func (m *memBlobs) Put(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	m.data[name] = data
	m.mu.Unlock()
	return nil
}

func (m *memBlobs) get(name string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.data[name]
	return b, ok
}

func (m *memBlobs) Fetch(_ context.Context, signedURL string) ([]byte, error) {
	u, err := url.Parse(signedURL)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", signedURL, err)
	}
	name, ok := strings.CutPrefix(u.Path, blobPrefix)
	if !ok {
		return nil, fmt.Errorf("%s: %w", signedURL, ErrBlobNotFound)
	}
	b, ok := m.get(name)
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrBlobNotFound)
	}
	return b, nil
}

// sas is the query of a signed URL, in the shape of Azure's service SAS
// (sv=2014-02-14&sr=b&…&sp=rw, as RIS issue #113 shows).
func (s *Server) sas(name, perms string, expiry time.Time) string {
	st := time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)
	se := expiry.UTC().Format(time.RFC3339)
	q := url.Values{"sv": {"2014-02-14"}, "sr": {"b"}, "st": {st}, "se": {se}, "sp": {perms}, "sig": {s.sign(name, perms, st, se)}}
	return q.Encode()
}

func (s *Server) sign(name, perms, st, se string) string {
	mac := hmac.New(sha256.New, s.key)
	fmt.Fprintf(mac, "%s\n%s\n%s\n/dmf/%s", perms, st, se, name)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// checkSAS answers 403 as Azure does when the URL's signature is wrong,
// expired or lacks perm, and reports whether the request may go on.
func (s *Server) checkSAS(w http.ResponseWriter, r *http.Request, name, perm string) bool {
	q := r.URL.Query()
	st, se, sp := q.Get("st"), q.Get("se"), q.Get("sp")
	if !hmac.Equal([]byte(q.Get("sig")), []byte(s.sign(name, sp, st, se))) {
		azureError(w, http.StatusForbidden, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.", "Signature did not match. String to sign used was "+sp)
		return false
	}
	exp, err := time.Parse(time.RFC3339, se)
	if err != nil || !time.Now().Before(exp) {
		azureError(w, http.StatusForbidden, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
			fmt.Sprintf("Signed expiry time [%s] must be after the current time [%s]", exp.UTC().Format(http.TimeFormat), time.Now().UTC().Format(http.TimeFormat)))
		return false
	}
	if !strings.Contains(sp, perm) {
		azureError(w, http.StatusForbidden, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.", "")
		return false
	}
	return true
}

func (s *Server) putBlob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.checkSAS(w, r, name, "w") {
		return
	}
	switch r.URL.Query().Get("comp") {
	case "block":
		s.putBlock(w, r, name)
		return
	case "blocklist":
		s.putBlockList(w, r, name)
		return
	case "":
	default:
		azureErrorBody(w, http.StatusBadRequest, "UnsupportedQueryParameter", "One of the query parameters specified in the request URI is not supported.", "<QueryParameterName>comp</QueryParameterName>")
		return
	}
	if r.Header.Get("x-ms-blob-type") == "" {
		w.Header().Set("x-ms-error-code", "MissingRequiredHeader")
		azureErrorBody(w, http.StatusBadRequest, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.", "<HeaderName>x-ms-blob-type</HeaderName>")
		return
	}
	if t := r.Header.Get("x-ms-blob-type"); t != "BlockBlob" {
		azureErrorBody(w, http.StatusBadRequest, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.", "<HeaderName>x-ms-blob-type</HeaderName><HeaderValue>"+t+"</HeaderValue>")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBlob+1))
	if err != nil {
		return // the client went away
	}
	if len(data) > maxBlob {
		azureError(w, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.", "")
		return
	}
	s.commitBlob(w, r, name, data)
}

// commitBlob stores a whole blob and answers 201 as Put Blob does.
func (s *Server) commitBlob(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	if err := s.store.Put(r.Context(), name, data); err != nil {
		azureError(w, http.StatusInternalServerError, "InternalError", err.Error(), "")
		return
	}
	s.mu.Lock()
	delete(s.blocks, name)
	s.mu.Unlock()
	sum := md5.Sum(data)
	h := w.Header()
	h.Set("ETag", fmt.Sprintf(`"0x%X"`, time.Now().UnixNano()))
	h.Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	h.Set("x-ms-request-id", strings.ToLower(newGUID()))
	h.Set("x-ms-version", "2014-02-14")
	h.Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
}

// putBlock stages a block (Put Block), as the Azure SDKs do for large
// uploads.
func (s *Server) putBlock(w http.ResponseWriter, r *http.Request, name string) {
	id := r.URL.Query().Get("blockid")
	if _, err := base64.StdEncoding.DecodeString(id); err != nil || id == "" {
		azureErrorBody(w, http.StatusBadRequest, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.", "<QueryParameterName>blockid</QueryParameterName>")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBlob+1))
	if err != nil {
		return
	}
	s.mu.Lock()
	staged := 0
	for _, b := range s.blocks[name] {
		staged += len(b)
	}
	if staged+len(data) > maxBlob {
		s.mu.Unlock()
		azureError(w, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.", "")
		return
	}
	if s.blocks[name] == nil {
		s.blocks[name] = map[string][]byte{}
	}
	s.blocks[name][id] = data
	s.mu.Unlock()
	w.Header().Set("x-ms-request-id", strings.ToLower(newGUID()))
	w.WriteHeader(http.StatusCreated)
}

// putBlockList commits staged blocks as the blob (Put Block List).
func (s *Server) putBlockList(w http.ResponseWriter, r *http.Request, name string) {
	var list struct {
		IDs []struct {
			ID string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := xml.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&list); err != nil {
		azureErrorBody(w, http.StatusBadRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.", "")
		return
	}
	var data []byte
	s.mu.Lock()
	for _, b := range list.IDs {
		block, ok := s.blocks[name][strings.TrimSpace(b.ID)]
		if !ok {
			s.mu.Unlock()
			azureErrorBody(w, http.StatusBadRequest, "InvalidBlockList", "The specified block list is invalid.", "")
			return
		}
		data = append(data, block...)
	}
	s.mu.Unlock()
	s.commitBlob(w, r, name, data)
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.checkSAS(w, r, name, "r") {
		return
	}
	data, err := s.store.Fetch(r.Context(), "https://"+r.Host+blobPrefix+url.PathEscape(name))
	if err != nil {
		azureError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.", "")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("x-ms-version", "2014-02-14")
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// azureError answers in Azure Storage's error shape: XML and the
// x-ms-error-code header.
func azureError(w http.ResponseWriter, code int, azCode, msg, detail string) {
	extra := ""
	if detail != "" {
		extra = "<AuthenticationErrorDetail>" + xmlEscape(detail) + "</AuthenticationErrorDetail>"
	}
	azureErrorBody(w, code, azCode, msg, extra)
}

func azureErrorBody(w http.ResponseWriter, code int, azCode, msg, extraXML string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", azCode)
	w.WriteHeader(code)
	fmt.Fprintf(w, "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s</Message>%s</Error>",
		azCode, xmlEscape(msg), strings.ToLower(newGUID()), time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"), extraXML)
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
