// Package console is erpipe's web console for operators: static pages
// (HTML, CSS and plain JavaScript, embedded in the binary) served by
// erpipe run on the API's HTTP server under /console/. The pages are a
// client of the documented JSON API (/api/v1/, docs/api.md): they hold no
// data of their own and reach the jobs only through the API, with the
// same bearer tokens, so the console can do nothing a client with that
// token could not do with curl.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// Security headers of every page and asset: scripts and styles only from
// the console itself (no inline script), requests only to this server,
// never framed by another site.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// contentTypes are the types of the files the console has, by extension;
// a file of another extension is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves the console's files under Prefix: Prefix itself is the
// page (index.html); a folder, a file the console does not have or any
// other path is 404, never a listing.
func Handler() http.Handler {
	files := map[string]asset{}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		files[p] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if r.TLS != nil {
			// Served over HTTPS: the browser keeps to it for a year.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "" {
			name = "index.html"
		}
		a, ok := files[name]
		if !ok {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("404: the console has no page " + r.URL.Path + "; open " + Prefix + "\n"))
			return
		}
		h.Set("Content-Type", a.ctype)
		h.Set("ETag", a.etag)
		// Revalidated each time, so a new erpipe's console is taken at
		// once (the ETag makes that a 304).
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	})
}

// Mux is what the console mounts on: api.Server (its Handle) or an
// http.ServeMux.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Mount serves the console on m: its files under /console/, and / sends
// the browser there.
func Mount(m Mux) {
	m.Handle("GET "+Prefix, Handler())
	m.Handle("GET /{$}", http.RedirectHandler(Prefix, http.StatusFound))
}
