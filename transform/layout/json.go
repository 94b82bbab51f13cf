package layout

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/transform/template"
)

// A JSON output (output.json) is written from a layout in the shape of
// the document, as an XML layout is: members are keys, with an
// expression or the members inside them, and $group, $each, $where and
// $if say how often a member is written; a member written once per row
// or per group is an array. The layout is rendered by an XMLRun with
// typed texts (EncodeValue), then turned into JSON (Fill), so numbers stay
// numbers (exact decimals), true and false booleans, and blank values
// are left out.
//
//	json:
//	  schema: invoices.schema.json     # optional: the document is validated
//	  layout:
//	    company: company_name
//	    invoices:
//	      $group: invoice_number        # an array: one object per invoice
//	      number: invoice_number
//	      total: SUM(amount)
//	      lines:
//	        $each: row                  # an array: one object per row
//	        sku: sku
//	        amount: amount

// JSON is the output.json section.
type JSON struct {
	xml    *XML
	arrays map[string]bool // element paths written as arrays ("Json/invoices/lines")
	values map[string]bool // element paths that hold a value
	schema *jsonschema.Schema
	file   string // the schema's file, for messages
}

var _ Filled = (*JSON)(nil)

// jsonRoot is the name of the XML layout's root element the JSON layout
// is wrapped in; the document is the root's members.
const jsonRoot = "Json"

// LoadJSON reads output.json.
func (l *Loader) LoadJSON(n *yaml.Node) *JSON {
	j := &JSON{arrays: map[string]bool{}, values: map[string]bool{}, xml: &XML{}}
	var layoutNode, docName, schemaNode *yaml.Node
	ok := l.Mapping(n, "output.json", map[string]template.KeyHandler{
		"layout":        func(_, v *yaml.Node) { layoutNode = v },
		"document_name": func(_, v *yaml.Node) { docName = v },
		"schema":        func(_, v *yaml.Node) { schemaNode = v },
	}, "layout")
	if !ok || layoutNode == nil {
		return j
	}
	if template.Resolve(layoutNode).Kind != yaml.MappingNode {
		l.Errorf(layoutNode, "output.json.layout must be the document's members, each with an expression or the members inside it")
		return j
	}
	j.xml = l.LoadXML(wrapLayout(n, layoutNode, docName, jsonRoot))
	j.xml.typed = true
	if j.xml.root != nil {
		j.shape(j.xml.root, "")
	}
	if schemaNode != nil {
		j.loadSchema(l, schemaNode)
	}
	return j
}

// shape records which elements are arrays and which hold values.
func (j *JSON) shape(n *xnode, parent string) {
	p := parent + "/" + n.name
	if n.each || n.level > 0 {
		j.arrays[p] = true
	}
	if n.value != nil {
		j.values[p] = true
	}
	for _, c := range n.children {
		j.shape(c, p)
	}
}

func (j *JSON) loadSchema(l *Loader, n *yaml.Node) {
	file, ok := l.NonEmpty(n, "output.json.schema")
	if !ok {
		return
	}
	fsys, dir := l.fileBase(n)
	data, err := fs.ReadFile(fsys, path.Join(dir, file))
	if err != nil {
		l.Errorf(n, "output.json.schema: %v; put the JSON Schema file beside the template", err)
		return
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		l.Errorf(n, "output.json.schema %s is not JSON: %v", file, err)
		return
	}
	c := jsonschema.NewCompiler()
	url := "file:///erpipe-templates/" + file
	if err := c.AddResource(url, doc); err != nil {
		l.Errorf(n, "output.json.schema %s: %v", file, err)
		return
	}
	if j.schema, err = c.Compile(url); err != nil {
		l.Errorf(n, "output.json.schema %s is not a JSON Schema erpipe can use: %v", file, err)
	}
	j.file = file
}

// XML is the layout the document is rendered with.
func (j *JSON) XML() *XML { return j.xml }

// File is the schema the document is checked with, or "".
func (j *JSON) File() string { return j.file }

// WantsPDF is false: a JSON document has no PDF.
func (j *JSON) WantsPDF() bool { return false }

// Fill turns the rendered document at docPath into JSON on out, and
// checks it against the schema, when the template names one.
func (j *JSON) Fill(docPath string, out io.Writer) error {
	f, err := os.Open(docPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var held bytes.Buffer
	w := out
	if j.schema != nil {
		w = io.MultiWriter(out, &held) // the schema check needs the document whole
	}
	c := &jsonConv{j: j, w: w}
	if err := c.convert(xml.NewDecoder(f)); err != nil {
		return err
	}
	if j.schema == nil {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(&held)
	if err != nil {
		return fmt.Errorf("reading the JSON document back: %w", err)
	}
	if err := j.schema.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return &template.FieldError{Severity: template.SeverityError,
				Err:  fmt.Errorf("the JSON document does not match its schema %s, so it was not published: %s", j.file, schemaProblems(ve)),
				Hint: "change the layout or the input so that the document has what the schema asks for"}
		}
		return err
	}
	return nil
}

// schemaProblems lists a validation's failures, one "at 'place': what"
// each, without the library's heading line.
func schemaProblems(ve *jsonschema.ValidationError) string {
	lines := strings.Split(strings.TrimSpace(ve.Error()), "\n")
	if len(lines) > 1 {
		lines = lines[1:]
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(strings.TrimSpace(l), "- ")
	}
	return strings.Join(lines, "; ")
}

// jsonConv writes the JSON of a rendered layout.
type jsonConv struct {
	j     *JSON
	w     io.Writer
	stack []*jsonFrame
	err   error
}

type jsonFrame struct {
	path    string
	indent  int // of its braces; members one more
	attrs   []xml.Attr
	object  bool   // its members have begun
	members int    // members written
	array   string // the array member open now, or ""
	text    strings.Builder
}

func (c *jsonConv) write(s string) {
	if c.err == nil {
		_, c.err = io.WriteString(c.w, s)
	}
}

func (c *jsonConv) convert(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the rendered document: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			c.start(t)
		case xml.CharData:
			if len(c.stack) > 0 {
				c.stack[len(c.stack)-1].text.Write(t)
			}
		case xml.EndElement:
			c.end()
		}
		if c.err != nil {
			return c.err
		}
	}
	c.write("\n")
	return c.err
}

func (c *jsonConv) start(t xml.StartElement) {
	if len(c.stack) == 0 {
		c.stack = append(c.stack, &jsonFrame{path: "/" + t.Name.Local, attrs: t.Attr})
		return
	}
	parent := c.stack[len(c.stack)-1]
	c.open(parent)
	name := t.Name.Local
	p := parent.path + "/" + name
	if parent.array != "" && parent.array != name {
		c.newline(parent.indent + 1)
		c.write("]")
		parent.array = ""
	}
	indent := parent.indent + 1
	switch {
	case c.j.arrays[p] && parent.array == name:
		c.write(",")
		c.newline(parent.indent + 2)
		indent++
	case c.j.arrays[p]:
		c.member(parent, name)
		c.write("[")
		c.newline(parent.indent + 2)
		parent.array = name
		indent++
	default:
		c.member(parent, name)
	}
	c.stack = append(c.stack, &jsonFrame{path: p, attrs: t.Attr, indent: indent})
}

// open begins frame f's object, with its attributes as members.
func (c *jsonConv) open(f *jsonFrame) {
	if f.object {
		return
	}
	f.object = true
	c.write("{")
	for _, a := range f.attrs {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		c.member(f, a.Name.Local)
		c.str(a.Value)
	}
}

// newline starts a line indented n steps.
func (c *jsonConv) newline(n int) {
	c.write("\n" + strings.Repeat("  ", n))
}

func (c *jsonConv) member(f *jsonFrame, name string) {
	if f.members > 0 {
		c.write(",")
	}
	c.newline(f.indent + 1)
	f.members++
	c.str(name)
	c.write(": ")
}

func (c *jsonConv) str(s string) {
	b, _ := json.Marshal(s)
	c.write(string(b))
}

func (c *jsonConv) end() {
	f := c.stack[len(c.stack)-1]
	c.stack = c.stack[:len(c.stack)-1]
	switch {
	case f.object:
		if f.array != "" {
			c.newline(f.indent + 1)
			c.write("]")
		}
		c.newline(f.indent)
		c.write("}")
	case c.j.values[f.path] && len(f.attrs) == 0:
		c.value(f.text.String())
	default:
		c.open(f)
		c.write("}")
	}
}

// value writes a typed element text (EncodeValue) as a JSON value.
func (c *jsonConv) value(enc string) {
	v, err := decodeValue(enc)
	if err != nil {
		c.err = err
		return
	}
	switch x := v.(type) {
	case nil:
		c.write("null")
	case string:
		c.str(x)
	case bool:
		c.write(fmt.Sprint(x))
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			c.str(x.Format("2006-01-02"))
		} else {
			c.str(x.Format(time.RFC3339))
		}
	default: // int64, decimal
		c.write(enc[1:])
	}
}
