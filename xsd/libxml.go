package xsd

/*
#cgo pkg-config: libxml-2.0
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>

extern void erpipeXsdError(void *user, xmlErrorPtr err);
extern int erpipeXsdRead(void *ctx, char *buf, int len);

static void erpipe_xsd_error(void *user, xmlErrorPtr err) { erpipeXsdError(user, err); }
static int erpipe_xsd_read(void *ctx, char *buf, int len) { return erpipeXsdRead(ctx, buf, len); }

// Every file libxml2 loads besides the document being validated (a
// schema's imports and includes, a document's DTD and external entities)
// goes through erpipe_loader, which loads only files in the folder set
// for the thread's current call (the private copy of a schema's folder)
// and refuses everything else: other files, and any URL, so that nothing
// is ever fetched from the network. The first refused name is kept for
// the message.
static xmlExternalEntityLoader erpipe_default_loader;
static __thread const char *erpipe_allowed_dir;
static __thread char *erpipe_refused;
static __thread int erpipe_refused_len;

static xmlParserInputPtr erpipe_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
	const char *p = url;
	if (p != NULL && strncmp(p, "file://", 7) == 0) p += 7;
	size_t n = erpipe_allowed_dir != NULL ? strlen(erpipe_allowed_dir) : 0;
	if (p != NULL && n > 0 && strncmp(p, erpipe_allowed_dir, n) == 0 && p[n] == '/' &&
	    strstr(p, "/../") == NULL && strstr(p, "://") == NULL && strchr(p, '%') == NULL) {
		return erpipe_default_loader(url, id, ctxt);
	}
	if (url != NULL && erpipe_refused != NULL && erpipe_refused[0] == 0) {
		strncpy(erpipe_refused, url, erpipe_refused_len - 1);
		erpipe_refused[erpipe_refused_len - 1] = 0;
	}
	return NULL;
}

static void erpipe_xsd_init(void) {
	xmlInitParser();
	erpipe_default_loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(erpipe_loader);
}

// erpipe_xsd_parse compiles the schema in file path, loading only files
// in dir; errors go to user, the first refused file name to refused.
static xmlSchemaPtr erpipe_xsd_parse(const char *path, const char *dir, void *user, char *refused, int refused_len) {
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
	if (pc == NULL) return NULL;
	erpipe_allowed_dir = dir;
	erpipe_refused = refused;
	erpipe_refused_len = refused_len;
	xmlSchemaSetParserStructuredErrors(pc, erpipe_xsd_error, user);
	// Errors loading imported files go to the thread's handler, not stderr.
	xmlSetStructuredErrorFunc(user, erpipe_xsd_error);
	xmlSchemaPtr s = xmlSchemaParse(pc);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSchemaFreeParserCtxt(pc);
	erpipe_allowed_dir = NULL;
	erpipe_refused = NULL;
	return s;
}

static xmlSchemaValidCtxtPtr erpipe_xsd_ctxt(xmlSchemaPtr s, void *user) {
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(s);
	if (vc == NULL) return NULL;
	xmlSchemaSetValidStructuredErrors(vc, erpipe_xsd_error, user);
	return vc;
}

// erpipe_xsd_validate_file validates the document in file path as it is
// read (SAX): the document is never held in memory. It returns 0 when the
// document is valid, > 0 when it is not, < 0 on an internal error.
static int erpipe_xsd_validate_file(xmlSchemaPtr s, const char *path, void *user) {
	xmlSchemaValidCtxtPtr vc = erpipe_xsd_ctxt(s, user);
	if (vc == NULL) return -1;
	// Parser (well-formedness) errors go to the thread's handler.
	xmlSetStructuredErrorFunc(user, erpipe_xsd_error);
	int rc = xmlSchemaValidateFile(vc, path, 0);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSchemaFreeValidCtxt(vc);
	return rc;
}

// erpipe_xsd_validate_mem validates the document in buf (SAX, streamed
// from the buffer).
static int erpipe_xsd_validate_mem(xmlSchemaPtr s, const char *buf, int len, void *user) {
	xmlParserInputBufferPtr in = xmlParserInputBufferCreateMem(buf, len, XML_CHAR_ENCODING_NONE);
	if (in == NULL) return -1;
	xmlSchemaValidCtxtPtr vc = erpipe_xsd_ctxt(s, user);
	if (vc == NULL) { xmlFreeParserInputBuffer(in); return -1; }
	// xmlSchemaValidateStream takes the input buffer and frees it.
	xmlSetStructuredErrorFunc(user, erpipe_xsd_error);
	int rc = xmlSchemaValidateStream(vc, in, XML_CHAR_ENCODING_NONE, NULL, NULL);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSchemaFreeValidCtxt(vc);
	return rc;
}

// erpipe_xsd_validate_io validates the document a Go io.Reader gives
// (ctx: its handle, read by erpipeXsdRead) as it is read (SAX, streamed).
static int erpipe_xsd_validate_io(xmlSchemaPtr s, void *ctx, void *user) {
	xmlParserInputBufferPtr in = xmlParserInputBufferCreateIO(erpipe_xsd_read, NULL, ctx, XML_CHAR_ENCODING_NONE);
	if (in == NULL) return -1;
	xmlSchemaValidCtxtPtr vc = erpipe_xsd_ctxt(s, user);
	if (vc == NULL) { xmlFreeParserInputBuffer(in); return -1; }
	xmlSetStructuredErrorFunc(user, erpipe_xsd_error);
	int rc = xmlSchemaValidateStream(vc, in, XML_CHAR_ENCODING_NONE, NULL, NULL);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSchemaFreeValidCtxt(vc);
	return rc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/cgo"
	"strings"
	"sync"
	"unsafe"
)

// schemaRef is a schema compiled by libxml2.
type schemaRef = *C.xmlSchema

// maxProblems is how many messages one validation keeps: a document
// wrong in every line must not fill memory with its messages.
const maxProblems = 100

// collector gathers libxml2's messages during one call.
type collector struct {
	problems []Problem
	more     int // messages past maxProblems
}

//export erpipeXsdError
func erpipeXsdError(user unsafe.Pointer, e C.xmlErrorPtr) {
	if user == nil || e == nil {
		return
	}
	c := cgo.Handle(*(*uintptr)(user)).Value().(*collector)
	if e.level < C.XML_ERR_ERROR {
		return // warnings
	}
	if len(c.problems) >= maxProblems {
		c.more++
		return
	}
	msg := C.GoString(e.message)
	p := Problem{Line: int(e.line), Element: elementOf(msg)}
	if e.node != nil {
		if n := (*C.xmlNode)(e.node); n.name != nil && n._type == C.XML_ELEMENT_NODE {
			p.Element = C.GoString((*C.char)(unsafe.Pointer(n.name)))
		}
	}
	p.Message = cleanMessage(msg)
	if e.domain == C.XML_FROM_PARSER {
		p.Message = "not well-formed XML: " + p.Message
	}
	c.problems = append(c.problems, p)
}

// elementOf finds the element a schema message is about: libxml2 starts it
// with "Element '{namespace}Name'" (the node itself is not known when the
// document is validated as it is read).
func elementOf(msg string) string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(msg), "Element '")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, "'")
	if !ok {
		return ""
	}
	if i := strings.LastIndexByte(name, '}'); i >= 0 {
		name = name[i+1:]
	}
	return localName(name)
}

func localName(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// withCollector calls f with a pointer libxml2 passes back to the error
// callback, and returns what was collected.
func withCollector(f func(user unsafe.Pointer)) *collector {
	c := &collector{}
	h := cgo.NewHandle(c)
	defer h.Delete()
	p := C.malloc(C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(p)
	*(*uintptr)(p) = uintptr(h)
	f(p)
	return c
}

var initOnce sync.Once

func libxmlInit() { initOnce.Do(func() { C.erpipe_xsd_init() }) }

// compileFile compiles the schema in file path, which may import or
// include only files in folder dir.
func compileFile(path, dir string) (*C.xmlSchema, error) {
	libxmlInit()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	const refusedLen = 1024
	refused := (*C.char)(C.calloc(refusedLen, 1))
	defer C.free(unsafe.Pointer(refused))
	var s C.xmlSchemaPtr
	c := withCollector(func(user unsafe.Pointer) { s = C.erpipe_xsd_parse(cpath, cdir, user, refused, refusedLen) })
	if s == nil && C.GoString(refused) != "" {
		return nil, fmt.Errorf("it imports or includes %s, which is not one of the schema files beside it; "+
			"a template's schema may use only the .xsd files in its folder, and erpipe never fetches one from the network: copy the file into the folder and name it by a relative path",
			strings.TrimPrefix(C.GoString(refused), dir+"/"))
	}
	if s == nil {
		var msgs []string
		for i, p := range c.problems {
			if i == 5 {
				msgs = append(msgs, fmt.Sprintf("and %d more", len(c.problems)-5+c.more))
				break
			}
			msgs = append(msgs, p.String())
		}
		if len(msgs) == 0 {
			msgs = append(msgs, "libxml2 could not read it")
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return s, nil
}

// result and turns libxml2's answer into nil or an
// *Error.
func (s *Schema) result(rc C.int, c *collector) error {
	if rc == 0 && len(c.problems) == 0 {
		return nil
	}
	out := &Error{Schema: s.Name, Problems: c.problems, More: c.more}
	if len(out.Problems) == 0 {
		msg := "libxml2 could not validate the document"
		if rc > 0 {
			msg = "the document is not valid (libxml2 gave no message)"
		}
		out.Problems = []Problem{{Message: msg}}
	}
	return out
}

// ValidateFile validates the XML document in file name as libxml2 reads
// it (SAX, streaming): memory stays flat whatever the document's size. It
// returns nil, an *Error, or an error reading the file.
func (s *Schema) ValidateFile(name string) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var rc C.int
	c := withCollector(func(user unsafe.Pointer) { rc = C.erpipe_xsd_validate_file(s.ptr, cname, user) })
	if rc < 0 && len(c.problems) == 0 {
		return fmt.Errorf("libxml2 could not read %s", name)
	}
	return s.result(rc, c)
}

// ValidateReader validates the XML document r gives as libxml2 reads it
// (SAX, streaming), as ValidateFile does a file: a document can be
// validated while it is written, through a pipe. It returns nil, an
// *Error, or the error r gave. libxml2 may stop reading at a fatal error:
// a writer into a pipe must then not wait for it (io.PipeReader's
// CloseWithError after ValidateReader returns).
func (s *Schema) ValidateReader(r io.Reader) error {
	in := &reading{r: r}
	h := cgo.NewHandle(in)
	defer h.Delete()
	p := C.malloc(C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(p)
	*(*uintptr)(p) = uintptr(h)
	var rc C.int
	c := withCollector(func(user unsafe.Pointer) { rc = C.erpipe_xsd_validate_io(s.ptr, p, user) })
	if in.err != nil {
		return in.err
	}
	if rc < 0 && len(c.problems) == 0 {
		return errors.New("libxml2 could not read the document")
	}
	return s.result(rc, c)
}

// reading is the reader of a ValidateReader, and the error it gave.
type reading struct {
	r   io.Reader
	err error
}

//export erpipeXsdRead
func erpipeXsdRead(ctx unsafe.Pointer, buf *C.char, n C.int) C.int {
	in := cgo.Handle(*(*uintptr)(ctx)).Value().(*reading)
	if in.err != nil || n <= 0 {
		return -1
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	for {
		k, err := in.r.Read(b)
		switch {
		case k > 0:
			return C.int(k)
		case err == io.EOF:
			return 0
		case err != nil:
			in.err = err
			return -1
		}
	}
}

// Validate validates the document doc. It returns nil or an *Error.
func (s *Schema) Validate(doc []byte) error {
	if len(doc) > math.MaxInt32 {
		return fmt.Errorf("the document is %d bytes; validate it from a file (ValidateFile)", len(doc))
	}
	if len(doc) == 0 {
		return &Error{Schema: s.Name, Problems: []Problem{{Message: "not well-formed XML: the document is empty"}}}
	}
	buf := C.CBytes(doc)
	defer C.free(buf)
	var rc C.int
	c := withCollector(func(user unsafe.Pointer) {
		rc = C.erpipe_xsd_validate_mem(s.ptr, (*C.char)(buf), C.int(len(doc)), user)
	})
	return s.result(rc, c)
}
