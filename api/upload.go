package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"

	"github.com/erpipe/erpipe/internal/filename"
	"github.com/erpipe/erpipe/jobs"
)

// received is an upload streamed to disk.
type received struct {
	path   string
	sha256 string
	size   int64
}

// receive streams r's body into a new upload file called name, hashing
// it on the way; never more than the upload limit, never slower than the
// body timeout allows. On error it has answered and removed the file.
func (a *API) receive(w http.ResponseWriter, r *http.Request, name string) (*received, bool) {
	hc := a.config()
	limit := hc.UploadLimit()
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the upload is %d bytes; this erpipe takes at most %d (http: max_upload in erpipe.yaml)", r.ContentLength, limit))
		return nil, false
	}
	_, bodyTimeout, _, _ := hc.Timeouts() // guard set the read deadline: a slow client is cut off
	path, err := a.svc.NewUploadFile(name)
	if err != nil {
		a.internalError(w, r, err)
		return nil, false
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		a.svc.DiscardUpload(path)
		a.internalError(w, r, err)
		return nil, false
	}
	h := sha256.New()
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, limit)}
	n, err := io.Copy(io.MultiWriter(f, h), body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		a.svc.DiscardUpload(path)
		var tooBig *http.MaxBytesError
		var ne interface{ Timeout() bool }
		switch {
		case errors.As(body.err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the upload is larger than %d bytes, the most this erpipe takes (http: max_upload in erpipe.yaml); nothing was kept", limit))
		case errors.As(body.err, &ne) && ne.Timeout():
			writeError(w, http.StatusRequestTimeout, "timeout", fmt.Sprintf("the upload took longer than %s (http: body_timeout); nothing was kept: send it again", bodyTimeout))
		case body.err != nil || errors.Is(err, io.ErrUnexpectedEOF):
			// The client's side: cut short, or the connection broke.
			writeError(w, http.StatusBadRequest, "truncated", fmt.Sprintf("the upload ended after %d bytes, before its end (Content-Length %d); nothing was kept: send it again", n, r.ContentLength))
		case isNoSpace(err):
			a.log.Error("an upload could not be written: the disk is full", "err", err)
			w.Header().Set("Retry-After", "60")
			writeError(w, http.StatusInsufficientStorage, "no_space", "erpipe's disk is full; nothing was kept: send it again later")
		default:
			a.internalError(w, r, err)
		}
		return nil, false
	}
	return &received{path: path, sha256: hex.EncodeToString(h.Sum(nil)), size: n}, true
}

// bodyReader keeps the error of reading a request's body, to tell the
// client's failures (cut short, too large, too slow) from the disk's.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// uploadName is the input's name: ?name=, else Content-Disposition's
// filename, else fallback; made a safe plain file name.
func uploadName(r *http.Request, fallback string) (string, error) {
	name := r.URL.Query().Get("name")
	if name == "" {
		if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
			name = params["filename"]
		}
	}
	if name == "" {
		name = fallback
	}
	return safeName(name)
}

// safeName refuses names that are not a plain file name.
func safeName(name string) (string, error) {
	name = strings.TrimSpace(filepath.Base(strings.ReplaceAll(name, `\`, "/")))
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("the file name %q is not a plain file name; give one such as customers.csv with ?name=", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '/' {
			return "", fmt.Errorf("the file name %q has control characters; give a plain file name with ?name=", name)
		}
	}
	return filename.Shorten(name, 200), nil
}

// submit hands a received file to the daemon, answering the error when
// it is not taken.
func (a *API) submit(w http.ResponseWriter, r *http.Request, u jobs.Upload) (*jobs.Job, bool, bool) {
	job, replayed, err := a.svc.Submit(r.Context(), u)
	var kc *jobs.KeyConflictError
	switch {
	case err == nil:
		return job, replayed, true
	case errors.As(err, &kc):
		writeError(w, http.StatusConflict, "idempotency_key_reused", err.Error())
	case errors.Is(err, jobs.ErrNoPipeline):
		writeError(w, http.StatusNotFound, "no_pipeline", fmt.Sprintf("no pipeline %q; list them with GET /api/v1/pipelines", u.Pipeline))
	case errors.Is(err, jobs.ErrNotRunning):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "not_running", err.Error())
	default:
		a.internalError(w, r, err)
	}
	return nil, false, false
}
