package excel

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// The shared strings, for the sheet scanner.
//
// excelize reads the table into structs (xlsxSST) the first time a row
// is read; the scanner keeps the strings only, one after the other in
// one string. They are read exactly as excelize reads them: with
// encoding/xml, into copies of excelize's structs (so that a run's
// properties that excelize can't parse fail here too), and each item is
// the text of its <t> and of its runs' <t>, with _xHHHH_ escapes
// decoded. A table larger than excelize's UnzipXMLSizeLimit (16 MiB
// unpacked) is read the way excelize reads such a table from its
// temporary file.

// sharedStrings is the table: string i is data[off[i]:off[i+1]].
type sharedStrings struct {
	data string
	off  []uint32
}

// get returns string i, or "" when there is none (excelize's error,
// which its Columns drops).
func (t *sharedStrings) get(i int) string {
	if t == nil || i < 0 || i >= len(t.off)-1 {
		return ""
	}
	return t.data[t.off[i]:t.off[i+1]]
}

// excelize's UnzipXMLSizeLimit by default (StreamChunkSize).
const unzipXMLSizeLimit = 16 << 20

// The structs excelize reads an item into (xmlSharedStrings.go,
// xmlChart.go, xmlStyles.go, xmlComments.go, xmlWorksheet.go).
type (
	xSI struct {
		T          *xT             `xml:"t,omitempty"`
		R          []xR            `xml:"r"`
		RPh        []*xPhoneticRun `xml:"rPh"`
		PhoneticPr *xPhoneticPr    `xml:"phoneticPr"`
	}
	xR struct {
		XMLName xml.Name `xml:"r"`
		RPr     *xRPr    `xml:"rPr"`
		T       *xT      `xml:"t"`
	}
	xT struct {
		XMLName xml.Name `xml:"t"`
		Space   xml.Attr `xml:"space,attr,omitempty"`
		Val     string   `xml:",chardata"`
	}
	xRPr struct {
		RFont     *xValString `xml:"rFont"`
		Charset   *xValInt    `xml:"charset"`
		Family    *xValInt    `xml:"family"`
		B         *xValBool   `xml:"b"`
		I         *xValBool   `xml:"i"`
		Strike    *xValBool   `xml:"strike"`
		Outline   *xValBool   `xml:"outline"`
		Shadow    *xValBool   `xml:"shadow"`
		Condense  *xValBool   `xml:"condense"`
		Extend    *xValBool   `xml:"extend"`
		Color     *xColor     `xml:"color"`
		Sz        *xValFloat  `xml:"sz"`
		U         *xValString `xml:"u"`
		VertAlign *xValString `xml:"vertAlign"`
		Scheme    *xValString `xml:"scheme"`
	}
	xValInt struct {
		Val *int `xml:"val,attr"`
	}
	xValFloat struct {
		Val *float64 `xml:"val,attr"`
	}
	xValBool struct {
		Val *bool `xml:"val,attr"`
	}
	xValString struct {
		Val *string `xml:"val,attr"`
	}
	xColor struct {
		Auto    bool    `xml:"auto,attr,omitempty"`
		RGB     string  `xml:"rgb,attr,omitempty"`
		Indexed int     `xml:"indexed,attr,omitempty"`
		Theme   *int    `xml:"theme,attr"`
		Tint    float64 `xml:"tint,attr,omitempty"`
	}
	xPhoneticRun struct {
		Sb uint32 `xml:"sb,attr"`
		Eb uint32 `xml:"eb,attr"`
		T  string `xml:"t"`
	}
	xPhoneticPr struct {
		XMLName   xml.Name `xml:"phoneticPr"`
		Alignment string   `xml:"alignment,attr,omitempty"`
		FontID    *int     `xml:"fontId,attr"`
		Type      string   `xml:"type,attr,omitempty"`
	}
)

// String is excelize's xlsxSI.String.
func (x *xSI) String() string {
	var value strings.Builder
	if x.T != nil {
		value.WriteString(x.T.Val)
	}
	for _, s := range x.R {
		if s.T != nil {
			value.WriteString(s.T.Val)
		}
	}
	if value.Len() == 0 {
		return ""
	}
	return bstrUnmarshal(value.String())
}

const nsSpreadsheet = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

// readSharedStrings reads the table from rd, which unpacks to size
// bytes. An error means the scanner can't stand in for excelize.
func readSharedStrings(rd io.Reader, size uint64) (*sharedStrings, error) {
	t := &sharedStrings{off: []uint32{0}}
	var data []byte
	add := func(si *xSI) error {
		data = append(data, si.String()...)
		if len(data) > 1<<32-1 {
			return unsupported("shared strings too large")
		}
		t.off = append(t.off, uint32(len(data)))
		return nil
	}
	if size > unzipXMLSizeLimit {
		// excelize's getFromStringItem: every <si>, at any depth, until
		// the decoder stops.
		d := xml.NewDecoder(rd)
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, unsupported("shared strings: " + err.Error())
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "si" {
				var si xSI
				if err := d.DecodeElement(&si, &se); err != nil {
					return nil, unsupported("shared strings: " + err.Error())
				}
				if err := add(&si); err != nil {
					return nil, err
				}
			}
		}
		t.data = string(data)
		return t, nil
	}
	// excelize's sharedStringsReader: Decode into xlsxSST, after
	// namespaceStrictToTransitional (which the scanner leaves to excelize).
	strict := &strictWatch{r: rd}
	d := xml.NewDecoder(strict)
	var root xml.StartElement
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return t, nil // an empty table, as for excelize
		}
		if err != nil {
			return nil, unsupported("shared strings: " + err.Error())
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
	}
	if root.Name.Local != "sst" || root.Name.Space != nsSpreadsheet {
		return nil, unsupported("shared strings: root element")
	}
	for _, a := range root.Attr {
		if (a.Name.Local == "count" || a.Name.Local == "uniqueCount") && !parsesAs('i', []byte(a.Value)) {
			return nil, unsupported("shared strings: count")
		}
	}
	for done := false; !done; {
		tok, err := d.Token()
		if err != nil {
			return nil, unsupported("shared strings: " + err.Error())
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local != "si" {
				if err := d.Skip(); err != nil {
					return nil, unsupported("shared strings: " + err.Error())
				}
				continue
			}
			var si xSI
			if err := d.DecodeElement(&si, &tok); err != nil {
				return nil, unsupported("shared strings: " + err.Error())
			}
			if err := add(&si); err != nil {
				return nil, err
			}
		case xml.EndElement:
			done = true
		}
	}
	if strict.seen {
		return nil, unsupported("shared strings: strict namespaces")
	}
	t.data = string(data)
	return t, nil
}

// strictWatch notes whether the bytes read through it name the strict
// namespaces (purl.oclc.org), which excelize rewrites before it decodes.
type strictWatch struct {
	r    io.Reader
	tail []byte
	seen bool
}

var purl = []byte("purl.oclc.org")

func (w *strictWatch) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 && !w.seen {
		b := append(w.tail, p[:n]...)
		w.seen = bytes.Contains(b, purl)
		w.tail = append(w.tail[:0], b[max(0, len(b)-len(purl)+1):]...)
	}
	return n, err
}

// bstrExp and bstrUnmarshal are excelize's (lib.go): the _xHHHH_ escapes
// of characters XML 1.0 does not allow.
var bstrExp = regexp.MustCompile(`_x[a-fA-F\d]{4}_`)

func bstrUnmarshal(s string) (result string) {
	if !strings.Contains(s, "_x") {
		return s
	}
	matches, l, cursor := bstrExp.FindAllStringSubmatchIndex(s, -1), len(s), 0
	for _, match := range matches {
		result += s[cursor:match[0]]
		subStr := s[match[0]:match[1]]
		if subStr == "_x005F_" {
			cursor = match[1]
			result += "_"
			continue
		}
		if bstrExp.MatchString(subStr) {
			cursor = match[1]
			v, _ := strconv.Unquote(`"\u` + s[match[0]+2:match[1]-1] + `"`)
			result += v
		}
	}
	if cursor < l {
		result += s[cursor:]
	}
	return result
}
