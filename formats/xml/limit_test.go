package xml_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/xml"
	"github.com/erpipe/erpipe/internal/memtest"
)

// readAll reads every record, returning how many and the error that ended
// the reading (nil at the end).
func readAll(src io.Reader, lim formats.Limits) (int, error) {
	r, err := xml.NewReader(src, xml.Options{File: "in.xml", Record: "Doc/Rec", Fields: []string{"V"}, Limits: lim})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if _, err := r.Read(); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
		n++
	}
}

// TestXMLLimits: nesting deeper than the limit, inside a record or around
// one, and a text or a name longer than the limit end the reading with a
// *formats.LimitError at its line; documents within them read as before.
func TestXMLLimits(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("<a>", n) + strings.Repeat("</a>", n) }
	lim := formats.Limits{Depth: 64, RecordBytes: 4096, ValueBytes: 4096}
	for _, c := range []struct {
		name, in string
		setting  string // "" for no error
		records  int
	}{
		{"within", "<Doc><Rec><V>1</V>" + deep(60) + "</Rec><Rec><V>2</V></Rec></Doc>", "", 2},
		{"deep in a record", "<Doc><Rec><V>1</V>\n" + deep(100) + "</Rec></Doc>", "limits.depth", 0},
		{"deep outside records", "<Doc>\n" + deep(100) + "<Rec><V>1</V></Rec></Doc>", "limits.depth", 0},
		{"a long text", "<Doc><Rec><V>" + strings.Repeat("x", 5000) + "</V></Rec></Doc>", "limits.record_bytes", 0},
		{"a long name", "<Doc><Rec><" + strings.Repeat("n", 5000) + "/></Rec></Doc>", "limits.record_bytes", 0},
		{"a value in many texts", "<Doc><Rec><V>" + strings.Repeat("xxxx<!-- -->", 2000) + "</V></Rec></Doc>", "limits.value_bytes", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := readAll(strings.NewReader(c.in), lim)
			var le *formats.LimitError
			switch {
			case c.setting == "" && (err != nil || n != c.records):
				t.Fatalf("%d records, %v", n, err)
			case c.setting != "" && (!errors.As(err, &le) || le.Setting != c.setting || le.Pos.Row == 0):
				t.Fatalf("%d records, %v; want the limit %s at a line", n, err, c.setting)
			}
		})
	}
}

// nested is an io.Reader of a document whose elements nest for ever.
type nested struct{ started bool }

func (n *nested) Read(p []byte) (int, error) {
	if !n.started {
		n.started = true
		return copy(p, "<Doc>"), nil
	}
	for i := 0; i+3 <= len(p); i += 3 {
		copy(p[i:], "<a>")
	}
	return len(p) / 3 * 3, nil
}

// TestXMLDepthMemory: endless nesting is refused at the default depth,
// with memory to match.
func TestXMLDepthMemory(t *testing.T) {
	var err error
	memtest.Ceiling(t, 64<<20, func() { _, err = readAll(&nested{}, formats.Limits{}) })
	var le *formats.LimitError
	if !errors.As(err, &le) || le.Setting != "limits.depth" {
		t.Fatalf("endless nesting: %v", err)
	}
}
