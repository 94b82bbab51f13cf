// Package xsd validates XML documents against W3C XML Schemas with
// libxml2 (cgo; Debian's libxml2-dev and pkg-config at build time). A
// document in a file is validated as it is read (libxml2's SAX-based
// xmlSchemaValidateFile), so memory stays flat however large it is.
//
// A Schema is compiled once and cached: Compile with the same files returns
// the same *Schema, and a Schema is safe for concurrent use. Schemas may
// import or include other schema files by relative path; Compile copies the
// schema's folder tree (every .xsd under root) to a private temporary folder
// so that libxml2 resolves them offline, whatever fs.FS they come from, and
// libxml2 may load no other file: an import of a URL or of a file outside
// the folder is refused (never fetched, never read), and so are a
// document's DTD and external entities.
//
// Validation errors are returned as *Error, one Problem per libxml2 message
// with the line and the element it is about.
package xsd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

var (
	mu    sync.Mutex
	cache = map[string]*Schema{}
)

// Schema is a compiled XML schema.
type Schema struct {
	Name string    // the entry file's path as given to Compile
	ptr  schemaRef // compiled by libxml2; never freed (schemas are cached)
}

// Compile compiles the schema whose entry file is entry (a path in fsys).
// Files it imports or includes are looked up among the .xsd files under
// root (a folder in fsys holding entry; "." for all of fsys). The result is
// cached by the content of those files.
func Compile(fsys fs.FS, root, entry string) (*Schema, error) {
	rel := entry
	if root != "." {
		var ok bool
		rel, ok = strings.CutPrefix(entry, root+"/")
		if !ok {
			return nil, fmt.Errorf("schema %s is not under %s", entry, root)
		}
	}
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(path.Ext(p), ".xsd") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		r := p
		if root != "." {
			r = strings.TrimPrefix(p, root+"/")
		}
		files[r] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := files[rel]; !ok {
		return nil, fmt.Errorf("schema file %s not found", entry)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	io.WriteString(h, rel+"\x00")
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	key := hex.EncodeToString(h.Sum(nil))

	mu.Lock()
	defer mu.Unlock()
	if s := cache[key]; s != nil {
		return s, nil
	}
	dir, err := os.MkdirTemp("", "erpipe-xsd-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the compiled schema keeps no reference to the files
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, files[n], 0o600); err != nil {
			return nil, err
		}
	}
	ptr, err := compileFile(filepath.Join(dir, filepath.FromSlash(rel)), dir)
	if err != nil {
		return nil, fmt.Errorf("schema %s does not compile: %s", entry, err)
	}
	s := &Schema{Name: entry, ptr: ptr}
	cache[key] = s
	return s, nil
}

// Problem is one validation message.
type Problem struct {
	Line    int    // 1-based line in the document; 0 when unknown
	Element string // local name of the element, when libxml2 names it
	Message string
}

// String renders the problem as "line N: element E: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Element != "" {
		fmt.Fprintf(&b, "element %s: ", p.Element)
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is a document that is not valid against its schema, or not
// well-formed XML.
type Error struct {
	Schema   string
	Problems []Problem // the first 100 messages
	More     int       // how many more libxml2 gave
}

// Error lists the problems, the first ten of them.
func (e *Error) Error() string {
	var parts []string
	for i, p := range e.Problems {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Problems)-10+e.More))
			break
		}
		parts = append(parts, p.String())
	}
	return fmt.Sprintf("the document is not valid against %s: %s", path.Base(e.Schema), strings.Join(parts, "; "))
}

// cleanMessage trims libxml2's trailing newline and its "Element '{ns}X':"
// prefix (the Problem names the element already).
func cleanMessage(m string) string {
	m = strings.TrimSpace(m)
	if strings.HasPrefix(m, "Element '") {
		if i := strings.Index(m, "': "); i > 0 {
			m = m[i+3:]
		}
	}
	return strings.Join(strings.Fields(m), " ")
}
