package layout

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/beevik/etree"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
)

// output.document fills a Word document (.docx) that someone designed
// with the data, as ER's Word format does: its content controls (Developer
// > Controls; each with a tag) are bound by the layout, in the language of
// the XML layouts, with the controls' tags as element names:
//
//   - `Tag: expression` puts a value into the control tagged Tag, in the
//     control's own formatting (its first run's);
//   - `Tag:` with `$each: row` (or `$group`) repeats the control's
//     content once per row (or group): a control around a table row
//     repeats the row, one around paragraphs repeats them (a repeating
//     section); the controls inside it get each copy's values.
//
// The controls are removed from the filled document, their content kept,
// so it reads as a plain document. Values in headers and footers are
// filled too. With $group at the top of the layout, one document is
// written per group (a letter per customer), named by document_name.
// Documents are small: the filled one is built in memory.

// Document is output.document.
type Document struct {
	xml    *XML
	file   string
	data   []byte
	ranges map[string]bool // the layout's repeated controls
	bound  map[string]bool // every control the layout names
	PDF    bool
}

// XML is the layout the rows are rendered with.
func (d *Document) XML() *XML { return d.xml }

// File is the designed document's name, as the template gives it.
func (d *Document) File() string { return d.file }

// WantsPDF reports whether a PDF of each filled document is written too.
func (d *Document) WantsPDF() bool { return d.PDF }

const wordNS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

// LoadDocument reads output.document: the designed document, checked to
// have a content control for every name the layout binds, and the
// layout, compiled as an XML layout.
func (l *Loader) LoadDocument(n *yaml.Node) *Document {
	d := &Document{ranges: map[string]bool{}, bound: map[string]bool{}}
	var fileNode, layoutNode, docName *yaml.Node
	ok := l.Mapping(n, "output.document", map[string]template.KeyHandler{
		"file":          func(_, v *yaml.Node) { fileNode = v },
		"layout":        func(_, v *yaml.Node) { layoutNode = v },
		"document_name": func(_, v *yaml.Node) { docName = v },
		"pdf":           func(_, v *yaml.Node) { d.PDF, _ = l.Bool(v, "output.document.pdf") },
	}, "file", "layout")
	if !ok || fileNode == nil || layoutNode == nil {
		d.xml = &XML{}
		return d
	}
	var tags map[string]bool
	d.file, _ = l.NonEmpty(fileNode, "output.document.file")
	if d.file != "" {
		fsys, dir := l.fileBase(fileNode)
		data, err := fs.ReadFile(fsys, path.Join(dir, d.file))
		if err != nil {
			l.Errorf(fileNode, "output.document.file: %v; put the document beside the template", err)
		} else if tags, err = controlTags(data); err != nil {
			l.Errorf(fileNode, "output.document.file %s: %v", d.file, err)
		}
		d.data = data
	}
	if template.Resolve(layoutNode).Kind != yaml.MappingNode {
		l.Errorf(layoutNode, "output.document.layout must be the document's content controls, by tag, each with an expression or, for a repeated one, the controls in it")
		d.xml = &XML{}
		return d
	}
	if tags != nil {
		d.checkTags(l, layoutNode, tags)
	}
	d.xml = l.LoadXML(wrapLayout(n, layoutNode, docName, "Document"))
	d.xml.typed = true
	return d
}

// wrapLayout makes output.workbook's or output.document's layout an XML
// layout whose root element is root.
func wrapLayout(n, layout, docName *yaml.Node, root string) *yaml.Node {
	r := &yaml.Node{Kind: yaml.MappingNode, Line: layout.Line, Column: layout.Column, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: root, Line: layout.Line, Column: layout.Column}, layout}}
	spec := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "layout", Line: n.Line, Column: n.Column}, r}}
	if docName != nil {
		spec.Content = append(spec.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "document_name", Line: docName.Line, Column: docName.Column}, docName)
	}
	return spec
}

// checkTags checks that every element of the layout is a control's tag.
func (d *Document) checkTags(l *Loader, n *yaml.Node, tags map[string]bool) {
	keys, vals := l.Pairs(n, "output.document.layout")
	for i, k := range keys {
		if strings.HasPrefix(k.Value, "$") {
			continue
		}
		d.bound[k.Value] = true
		if !tags[k.Value] {
			var have []string
			for t := range tags {
				have = append(have, t)
			}
			slices.Sort(have)
			l.Errorf(k, "layout: %s has no content control tagged %q; its controls' tags are %s (in Word: Developer > Properties of the control > Tag)",
				d.file, k.Value, strings.Join(have, ", "))
			continue
		}
		if v := template.Resolve(vals[i]); v.Kind == yaml.MappingNode {
			d.ranges[k.Value] = true
			d.checkTags(l, v, tags)
		}
	}
}

// documentParts are the parts of a .docx whose controls are filled.
func documentPart(name string) bool {
	return name == "word/document.xml" || strings.HasPrefix(name, "word/header") && strings.HasSuffix(name, ".xml") ||
		strings.HasPrefix(name, "word/footer") && strings.HasSuffix(name, ".xml")
}

// controlTags reads the tags of a .docx's content controls.
func controlTags(data []byte) (map[string]bool, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a Word document (.docx): %w", err)
	}
	tags := map[string]bool{}
	found := false
	for _, f := range zr.File {
		if !documentPart(f.Name) {
			continue
		}
		found = found || f.Name == "word/document.xml"
		doc, err := readPart(f)
		if err != nil {
			return nil, err
		}
		for _, sdt := range doc.FindElements("//sdt") {
			if t := controlTag(sdt); t != "" {
				tags[t] = true
			}
		}
	}
	if !found {
		return nil, errors.New("not a Word document (.docx): it has no word/document.xml")
	}
	return tags, nil
}

func readPart(f *zip.File) (*etree.Document, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	doc := etree.NewDocument()
	if _, err := doc.ReadFrom(io.LimitReader(rc, 256<<20)); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return doc, nil
}

// controlTag is a content control's tag (w:sdtPr/w:tag/@w:val).
func controlTag(sdt *etree.Element) string {
	if pr := sdt.SelectElement("sdtPr"); pr != nil {
		if t := pr.SelectElement("tag"); t != nil {
			return t.SelectAttrValue("w:val", t.SelectAttrValue("val", ""))
		}
	}
	return ""
}

// occurrence is the document (or one copy of a repeated control) as the
// layout rendered it: its values and its repeated controls' copies.
type occurrence struct {
	vals map[string]any
	kids map[string][]*occurrence
}

// readOccurrences reads a rendered layout (typed texts) into occurrences;
// names are the repeated elements.
func readOccurrences(docPath string, ranges map[string]bool) (*occurrence, error) {
	fh, err := os.Open(docPath)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	dec := xml.NewDecoder(bufio.NewReader(fh))
	type frame struct {
		occ  *occurrence
		text strings.Builder
	}
	var stack []*frame
	var root *occurrence
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the rendered layout: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			f := &frame{}
			if len(stack) == 0 || ranges[t.Name.Local] {
				f.occ = &occurrence{vals: map[string]any{}, kids: map[string][]*occurrence{}}
				if len(stack) == 0 {
					root = f.occ
				} else {
					p := stack[len(stack)-1].occ
					p.kids[t.Name.Local] = append(p.kids[t.Name.Local], f.occ)
				}
			}
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.occ == nil {
				v, err := decodeValue(f.text.String())
				if err != nil {
					return nil, fmt.Errorf("reading the rendered layout: %s: %w", t.Name.Local, err)
				}
				stack[len(stack)-1].occ.vals[t.Name.Local] = v
			}
		}
	}
	if root == nil {
		return nil, errors.New("reading the rendered layout: no document")
	}
	return root, nil
}

// Fill reads the rendered layout at docPath and writes the designed
// document filled with it to out.
func (d *Document) Fill(docPath string, out io.Writer) error {
	root, err := readOccurrences(docPath, d.ranges)
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(bytes.NewReader(d.data), int64(len(d.data)))
	if err != nil {
		return fmt.Errorf("%s: %w", d.file, err)
	}
	zw := zip.NewWriter(out)
	for _, f := range zr.File {
		if !documentPart(f.Name) {
			if err := zw.Copy(f); err != nil {
				return err
			}
			continue
		}
		part, err := readPart(f)
		if err != nil {
			return fmt.Errorf("%s: %w", d.file, err)
		}
		d.fillControls(part.Root(), root)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Modified})
		if err != nil {
			return err
		}
		if _, err := part.WriteTo(w); err != nil {
			return err
		}
	}
	return zw.Close()
}

// fillControls fills the controls under e with occurrence o: a value's
// control gets its text, a repeated control is copied once per copy of o's
// and each copy filled; filled controls are replaced by their content, and
// controls the layout does not name are left as they are.
func (d *Document) fillControls(e *etree.Element, o *occurrence) {
	for _, c := range slices.Clone(e.ChildElements()) {
		if c.Tag != "sdt" {
			d.fillControls(c, o)
			continue
		}
		tag := controlTag(c)
		content := c.SelectElement("sdtContent")
		switch copies, repeated := o.kids[tag]; {
		case content == nil:
		case repeated:
			parent, at := c.Parent(), c.Index()
			parent.RemoveChildAt(at)
			for _, copyOcc := range copies {
				clone := content.Copy()
				d.fillControls(clone, copyOcc)
				for _, child := range clone.ChildElements() {
					parent.InsertChildAt(at, child)
					at++
				}
			}
		default:
			if !d.bound[tag] {
				// A control the layout does not name stays as designed;
				// the controls in it are filled.
				d.fillControls(content, o)
				continue
			}
			setControlText(content, o.vals[tag]) // none: blank
			unwrap(c, content)
		}
	}
}

// unwrap replaces control c by the elements of its content.
func unwrap(c, content *etree.Element) {
	parent, at := c.Parent(), c.Index()
	parent.RemoveChildAt(at)
	for _, child := range slices.Clone(content.ChildElements()) {
		content.RemoveChild(child)
		parent.InsertChildAt(at, child)
		at++
	}
}

// setControlText writes v into a control's content: into its first run,
// which keeps its formatting (the placeholder's style removed); the other
// runs go. Lines of a text become line breaks.
func setControlText(content *etree.Element, v any) {
	runs := content.FindElements(".//r")
	var run *etree.Element
	if len(runs) > 0 {
		run = runs[0]
		for _, r := range runs[1:] {
			r.Parent().RemoveChild(r)
		}
	} else {
		host := content
		if p := content.FindElement(".//p"); p != nil {
			host = p
		} else if content.Parent() != nil && content.Parent().Tag == "body" {
			host = content.CreateElement("w:p")
		}
		run = host.CreateElement("w:r")
	}
	if pr := run.SelectElement("rPr"); pr != nil {
		if st := pr.SelectElement("rStyle"); st != nil && strings.Contains(st.SelectAttrValue("w:val", ""), "Placeholder") {
			pr.RemoveChild(st)
		}
	}
	for _, c := range slices.Clone(run.ChildElements()) {
		if c.Tag != "rPr" {
			run.RemoveChild(c)
		}
	}
	text := documentText(v)
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			run.CreateElement("w:br")
		}
		t := run.CreateElement("w:t")
		t.CreateAttr("xml:space", "preserve")
		t.SetText(line)
	}
}

// documentText is a value as a document shows it: decimals plain, dates
// yyyy-MM-dd (NUMBERFORMAT and DATEFORMAT in the layout give other forms).
func documentText(v any) string {
	if v == nil {
		return ""
	}
	return expression.Text(v)
}
