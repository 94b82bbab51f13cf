package xsd

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"testing/iotest"
)

var schemaFS = fstest.MapFS{
	"s/main.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t" elementFormDefault="qualified">
  <xs:include schemaLocation="types/amount.xsd"/>
  <xs:element name="Doc"><xs:complexType><xs:sequence>
    <xs:element name="Amt" type="Amount" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>`)},
	"s/types/amount.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t">
  <xs:simpleType name="Amount"><xs:restriction base="xs:decimal"><xs:fractionDigits value="2"/></xs:restriction></xs:simpleType>
</xs:schema>`)},
}

func TestValidateXML(t *testing.T) {
	s, err := Compile(schemaFS, "s", "s/main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Compile(schemaFS, "s", "s/main.xsd"); again != s {
		t.Error("the compiled schema is not cached")
	}
	if err := s.Validate([]byte(`<Doc xmlns="urn:t"><Amt>1.50</Amt></Doc>`)); err != nil {
		t.Errorf("valid document: %v", err)
	}
	err = s.Validate([]byte("<Doc xmlns=\"urn:t\">\n<Amt>1.50</Amt>\n<Amt>1.505</Amt>\n</Doc>"))
	var xe *Error
	if !errors.As(err, &xe) || xe.Problems[0].Line != 3 || xe.Problems[0].Element != "Amt" {
		t.Fatalf("got %#v", err)
	}
	if !strings.Contains(err.Error(), "line 3: element Amt:") {
		t.Errorf("message %q", err)
	}
	if err := s.Validate([]byte("<Doc")); err == nil || !strings.Contains(err.Error(), "not well-formed") {
		t.Errorf("broken XML: %v", err)
	}
}

func TestCompileErrors(t *testing.T) {
	if _, err := Compile(schemaFS, "s", "s/missing.xsd"); err == nil {
		t.Error("a missing schema compiled")
	}
	bad := fstest.MapFS{"b.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="X" type="Nope"/></xs:schema>`)}}
	if _, err := Compile(bad, ".", "b.xsd"); err == nil || !strings.Contains(err.Error(), "does not compile") {
		t.Errorf("got %v", err)
	}
}

// TestValidateXMLFile validates from a file (streamed by libxml2), keeps at
// most maxProblems messages and counts the rest.
func TestValidateXMLFile(t *testing.T) {
	s, err := Compile(schemaFS, "s", "s/main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := s.ValidateFile(write("ok.xml", `<Doc xmlns="urn:t"><Amt>1.50</Amt></Doc>`)); err != nil {
		t.Errorf("valid document: %v", err)
	}
	var b strings.Builder
	b.WriteString("<Doc xmlns=\"urn:t\">\n")
	for i := 0; i < 150; i++ {
		b.WriteString("<Amt>1.505</Amt>\n")
	}
	b.WriteString("</Doc>\n")
	err = s.ValidateFile(write("bad.xml", b.String()))
	var xe *Error
	if !errors.As(err, &xe) {
		t.Fatalf("got %v", err)
	}
	if len(xe.Problems) != maxProblems || xe.More != 150-maxProblems {
		t.Errorf("kept %d problems and counted %d more", len(xe.Problems), xe.More)
	}
	if p := xe.Problems[1]; p.Line != 3 || p.Element != "Amt" || !strings.Contains(p.Message, "1.505") {
		t.Errorf("second problem %+v", p)
	}
	if !strings.Contains(err.Error(), "and 140 more") {
		t.Errorf("message %q", err)
	}
	err = s.ValidateFile(write("broken.xml", "<Doc xmlns=\"urn:t\">\n<Amt>1</Amt>\n"))
	if err == nil || !strings.Contains(err.Error(), "not well-formed") {
		t.Errorf("broken XML: %v", err)
	}
	if err := s.ValidateFile(filepath.Join(dir, "missing.xml")); err == nil {
		t.Error("a missing file validated")
	}
}

// TestValidateReader validates a document as a reader gives it, as
// ValidateFile does a file: through a pipe, while it is written, a few
// bytes at a time; a reader's error is returned; a writer into the pipe
// is not left waiting when libxml2 stops at a broken document.
func TestValidateReader(t *testing.T) {
	s, err := Compile(schemaFS, "s", "s/main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("<Doc xmlns=\"urn:t\">\n")
	for i := 0; i < 20000; i++ {
		b.WriteString("<Amt>1.50</Amt>\n")
	}
	valid := b.String() + "</Doc>\n"
	invalid := strings.Replace(valid, "<Amt>1.50</Amt>", "<Amt>1.505</Amt>", 1) // line 2
	broken := valid[:len(valid)/2] + "<Amt>1</Doc>\n" + valid[len(valid)/2:]
	// piped validates doc through a pipe written 7 bytes at a time.
	piped := func(doc string) error {
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := s.ValidateReader(pr)
			pr.CloseWithError(errors.New("the validation ended")) // the writer goes on without it
			done <- err
		}()
		for i := 0; i < len(doc); i += 7 {
			if _, err := pw.Write([]byte(doc[i:min(i+7, len(doc))])); err != nil {
				break // the validation ended
			}
		}
		pw.Close()
		return <-done
	}
	if err := piped(valid); err != nil {
		t.Errorf("valid document: %v", err)
	}
	err = piped(invalid)
	var xe *Error
	if !errors.As(err, &xe) || xe.Problems[0].Line != 2 || xe.Problems[0].Element != "Amt" {
		t.Errorf("invalid document: %v", err)
	}
	if err := piped(broken); err == nil || !strings.Contains(err.Error(), "not well-formed") {
		t.Errorf("broken document: %v", err)
	}
	failing := io.MultiReader(strings.NewReader(valid[:1000]), iotest.ErrReader(errors.New("disk on fire")))
	if err := s.ValidateReader(failing); err == nil || err.Error() != "disk on fire" {
		t.Errorf("failing reader: %v", err)
	}
}

// TestValidateHostileXML: entities are neither expanded nor fetched while
// validating.
func TestValidateHostileXML(t *testing.T) {
	s, err := Compile(schemaFS, "s", "s/main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "xxe.xml")
	doc := `<?xml version="1.0"?>
<!DOCTYPE Doc [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Doc xmlns="urn:t"><Amt>&x;</Amt></Doc>`
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	err = s.ValidateFile(p)
	if err == nil || strings.Contains(err.Error(), "root:") {
		t.Errorf("got %v", err)
	}
}

// TestValidateXMLConcurrent validates from several goroutines at once.
func TestValidateXMLConcurrent(t *testing.T) {
	s, err := Compile(schemaFS, "s", "s/main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if err := s.Validate([]byte(`<Doc xmlns="urn:t"><Amt>1.50</Amt></Doc>`)); err != nil {
					errs <- err
					return
				}
				if err := s.Validate([]byte(`<Doc xmlns="urn:t"><Amt>x</Amt></Doc>`)); err == nil {
					errs <- errors.New("an invalid document passed")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNoFilesBeyondTheFolder: a schema that imports a URL does not make
// erpipe fetch it, and one that includes a file outside its folder (a
// valid schema there, by absolute path or file:// URL) does not compile;
// the error names the refused file.
func TestNoFilesBeyondTheFolder(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write([]byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:other"/>`))
	}))
	defer srv.Close()
	outside := filepath.Join(t.TempDir(), "amount.xsd")
	if err := os.WriteFile(outside, schemaFS["s/types/amount.xsd"].Data, 0o600); err != nil {
		t.Fatal(err)
	}
	head := `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t">`
	imported := fstest.MapFS{"s/main.xsd": {Data: []byte(head +
		`<xs:import namespace="urn:other" schemaLocation="` + srv.URL + `/other.xsd"/><xs:element name="Doc" type="xs:string"/></xs:schema>`)}}
	if _, err := Compile(imported, "s", "s/main.xsd"); err != nil {
		t.Logf("with the import refused: %v", err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("compiling the schema sent %d HTTP requests", n)
	}
	for _, loc := range []string{outside, "file://" + outside} {
		included := fstest.MapFS{"s/main.xsd": {Data: []byte(head + `<xs:include schemaLocation="` + loc + `"/>` +
			`<xs:element name="Doc"><xs:complexType><xs:sequence><xs:element name="Amt" type="Amount"/></xs:sequence></xs:complexType></xs:element></xs:schema>`)}}
		_, err := Compile(included, "s", "s/main.xsd")
		if err == nil || !strings.Contains(err.Error(), "not one of the schema files beside it") {
			t.Errorf("include of %s: %v", loc, err)
		}
	}
}
