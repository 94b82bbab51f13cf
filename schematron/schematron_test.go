package schematron

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// processor finds Saxon-HE, or skips the test where it is not installed
// (scripts/test.sh installs it and sets ERPIPE_REQUIRE_SAXON, which turns
// the skip into a failure).
func processor(t *testing.T) *Processor {
	t.Helper()
	p, err := Find()
	if err != nil {
		if os.Getenv("ERPIPE_REQUIRE_SAXON") != "" {
			t.Fatalf("ERPIPE_REQUIRE_SAXON is set: %v", err)
		}
		t.Skipf("no XSLT 2.0 processor here (scripts/test.sh installs one): %v", err)
	}
	return p
}

func writeDoc(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	p := processor(t)
	r, err := Load(os.DirFS("testdata"), "rules.xslt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := writeDoc(t, dir, "good.xml", "<Doc xmlns=\"urn:test\">\n<Note>x</Note>\n<Line>\n<Amount>1.00</Amount>\n</Line>\n</Doc>\n")
	bad := writeDoc(t, dir, "bad & odd name.xml", "<Doc xmlns=\"urn:test\">\n<Line>\n<Amount>1.00</Amount>\n</Line>\n<Line>\n<Amount>-2.00</Amount>\n</Line>\n</Doc>\n")
	reports, err := p.Validate(context.Background(), r, []string{good, bad})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 || reports[0].Doc != good || reports[1].Doc != bad {
		t.Fatalf("reports = %+v", reports)
	}
	if len(reports[0].Asserts) != 0 {
		t.Errorf("the good document failed: %+v", reports[0].Asserts)
	}
	got := reports[1].Asserts
	if len(got) != 2 {
		t.Fatalf("the bad document: %+v, want T-001 and T-002", got)
	}
	a := got[0]
	if a.ID != "T-001" || !a.Fatal() || a.Text != "A line amount must not be negative." || a.Rules != "rules.xslt" {
		t.Errorf("first assert = %+v", a)
	}
	if got[1].ID != "T-002" || got[1].Fatal() {
		t.Errorf("second assert = %+v, want the warning T-002", got[1])
	}
	if n := len(reports[1].Fatal()); n != 1 {
		t.Errorf("Fatal() gives %d asserts, want 1", n)
	}
	f, err := os.Open(bad)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if line := Locate(f, a.Location); line != 6 {
		t.Errorf("Locate(%s) = %d, want line 6 (the second Line's Amount)", a.Location, line)
	}
}

func TestValidateUnreadableDocument(t *testing.T) {
	p := processor(t)
	r, err := Load(os.DirFS("testdata"), "rules.xslt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	broken := writeDoc(t, dir, "broken.xml", "<Doc xmlns=\"urn:test\"><Line></Doc>")
	_, err = p.Validate(context.Background(), r, []string{broken})
	if err == nil || !strings.Contains(err.Error(), "broken.xml") {
		t.Errorf("err = %v, want one naming broken.xml", err)
	}
}

func TestMissingProcessor(t *testing.T) {
	t.Setenv("ERPIPE_SAXON_JAR", filepath.Join(t.TempDir(), "no-saxon.jar"))
	_, err := Find()
	var me *MissingError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want a *MissingError", err)
	}
	for _, want := range []string{"apt-get install default-jre-headless libsaxonhe-java", "output.xml.schematron: []"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	t.Setenv("ERPIPE_SAXON_JAR", "")
	t.Setenv("PATH", t.TempDir())
	t.Setenv("JAVA_HOME", "")
	if _, err := Find(); !errors.As(err, &me) || !strings.Contains(err.Error(), "java") {
		t.Errorf("without java: %v", err)
	}
}

func TestLoadRefusesSchematronSource(t *testing.T) {
	dir := t.TempDir()
	writeDoc(t, dir, "rules.sch", `<schema xmlns="http://purl.oclc.org/dsdl/schematron"/>`)
	if _, err := Load(os.DirFS(dir), "rules.sch"); err == nil || !strings.Contains(err.Error(), "compiled to XSLT") {
		t.Errorf("err = %v", err)
	}
}

func TestLocate(t *testing.T) {
	doc := "<?xml version=\"1.0\"?>\n<Invoice xmlns=\"urn:i\" xmlns:cac=\"urn:a\" xmlns:cbc=\"urn:b\">\n" +
		"  <cbc:ID>1</cbc:ID>\n" +
		"  <cac:InvoiceLine>\n    <cbc:ID>1</cbc:ID>\n  </cac:InvoiceLine>\n" +
		"  <cac:InvoiceLine>\n    <cbc:ID>2</cbc:ID>\n    <cac:Item><cbc:Name>x</cbc:Name></cac:Item>\n  </cac:InvoiceLine>\n" +
		"</Invoice>\n"
	tests := []struct {
		loc  string
		line int
	}{
		{"/Q{urn:i}Invoice[1]", 2},
		{"/Q{urn:i}Invoice[1]/Q{urn:b}ID[1]", 3},
		{"/Q{urn:i}Invoice[1]/Q{urn:a}InvoiceLine[2]", 7},
		{"/Q{urn:i}Invoice[1]/Q{urn:a}InvoiceLine[2]/Q{urn:b}ID[1]", 8},
		{"/Q{urn:i}Invoice[1]/Q{urn:a}InvoiceLine[2]/Q{urn:a}Item[1]/Q{urn:b}Name[1]", 9},
		{"/*:Invoice[namespace-uri()='urn:i'][1]/*:InvoiceLine[namespace-uri()='urn:a'][2]/*:ID[namespace-uri()='urn:b'][1]", 8},
		{"/Invoice[1]/cac:InvoiceLine[1]/cbc:ID[1]", 5},
		{"/Q{urn:i}Invoice[1]/Q{urn:a}InvoiceLine[2]/@id", 7},
		{"/Q{urn:i}Invoice[1]/Q{urn:a}InvoiceLine[3]", 0},
		{"/Q{urn:x}Invoice[1]", 0},
		{"not a path", 0},
		{"", 0},
	}
	var locs []string
	for _, tt := range tests {
		if got := Locate(strings.NewReader(doc), tt.loc); got != tt.line {
			t.Errorf("Locate(%s) = %d, want %d", tt.loc, got, tt.line)
		}
		locs = append(locs, tt.loc)
	}
	// All at once, in one reading, the same lines.
	for i, got := range LocateAll(strings.NewReader(doc), locs) {
		if got != tests[i].line {
			t.Errorf("LocateAll: %s at %d, want %d", tests[i].loc, got, tests[i].line)
		}
	}
	if got := Path("/Q{urn:i}Invoice[1]/Q{urn:a}InvoiceLine[2]/@x"); strings.Join(got, "/") != "Invoice/InvoiceLine" {
		t.Errorf("Path = %v", got)
	}
}

func FuzzLocate(f *testing.F) {
	f.Add("<a><b/><b><c/></b></a>", "/Q{}a[1]/Q{}b[2]/Q{}c[1]")
	f.Add("<a xmlns='u'/>", "/*:a[namespace-uri()='u'][1]")
	f.Fuzz(func(t *testing.T, doc, loc string) {
		line := Locate(strings.NewReader(doc), loc)
		if line < 0 || line > strings.Count(doc, "\n")+1 {
			t.Errorf("line %d of a document of %d lines", line, strings.Count(doc, "\n")+1)
		}
		Path(loc)
	})
}

func TestLoadRefusesRulesThatReachOut(t *testing.T) {
	const head = `<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">`
	tests := []struct{ body, want string }{
		{`<xsl:template match="/"><xsl:value-of select="unparsed-text('/etc/passwd')"/></xsl:template>`, "unparsed-text()"},
		{`<xsl:template match="/"><xsl:copy-of select="doc ('file:///etc/hosts')"/></xsl:template>`, "doc()"},
		{`<xsl:template match="/"><x a="{collection('.')}"/></xsl:template>`, "collection()"},
		{`<xsl:template match="/"><xsl:result-document href="/tmp/x"/></xsl:template>`, "xsl:result-document"},
		{`<xsl:include href="other.xsl"/>`, "xsl:include"},
		{`<xsl:template match="/" expand-text="yes">{unparsed-text('/etc/passwd')}</xsl:template>`, "unparsed-text()"},
		{`<xsl:template match="/"><xsl:sequence select="function-lookup(xs:QName('fn:doc'), 1)"/></xsl:template>`, "function-lookup()"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		writeDoc(t, dir, "r.xslt", head+tt.body+`</xsl:stylesheet>`)
		_, err := Load(os.DirFS(dir), "r.xslt")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to name %s", tt.body, err, tt.want)
		}
	}
	// Allowed: the document under validation, and words in text.
	dir := t.TempDir()
	writeDoc(t, dir, "ok.xslt", head+`<xsl:param name="schxslt.validate.initial-document-uri"/>
<xsl:template match="/"><xsl:apply-templates select="document($schxslt.validate.initial-document-uri)"/><t>Each document (BG-24) needs a doc (see collection (x)).</t></xsl:template></xsl:stylesheet>`)
	if _, err := Load(os.DirFS(dir), "ok.xslt"); err != nil {
		t.Errorf("an allowed stylesheet: %v", err)
	}
}
