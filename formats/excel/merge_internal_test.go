package excel

import (
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// TestScanMergesChunks: a tag is found once wherever the chunks cut it,
// and what only looks like one is not taken.
func TestScanMergesChunks(t *testing.T) {
	const tags = `<mergeCells count="3"><mergeCell ref="A1:B2"/><m:mergeCell  ref="C3:D4"></m:mergeCell>` +
		`<t>mergeCell ref="Z1:Z9"</t><mergeCell` + "\r\n" + `ref="E5:F6"/></mergeCells>`
	want := []string{"A1:B2", "C3:D4", "E5:F6"}
	for pad := scanChunk - 120; pad <= scanChunk+maxTag+20; pad++ {
		xml := "<sheetData>" + strings.Repeat("x", pad) + "</sheetData>" + tags
		var got []string
		// One byte at a time also makes io.ReadFull loop.
		rd := iotest.HalfReader(strings.NewReader(xml))
		if err := scanMerges(rd, func(ref []byte) error { got = append(got, string(ref)); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("padding %d: found %q, want %q", pad, got, want)
		}
	}
}

func TestScanMergesTags(t *testing.T) {
	long := `<mergeCell ` + strings.Repeat(" ", maxTag) + `ref="A1:B2"/>`
	tests := []struct {
		xml  string
		want []string
	}{
		{`<mergeCell ref="A1:B2"/>`, []string{"A1:B2"}},
		{`<mergeCell ref='A1:B2' />`, []string{"A1:B2"}},
		{`<mergeCell id="x" ref = "A1:B2"/>`, []string{"A1:B2"}},
		{`<mergeCell r:ref="A1:B2" ref="C1:D2"/>`, []string{"C1:D2"}},
		{`<ns0:mergeCell ref="A1:B2"/>`, []string{"A1:B2"}},
		{`<:mergeCell ref="A1:B2"/>`, nil},    // no prefix before the colon
		{`<a b:mergeCell ref="A1:B2"/>`, nil}, // an attribute, not an element
		{`<mergeCellX ref="A1:B2"/>`, nil},    // another element
		{`</mergeCell ref="A1:B2">`, nil},     // an end tag
		{`<mergeCell ref="A1:B2"`, nil},       // cut by the end
		{`<mergeCell ref="A1:B2/>`, nil},      // an open quote
		{`<mergeCell ref=A1:B2/>`, nil},       // no quotes
		{`mergeCell ref="A1:B2"/>`, nil},      // at the start
		{long, nil},                           // too long to look at
		{`<` + strings.Repeat("p", maxPrefix) + `:mergeCell ref="A1:B2"/>`, []string{"A1:B2"}},
		{`<` + strings.Repeat("p", maxPrefix+1) + `:mergeCell ref="A1:B2"/>`, nil},
	}
	for _, tt := range tests {
		var got []string
		if err := scanMerges(strings.NewReader(tt.xml), func(ref []byte) error { got = append(got, string(ref)); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%.60s: found %q, want %q", tt.xml, got, tt.want)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		ref  string
		want mergedRange
		ok   bool
	}{
		{"A1:C3", mergedRange{1, 1, 3, 3}, true},
		{"C3:A1", mergedRange{1, 1, 3, 3}, true},
		{"B1:A2", mergedRange{1, 1, 2, 2}, true},
		{"xfd1048576:XFC1048575", mergedRange{1048575, 16383, 1048576, 16384}, true},
		{"A1:A1", mergedRange{1, 1, 1, 1}, false},
		{"A1", mergedRange{}, false},
		{"A1:XFE1", mergedRange{}, false},
		{"A0:B2", mergedRange{}, false},
		{"A1:B1048577", mergedRange{}, false},
		{"1:2", mergedRange{}, false},
		{"", mergedRange{}, false},
	}
	for _, tt := range tests {
		got, ok := parseRange(tt.ref)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parseRange(%q) = %v, %v; want %v, %v", tt.ref, got, ok, tt.want, tt.ok)
		}
	}
}

// TestFill: rows are filled from the ranges that reach them, within the
// limit, and ranges are let go after their last row.
func TestFill(t *testing.T) {
	m := merges{todo: []mergedRange{{1, 1, 1, 3}, {2, 2, 4, 2}, {3, 3, 3, 9}}}
	rows := []struct {
		cols  []string
		limit int
		want  []string
	}{
		{[]string{"Title"}, maxColumns, []string{"Title", "Title", "Title"}},
		{[]string{"a", "b"}, 3, []string{"a", "b"}},
		{nil, 3, []string{"", "b"}}, // C3's range starts blank: nothing to fill
		{[]string{"d", "", "x", "y"}, 4, []string{"d", "b", "x", "y"}},
		{[]string{"e"}, 4, []string{"e"}},
	}
	for i, r := range rows {
		got, err := m.fill(i+1, r.cols, r.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r.want) {
			t.Errorf("row %d: %q, want %q", i+1, got, r.want)
		}
	}
	if len(m.active) != 0 || len(m.todo) != 0 || m.width != 0 {
		t.Errorf("after the last range: %+v", m)
	}
}
