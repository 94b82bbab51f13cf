package schematron

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// A rule file is part of a template, and a template may read only the
// files of its own folder (docs/security.md). An XSLT stylesheet can read
// any file or URL (doc, document, unparsed-text, collection...) and write
// files (xsl:result-document), and Saxon-HE 9.9 has no switch to stop it.
// So Load reads each rule file first and refuses one that could: every
// XPath it holds (attribute values, and text where expand-text is on)
// must call none of those functions, and it may not import, include,
// evaluate or write. The one read rule files need, of the document under
// validation (SchXslt's document($schxslt.validate.initial-document-uri)),
// is allowed.

// readingFunctions are the XPath functions that read or write outside the
// document, or call functions by name.
var readingFunctions = regexp.MustCompile(`(?:^|[^\w:.-])(unparsed-text|unparsed-text-lines|unparsed-text-available|doc|doc-available|document|collection|uri-collection|json-doc|transform|function-lookup|load-xquery-module|environment-variable|available-environment-variables)\s*\(`)

// allowedRead is SchXslt's read of the document under validation.
var allowedRead = regexp.MustCompile(`document\(\s*\$schxslt\.validate\.initial-document-uri\s*\)`)

// forbiddenInstructions are the XSLT instructions that bring in other
// stylesheets, evaluate XPath built from text, or write files.
var forbiddenInstructions = map[string]bool{"include": true, "import": true, "evaluate": true, "result-document": true, "use-package": true}

const xslNS = "http://www.w3.org/1999/XSL/Transform"

// confined reports why the file is not a stylesheet, or why it could reach
// outside the document under validation; nil when it is neither.
func confined(name string, b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	expand := []bool{false}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		line, _ := dec.InputPos()
		refuse := func(what string) error {
			return fmt.Errorf("%s:%d: %s; a rule file may check the document only, not read or write other files", name, line, what)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(expand) == 1 && t.Name.Space != xslNS {
				return fmt.Errorf("%s is not an XSLT stylesheet; give the Schematron rules compiled to XSLT 2.0 (e.g. with SchXslt), not the .sch source", name)
			}
			if t.Name.Space == xslNS && forbiddenInstructions[t.Name.Local] {
				return refuse("xsl:" + t.Name.Local)
			}
			on := expand[len(expand)-1]
			for _, a := range t.Attr {
				if strings.Contains(a.Name.Space, "saxon.sf.net") || strings.HasPrefix(a.Name.Space, "java:") {
					return refuse("an extension attribute " + a.Name.Local)
				}
				if a.Name.Local == "expand-text" && (a.Name.Space == "" && t.Name.Space == xslNS || a.Name.Space == xslNS) {
					on = strings.TrimSpace(a.Value) == "yes" || strings.TrimSpace(a.Value) == "true" || strings.TrimSpace(a.Value) == "1"
				}
				if err := scanXPath(a.Value, refuse); err != nil {
					return err
				}
			}
			if strings.Contains(t.Name.Space, "saxon.sf.net") || strings.HasPrefix(t.Name.Space, "java:") {
				return refuse("an extension instruction " + t.Name.Local)
			}
			expand = append(expand, on)
		case xml.EndElement:
			expand = expand[:len(expand)-1]
		case xml.CharData:
			if expand[len(expand)-1] {
				if err := scanXPath(string(t), refuse); err != nil {
					return err
				}
			}
		}
	}
}

func scanXPath(s string, refuse func(string) error) error {
	s = allowedRead.ReplaceAllString(s, "")
	if m := readingFunctions.FindStringSubmatch(s); m != nil {
		return refuse(m[1] + "()")
	}
	return nil
}
