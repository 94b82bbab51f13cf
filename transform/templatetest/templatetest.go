// Package templatetest runs a template's test cases and compares what the
// template makes with the expected files, showing differences the way a
// finance user reads them: row and column for tabular files, entity, row
// and column for DMF packages, element paths for XML. `erpipe templates
// test` and the golden test of the built-in templates both use it.
//
// The cases of a template at DIR/template.yaml (or DIR/NAME.yaml with only
// tests: cases) are:
//
//   - each sample DIR/samples/FILE, expected in DIR/testdata/golden/sample-FILE/;
//   - each folder DIR/testdata/cases/CASE/ with one input.* file, expected
//     in DIR/testdata/golden/CASE/;
//   - each entry of the template's tests: key (input, and expect: a file
//     or folder, or error: a part of the expected message).
//
// An expected folder holds result.txt (the counts, every rejected row and
// warning, or the file error) and one file per output (a zip's entries as
// ZIP/ENTRY, UTF-16 text as UTF-8).
package templatetest

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/encoding/unicode"

	"github.com/erpipe/erpipe/transform"
)

// CaseTime is the moment every test case runs at (transform.RunOptions.Time),
// so that what a template makes from the time (a document's creation time,
// a message id, zip time stamps) does not depend on when the case's files
// were checked out.
var CaseTime = time.Date(2026, 1, 30, 9, 15, 0, 0, time.UTC)

// CaseID is the run id every test case runs with (transform.RunOptions.ID,
// input.id in XML layouts), so that message ids are the same every run.
const CaseID = "20260130-091500-case"

// Case is one test case of a template.
type Case struct {
	Name   string
	Input  string // the input file, on disk
	Expect string // the expected folder, or file; "" when Error is set
	Error  string // a part of the message the run must give
}

// Outcome is the result of one case.
type Outcome struct {
	Case    Case
	Pass    bool
	Updated bool   // --update rewrote the expectation
	Diff    string // why the case failed, readable; "" when it passed
}

// Cases returns the cases of the template loaded from file (on disk),
// sorted by name.
func Cases(t *transform.Template, file string) ([]Case, error) {
	dir := filepath.Dir(file)
	var cases []Case
	golden := filepath.Join(dir, "testdata", "golden")
	if filepath.Base(file) == "template.yaml" {
		samples, _ := os.ReadDir(filepath.Join(dir, "samples"))
		for _, s := range samples {
			// Only the files themselves: a template reads nothing beyond
			// its folder, and a symbolic link could point anywhere.
			if s.Type().IsRegular() {
				name := "sample-" + s.Name()
				cases = append(cases, Case{Name: name, Input: filepath.Join(dir, "samples", s.Name()), Expect: filepath.Join(golden, name)})
			}
		}
		dirs, _ := os.ReadDir(filepath.Join(dir, "testdata", "cases"))
		for _, d := range dirs {
			if !d.IsDir() {
				continue
			}
			matches, _ := filepath.Glob(filepath.Join(dir, "testdata", "cases", d.Name(), "input.*"))
			if len(matches) != 1 {
				return nil, fmt.Errorf("%s: want exactly one input.* file, found %d", filepath.Join(dir, "testdata", "cases", d.Name()), len(matches))
			}
			if st, err := os.Lstat(matches[0]); err != nil || !st.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a file of the template's folder (a symbolic link?); copy the input in", matches[0])
			}
			cases = append(cases, Case{Name: d.Name(), Input: matches[0], Expect: filepath.Join(golden, d.Name())})
		}
	}
	for _, tc := range t.Tests() {
		c := Case{Name: tc.Name, Input: filepath.Join(dir, filepath.FromSlash(tc.Input)), Error: tc.Error}
		if tc.Expect != "" {
			c.Expect = filepath.Join(dir, filepath.FromSlash(tc.Expect))
		}
		cases = append(cases, c)
	}
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// Run runs one case. With update, a failing case's expectation is
// rewritten (an error: expectation lives in the template and is not).
func Run(ctx context.Context, t *transform.Template, c Case, update bool) (Outcome, error) {
	o := Outcome{Case: c}
	out, err := os.MkdirTemp("", "erpipe-test-*")
	if err != nil {
		return o, err
	}
	defer os.RemoveAll(out)
	res, runErr := t.RunWith(ctx, c.Input, out, transform.RunOptions{Time: CaseTime, ID: CaseID})
	if ctx.Err() != nil {
		return o, ctx.Err()
	}
	if c.Error != "" {
		msgs := messages(res, runErr)
		for _, m := range msgs {
			if strings.Contains(m, c.Error) {
				o.Pass = true
				return o, nil
			}
		}
		if len(msgs) == 0 {
			o.Diff = fmt.Sprintf("want a message containing %q; the run gave none (%s)", c.Error, strings.TrimSpace(Summary(res, runErr)))
		} else {
			o.Diff = fmt.Sprintf("want a message containing %q; the run gave:\n  %s", c.Error, strings.Join(msgs, "\n  "))
		}
		return o, nil
	}
	got, err := Snapshot(res, runErr)
	if err != nil {
		return o, err
	}
	if isFileExpectation(c.Expect) && outputCount(got) <= 1 && !zipInPlainFile(c.Expect, got) {
		return runFile(o, got, runErr, update)
	}
	want, err := readTree(c.Expect)
	if err != nil && !update {
		o.Diff = fmt.Sprintf("%v; run with --update to write the expected files", err)
		return o, nil
	}
	o.Diff = Compare(want, got)
	if o.Diff == "" {
		o.Pass = true
		return o, nil
	}
	if update {
		if err := writeTree(c.Expect, got); err != nil {
			return o, err
		}
		o.Pass, o.Updated = true, true
	}
	return o, nil
}

// outputCount is the number of output files in a snapshot (a zip's
// entries count as their zip). A run of several outputs (one document per
// invoice) is kept as a folder, even for a sample.
func outputCount(got map[string][]byte) int {
	files := map[string]bool{}
	for k := range got {
		if k == "result.txt" {
			continue
		}
		if zipName, _, ok := strings.Cut(k, ".zip/"); ok {
			k = zipName
		}
		files[k] = true
	}
	return len(files)
}

// zipInPlainFile says whether the run made a zip (a package, a workbook)
// that an expectation not named .zip would have to hold: such an
// expectation is a folder of the zip's entries, whatever its name (a
// sample's, say customers.csv, which the package is made from).
func zipInPlainFile(expect string, got map[string][]byte) bool {
	if strings.HasSuffix(expect, ".zip") {
		return false
	}
	for k := range got {
		if strings.Contains(k, ".zip/") {
			return true
		}
	}
	return false
}

// isFileExpectation says whether expect names a file rather than a folder.
func isFileExpectation(expect string) bool {
	if st, err := os.Stat(expect); err == nil {
		return !st.IsDir()
	}
	return filepath.Ext(expect) != ""
}

// runFile compares the run's one output with an expected file.
func runFile(o Outcome, got map[string][]byte, runErr error, update bool) (Outcome, error) {
	c := o.Case
	if runErr != nil {
		o.Diff = "the run failed: " + runErr.Error()
		return o, nil
	}
	want := map[string][]byte{}
	b, err := os.ReadFile(c.Expect)
	switch {
	case err != nil && !update:
		o.Diff = fmt.Sprintf("%v; run with --update to write it", err)
		return o, nil
	case err == nil:
		if strings.HasSuffix(c.Expect, ".zip") {
			want, err = zipEntries(b, "")
			if err != nil {
				return o, err
			}
		} else {
			want[""] = readable(b)
		}
	}
	// The run's outputs without result.txt, as the expected file holds them.
	outs := map[string][]byte{}
	var raw []byte
	for k, v := range got {
		if k == "result.txt" {
			continue
		}
		if _, entry, ok := strings.Cut(k, ".zip/"); ok && strings.HasSuffix(c.Expect, ".zip") {
			outs[entry] = v
			continue
		}
		outs[""] = v
		raw = v
	}
	o.Diff = Compare(want, outs)
	if o.Diff == "" {
		o.Pass = true
		return o, nil
	}
	if update {
		data := raw
		if strings.HasSuffix(c.Expect, ".zip") {
			if data, err = makeZip(outs); err != nil {
				return o, err
			}
		}
		if err := os.MkdirAll(filepath.Dir(c.Expect), 0o755); err != nil {
			return o, err
		}
		if err := os.WriteFile(c.Expect, data, 0o644); err != nil {
			return o, err
		}
		o.Pass, o.Updated = true, true
	}
	return o, nil
}

// messages are the file error, rejected rows' errors and warnings of a run.
func messages(res *transform.Result, err error) []string {
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range res.Errors {
		out = append(out, e.Error())
	}
	for _, e := range res.Warnings {
		out = append(out, e.Error())
	}
	return out
}

// Summary renders the counts, rejected rows and warnings of a run, or its
// error: result.txt of an expected folder.
func Summary(res *transform.Result, err error) string {
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "read %d, written %d, rejected %d, skipped %d\n", res.Read, res.Written, res.Rejected, res.Skipped)
	for _, e := range res.Errors {
		b.WriteString("rejected: " + e.Error() + "\n")
	}
	for _, e := range res.Warnings {
		b.WriteString("warning: " + e.Error() + "\n")
	}
	return b.String()
}

// Snapshot is what a run made, by expected file name: result.txt and the
// outputs (a zip's entries as ZIP/ENTRY).
func Snapshot(res *transform.Result, runErr error) (map[string][]byte, error) {
	got := map[string][]byte{"result.txt": []byte(Summary(res, runErr))}
	if runErr != nil {
		return got, nil
	}
	for _, p := range res.Outputs {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(p, ".zip") {
			got[filepath.Base(p)] = readable(b)
			continue
		}
		entries, err := zipEntries(b, filepath.Base(p)+"/")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for k, v := range entries {
			got[k] = v
		}
	}
	return got, nil
}

func zipEntries(b []byte, prefix string) (map[string][]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		out[prefix+f.Name] = readable(data)
	}
	return out, nil
}

func makeZip(files map[string][]byte) ([]byte, error) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range sortedKeys(files) {
		w, err := zw.Create(name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(files[name]); err != nil {
			return nil, err
		}
	}
	err := zw.Close()
	return b.Bytes(), err
}

// utf16Note starts UTF-16 text shown as UTF-8.
const utf16Note = "(UTF-16 LE with BOM, shown as UTF-8)\n"

// readable turns UTF-16 LE text with a BOM into UTF-8 after a note, so
// that expected files and diffs can be read.
func readable(b []byte) []byte {
	if !bytes.HasPrefix(b, []byte{0xFF, 0xFE}) {
		return b
	}
	s, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
	if err != nil {
		return b
	}
	return append([]byte(utf16Note), s...)
}

// readTree reads every file under dir, by slash path.
func readTree(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	return out, err
}

// writeTree replaces dir with files.
func writeTree(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
