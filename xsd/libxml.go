package xsd

/*
#cgo pkg-config: libxml-2.0
#include <stdlib.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>

extern void erpipeXsdError(void *user, xmlErrorPtr err);

static void erpipe_xsd_error(void *user, xmlErrorPtr err) { erpipeXsdError(user, err); }

// erpipe_xsd_parse compiles the schema in file path; errors go to user.
static xmlSchemaPtr erpipe_xsd_parse(const char *path, void *user) {
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
	if (pc == NULL) return NULL;
	xmlSchemaSetParserStructuredErrors(pc, erpipe_xsd_error, user);
	// Errors loading imported files go to the thread's handler, not stderr.
	xmlSetStructuredErrorFunc(user, erpipe_xsd_error);
	xmlSchemaPtr s = xmlSchemaParse(pc);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSchemaFreeParserCtxt(pc);
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
*/
import "C"

import (
	"fmt"
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

func libxmlInit() { initOnce.Do(func() { C.xmlInitParser() }) }

// compileFile compiles the schema in file path.
func compileFile(path string) (*C.xmlSchema, error) {
	libxmlInit()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var s C.xmlSchemaPtr
	c := withCollector(func(user unsafe.Pointer) { s = C.erpipe_xsd_parse(cpath, user) })
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
