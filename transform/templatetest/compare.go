package templatetest

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

// maxShown is how many differences are shown per file.
const maxShown = 10

// Compare returns the differences between expected and made files, by
// name ("" when they are the same): files missing or extra, and for each
// file that differs its differences, cell by cell for CSV files (DMF data
// files name their entity), element by element for XML, line by line for
// anything else.
func Compare(want, got map[string][]byte) string {
	var b strings.Builder
	names := map[string]bool{}
	for k := range want {
		names[k] = true
	}
	for k := range got {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		w, inWant := want[name]
		g, inGot := got[name]
		label := name
		if label == "" {
			label = "the output"
		}
		switch {
		case !inGot:
			fmt.Fprintf(&b, "%s: expected, but the run no longer makes it\n", label)
		case !inWant:
			fmt.Fprintf(&b, "%s: made by the run, but not expected\n", label)
		case !bytes.Equal(w, g) && !sameZip(w, g):
			fmt.Fprintf(&b, "%s:\n%s", label, indent(FileDiff(name, w, g)))
		}
	}
	return b.String()
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l)
	}
	b.WriteString("\n")
	return b.String()
}

// FileDiff describes how got differs from want for the file called name.
func FileDiff(name string, want, got []byte) string {
	ext := strings.ToLower(path.Ext(name))
	if name == "" {
		ext = sniff(want)
	}
	switch ext {
	case ".csv", ".txt":
		if path.Base(name) == "result.txt" {
			break // counts and messages: lines
		}
		if d, ok := tableDiff(name, want, got); ok {
			return d
		}
	case ".xml":
		if d, ok := xmlDiff(want, got); ok {
			return d
		}
	}
	if ew, err := zipEntries(want, ""); err == nil {
		if eg, err := zipEntries(got, ""); err == nil {
			return "the archive's entries differ:\n" + Compare(ew, eg)
		}
	}
	if !utf8.Valid(want) || !utf8.Valid(got) {
		return fmt.Sprintf("the files differ (binary, %d bytes expected, %d made)\n", len(want), len(got))
	}
	return lineDiff(string(want), string(got))
}

// sameZip says whether two zip archives (an .xlsx workbook, a package)
// hold the same entries, in whatever order.
func sameZip(a, b []byte) bool {
	ea, err := zipEntries(a, "")
	if err != nil {
		return false
	}
	eb, err := zipEntries(b, "")
	if err != nil || len(ea) != len(eb) {
		return false
	}
	for k, v := range ea {
		if w, ok := eb[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func sniff(b []byte) string {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
		return ".xml"
	}
	if bytes.ContainsAny(b, ",;\t") {
		return ".csv"
	}
	return ""
}

// tableDiff compares two CSV files cell by cell, naming rows by their
// number in the file and columns by their header. A file inside a zip
// (ZIP/ENTITY.csv) is a DMF entity's data file.
func tableDiff(name string, want, got []byte) (string, bool) {
	wr, ok1 := readTable(want)
	gr, ok2 := readTable(got)
	if !ok1 || !ok2 || len(wr) == 0 || len(gr) == 0 {
		return "", false
	}
	where := ""
	if dir, file := path.Split(name); strings.HasSuffix(dir, ".zip/") {
		where = "entity " + strings.TrimSuffix(file, path.Ext(file)) + " "
	}
	var b strings.Builder
	shown := 0
	header := wr[0]
	if !equalRow(wr[0], gr[0]) {
		fmt.Fprintf(&b, "%sheader: want %s\n  got  %s\n", where, strings.Join(quote(wr[0]), ", "), strings.Join(quote(gr[0]), ", "))
		shown++
	}
	for i := 1; i < max(len(wr), len(gr)) && shown < maxShown; i++ {
		switch {
		case i >= len(gr):
			fmt.Fprintf(&b, "%srow %d: missing (want %s)\n", where, i+1, strings.Join(quote(wr[i]), ", "))
			shown++
		case i >= len(wr):
			fmt.Fprintf(&b, "%srow %d: not expected (got %s)\n", where, i+1, strings.Join(quote(gr[i]), ", "))
			shown++
		default:
			for j := 0; j < max(len(wr[i]), len(gr[i])) && shown < maxShown; j++ {
				w, g := cell(wr[i], j), cell(gr[i], j)
				if w == g {
					continue
				}
				col := fmt.Sprintf("column %d", j+1)
				if j < len(header) && header[j] != "" {
					col = fmt.Sprintf("column %d (%s)", j+1, header[j])
				}
				fmt.Fprintf(&b, "%srow %d %s: want %q, got %q\n", where, i+1, col, w, g)
				shown++
			}
		}
	}
	if shown == 0 {
		// Same cells, other bytes: quoting, line ends, a BOM.
		return "the same cells, written differently (quotes, line ends or byte order mark):\n" + lineDiff(string(want), string(got)), true
	}
	if shown >= maxShown {
		b.WriteString("... (more differences not shown)\n")
	}
	return b.String(), true
}

func readTable(b []byte) ([][]string, bool) {
	b = bytes.TrimPrefix(b, []byte(utf16Note))
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	comma := ','
	first, _, _ := bytes.Cut(b, []byte("\n"))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		comma = ';'
	} else if bytes.Count(first, []byte("\t")) > bytes.Count(first, []byte(",")) {
		comma = '\t'
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	return rows, err == nil
}

func cell(row []string, j int) string {
	if j < len(row) {
		return row[j]
	}
	return ""
}

func equalRow(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func quote(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// xmlDiff compares two XML documents by element path: each element's text
// and attributes, with [n] for the n-th element of the same name.
func xmlDiff(want, got []byte) (string, bool) {
	wl, err1 := flattenXML(want)
	gl, err2 := flattenXML(got)
	if err1 != nil || err2 != nil {
		return "", false
	}
	wm, gm := map[string]string{}, map[string]string{}
	var order []string
	for _, kv := range wl {
		wm[kv[0]] = kv[1]
		order = append(order, kv[0])
	}
	for _, kv := range gl {
		gm[kv[0]] = kv[1]
		if _, ok := wm[kv[0]]; !ok {
			order = append(order, kv[0])
		}
	}
	var b strings.Builder
	shown := 0
	for _, p := range order {
		if shown >= maxShown {
			b.WriteString("... (more differences not shown)\n")
			break
		}
		w, inW := wm[p]
		g, inG := gm[p]
		switch {
		case !inG:
			fmt.Fprintf(&b, "%s: missing (want %q)\n", p, w)
		case !inW:
			fmt.Fprintf(&b, "%s: not expected (got %q)\n", p, g)
		case w != g:
			fmt.Fprintf(&b, "%s: want %q, got %q\n", p, w, g)
		default:
			continue
		}
		shown++
	}
	if shown == 0 {
		return "the same elements, written differently:\n" + lineDiff(string(want), string(got)), true
	}
	return b.String(), true
}

// flattenXML lists (path, value) of every element's text and attribute.
func flattenXML(b []byte) ([][2]string, error) {
	b = bytes.TrimPrefix(b, []byte(utf16Note))
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	var out [][2]string
	type frame struct {
		path   string
		counts map[string]int
		text   strings.Builder
	}
	stack := []*frame{{counts: map[string]int{}}}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			top.counts[t.Name.Local]++
			p := fmt.Sprintf("%s/%s", top.path, t.Name.Local)
			if n := top.counts[t.Name.Local]; n > 1 {
				p = fmt.Sprintf("%s[%d]", p, n)
			}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				out = append(out, [2]string{p + "/@" + a.Name.Local, a.Value})
			}
			stack = append(stack, &frame{path: p, counts: map[string]int{}})
		case xml.CharData:
			top.text.Write(t)
		case xml.EndElement:
			if s := strings.TrimSpace(top.text.String()); s != "" || len(top.counts) == 0 {
				out = append(out, [2]string{top.path, s})
			}
			stack = stack[:len(stack)-1]
		}
	}
	return out, nil
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < maxShown; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d: want %q\n  got  %q\n", i+1, w, g)
			shown++
		}
	}
	return b.String()
}
