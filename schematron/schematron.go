// Package schematron runs Schematron business rules, compiled to XSLT 2.0
// (as the Peppol and CEN validation artefacts are published), over XML
// documents, and reads their SVRL reports.
//
// The rules need an XSLT 2.0 processor. erpipe runs Saxon-HE in a Java
// runtime (Debian: default-jre-headless and libsaxonhe-java): one JVM per
// call to Validate, whatever the number of documents and rule files, so a
// job of a thousand invoices pays the JVM start and the compilation of
// each rule file once. A missing processor is an error (*MissingError)
// that says how to install it; the rules are never skipped silently.
//
// The package knows no templates: a Rules is a set of files, a document
// a path, and an Assert what the SVRL said, with the line of the element
// it is about (Locate).
package schematron

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Rules is a set of compiled Schematron rule files (XSLT 2.0).
type Rules struct {
	Names []string // the files' paths as given to Load
	data  [][]byte // their content, in Names order: written to each run's own folder
}

var (
	mu    sync.Mutex
	cache = map[string]*Rules{}
)

// Load reads the rule files at paths in fsys and keeps their content, so
// that the processor reads exactly what was loaded. The result is cached
// by the files' content.
func Load(fsys fs.FS, paths ...string) (*Rules, error) {
	h := sha256.New()
	data := make([][]byte, len(paths))
	for i, p := range paths {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		if err := confined(p, b); err != nil {
			return nil, err
		}
		data[i] = b
		fmt.Fprintf(h, "%s\x00%d\x00", path.Base(p), len(b))
		h.Write(b)
	}
	key := hex.EncodeToString(h.Sum(nil))
	mu.Lock()
	defer mu.Unlock()
	if r := cache[key]; r != nil {
		return r, nil
	}
	r := &Rules{Names: paths, data: data}
	cache[key] = r
	return r, nil
}

// Flags of failed asserts. Only FlagFatal makes a document unacceptable;
// an assert without a flag counts as fatal, as Schematron's default.
const (
	FlagFatal   = "fatal"
	FlagWarning = "warning"
)

// Assert is one failed assert (or successful report) of the SVRL.
type Assert struct {
	Rules    string // the rule file's path as given to Load
	ID       string // the rule's id, e.g. BR-CO-25
	Flag     string // fatal, warning, information...
	Location string // the XPath of the element it is about
	Text     string // the rule's message
	Test     string // the XPath test that failed
}

// Fatal says whether the assert makes the document unacceptable.
func (a Assert) Fatal() bool { return a.Flag == "" || a.Flag == FlagFatal || a.Flag == "error" }

func (a Assert) String() string {
	return fmt.Sprintf("%s [%s] %s", a.ID, a.Flag, a.Text)
}

// Report is what the rules said of one document.
type Report struct {
	Doc     string   // the document's path
	Asserts []Assert // failed asserts, in rule-file then document order
}

// Fatal returns the fatal asserts.
func (r Report) Fatal() []Assert {
	var out []Assert
	for _, a := range r.Asserts {
		if a.Fatal() {
			out = append(out, a)
		}
	}
	return out
}

// Processor is the XSLT 2.0 processor: a Java runtime and Saxon-HE's jar.
type Processor struct {
	Java string // the java command
	Jar  string // Saxon-HE's jar
}

// MissingError says the processor could not be found, and how to get it.
type MissingError struct{ What string }

func (e *MissingError) Error() string {
	return e.What + ": the Schematron rules need an XSLT 2.0 processor, Saxon-HE in a Java runtime. " +
		"Install it (Debian and Ubuntu: apt-get install default-jre-headless libsaxonhe-java), or set ERPIPE_SAXON_JAR to Saxon-HE's jar and put java on the PATH; " +
		"or turn the rules off in a template of your own that extends this one (output.xml.schematron: [])"
}

// jarPlaces are where Linux distributions put Saxon-HE.
var jarPlaces = []string{"/usr/share/java/Saxon-HE.jar", "/usr/share/java/saxon9he.jar", "/usr/share/java/saxon-he.jar", "/usr/share/java/saxon.jar"}

// Find looks for the processor: java on the PATH (or in $JAVA_HOME/bin),
// Saxon-HE's jar at $ERPIPE_SAXON_JAR or where Debian installs it.
func Find() (*Processor, error) {
	p := &Processor{}
	if jh := os.Getenv("JAVA_HOME"); jh != "" {
		if _, err := os.Stat(filepath.Join(jh, "bin", "java")); err == nil {
			p.Java = filepath.Join(jh, "bin", "java")
		}
	}
	if p.Java == "" {
		j, err := exec.LookPath("java")
		if err != nil {
			return nil, &MissingError{What: "no java command on the PATH"}
		}
		p.Java = j
	}
	if j := os.Getenv("ERPIPE_SAXON_JAR"); j != "" {
		if _, err := os.Stat(j); err != nil {
			return nil, &MissingError{What: "ERPIPE_SAXON_JAR: " + err.Error()}
		}
		p.Jar = j
		return p, nil
	}
	for _, j := range jarPlaces {
		if _, err := os.Stat(j); err == nil {
			p.Jar = j
			return p, nil
		}
	}
	return nil, &MissingError{What: "Saxon-HE not found (looked at " + strings.Join(jarPlaces, ", ") + ")"}
}

// driver is the XSLT 3.0 stylesheet the JVM runs: for each document of
// the list, each rule file through fn:transform (Saxon compiles each rule
// file once and keeps it), the SVRL wrapped in <result>. A document the
// rules can't run on gives <error> instead of ending the run.
const driver = `<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:err="http://www.w3.org/2005/xqt-errors">
  <xsl:template match="/">
    <results>
      <xsl:for-each select="/run/doc">
        <xsl:variable name="d" select="@href"/>
        <xsl:variable name="i" select="position()"/>
        <xsl:for-each select="/run/rules">
          <result doc="{$i}" rules="{position()}">
            <xsl:try>
              <xsl:sequence select="transform(map{'stylesheet-location': string(@href), 'source-node': parse-xml(unparsed-text($d))})?output"/>
              <xsl:catch><error><xsl:value-of select="$err:description"/></error></xsl:catch>
            </xsl:try>
          </result>
        </xsl:for-each>
      </xsl:for-each>
    </results>
  </xsl:template>
</xsl:stylesheet>
`

// Validate runs the rules over the documents, in one JVM, and returns a
// report per document (in docs order). An error means the rules could not
// run at all (no processor, a rule file the processor refuses); a
// document the rules could not read is an error naming it.
func (p *Processor) Validate(ctx context.Context, r *Rules, docs []string) ([]Report, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	work, err := os.MkdirTemp("", "erpipe-svrl-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var list bytes.Buffer
	list.WriteString("<run>")
	for i, b := range r.data {
		f := filepath.Join(work, fmt.Sprintf("rules-%d-%s", i, path.Base(r.Names[i])))
		if err := os.WriteFile(f, b, 0o600); err != nil {
			return nil, err
		}
		fmt.Fprintf(&list, "<rules href=\"%s\"/>", attr(fileURL(f)))
	}
	for _, d := range docs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&list, "<doc href=\"%s\"/>", attr(fileURL(abs)))
	}
	list.WriteString("</run>")
	listFile, driverFile, outFile := filepath.Join(work, "run.xml"), filepath.Join(work, "driver.xsl"), filepath.Join(work, "out.xml")
	if err := os.WriteFile(listFile, list.Bytes(), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(driverFile, []byte(driver), 0o600); err != nil {
		return nil, err
	}
	args := javaOptions()
	args = append(args, "-cp", p.Jar, "net.sf.saxon.Transform", "-s:"+listFile, "-xsl:"+driverFile, "-o:"+outFile)
	cmd := exec.CommandContext(ctx, p.Java, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("the Schematron processor failed (%v): %s", err, lastLines(stderr.String(), 5))
	}
	f, err := os.Open(outFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return r.read(f, docs)
}

// javaOptions are the JVM's options: $ERPIPE_JAVA_OPTIONS (split at
// spaces), else a heap of 512 MB. The heap caps the JVM's memory however
// many documents a job has (measured: 3,000 invoices in 300 MB); without a
// cap the JVM takes up to a quarter of the machine's memory before it
// collects.
func javaOptions() []string {
	if o := strings.Fields(os.Getenv("ERPIPE_JAVA_OPTIONS")); len(o) > 0 {
		return o
	}
	return []string{"-Xss8m", "-Xmx512m"}
}

// read parses the driver's output.
func (r *Rules) read(in io.Reader, docs []string) ([]Report, error) {
	reports := make([]Report, len(docs))
	for i, d := range docs {
		reports[i].Doc = d
	}
	dec := xml.NewDecoder(in)
	var cur *Report
	var rules string
	var a *Assert
	var text strings.Builder
	inText, inError := false, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return reports, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the SVRL: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "result":
				di, err1 := strconv.Atoi(attrOf(t, "doc"))
				ri, err2 := strconv.Atoi(attrOf(t, "rules"))
				di, ri = di-1, ri-1 // 1-based in the driver's output
				if err1 != nil || err2 != nil || di < 0 || di >= len(docs) || ri < 0 || ri >= len(r.Names) {
					return nil, fmt.Errorf("reading the SVRL: a result for an unknown document or rule file")
				}
				cur, rules = &reports[di], r.Names[ri]
			case "error":
				inError = true
				text.Reset()
			case "failed-assert", "successful-report":
				a = &Assert{Rules: rules, ID: attrOf(t, "id"), Flag: attrOf(t, "flag"), Location: attrOf(t, "location"), Test: attrOf(t, "test")}
			case "text":
				if a != nil {
					inText = true
					text.Reset()
				}
			}
		case xml.CharData:
			if inText || inError {
				text.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "error":
				inError = false
				if cur != nil {
					return nil, fmt.Errorf("%s: the rules of %s could not run on it: %s", filepath.Base(cur.Doc), path.Base(rules), strings.TrimSpace(text.String()))
				}
			case "text":
				if a != nil && inText {
					a.Text = strings.Join(strings.Fields(text.String()), " ")
					inText = false
				}
			case "failed-assert", "successful-report":
				if a != nil && cur != nil {
					cur.Asserts = append(cur.Asserts, *a)
				}
				a = nil
			}
		}
	}
}

func attrOf(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func fileURL(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

// attr escapes s for an attribute value (EscapeText escapes quotes too).
func attr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// lastLines keeps the last n lines of the processor's messages, leaving
// out its compile-time warnings about the rule files.
func lastLines(s string, n int) string {
	var keep []string
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "Warning at ") {
			i++ // and its second line
			continue
		}
		keep = append(keep, strings.TrimSpace(l))
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, " ")
}
