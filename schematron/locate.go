package schematron

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// step is one step of an SVRL location: an element by expanded name and
// position among its like-named siblings.
type step struct {
	space, local string // space "*" matches any namespace
	n            int
}

// parseLocation reads the locations SVRL writers give: steps such as
// /Q{urn:ns}Invoice[1], /*:Invoice[namespace-uri()='urn:ns'][1] or
// /cbc:ID[2] (prefix not resolved), ending perhaps in an attribute or
// text() step, which are left out. ok is false for anything else.
func parseLocation(loc string) (steps []step, ok bool) {
	s := loc
	for s != "" {
		if s[0] != '/' {
			return nil, false
		}
		s = s[1:]
		if strings.HasPrefix(s, "@") || strings.HasPrefix(s, "text()") || strings.HasPrefix(s, "comment()") {
			return steps, len(steps) > 0
		}
		var st step
		switch {
		case strings.HasPrefix(s, "Q{"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return nil, false
			}
			st.space, s = s[2:end], s[end+1:]
		case strings.HasPrefix(s, "*:"):
			st.space, s = "*", s[2:]
		default:
			st.space = "*"
		}
		i := strings.IndexAny(s, "[/")
		if i < 0 {
			i = len(s)
		}
		st.local, s = s[:i], s[i:]
		if c := strings.IndexByte(st.local, ':'); c >= 0 {
			st.local = st.local[c+1:]
		}
		st.n = 1
		for strings.HasPrefix(s, "[") {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, false
			}
			pred := s[1:end]
			s = s[end+1:]
			if ns, found := strings.CutPrefix(pred, "namespace-uri()='"); found {
				st.space = strings.TrimSuffix(ns, "'")
			} else if n, err := strconv.Atoi(pred); err == nil {
				st.n = n
			}
		}
		if st.local == "" {
			return nil, false
		}
		steps = append(steps, st)
	}
	return steps, len(steps) > 0
}

// Locate finds the line of the element an SVRL location names in the
// document read from r (streamed: memory does not grow with the
// document). It returns 0 when the location can't be read or is not in
// the document.
func Locate(r io.Reader, location string) int {
	return LocateAll(r, []string{location})[0]
}

// follower follows one location's steps down the open elements.
type follower struct {
	steps   []step
	matched int                // steps matched by the open elements
	counts  []map[xml.Name]int // counts[d]: the children seen so far of the element at depth d on the path
	done    bool               // found, or known not to be there
}

// LocateAll is Locate for several locations of one document, read once:
// the line of each, 0 for one that can't be read or is not there.
func LocateAll(r io.Reader, locations []string) []int {
	lines := make([]int, len(locations))
	fs := make([]follower, len(locations))
	left := 0
	for i, loc := range locations {
		steps, ok := parseLocation(loc)
		fs[i] = follower{steps: steps, counts: []map[xml.Name]int{{}}, done: !ok}
		if ok {
			left++
		}
	}
	dec := xml.NewDecoder(r)
	depth := 0
	for left > 0 {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			for i := range fs {
				f := &fs[i]
				if f.done || depth != f.matched+1 {
					continue
				}
				c := f.counts[f.matched]
				c[t.Name]++
				st := f.steps[f.matched]
				if st.local != t.Name.Local || st.space != "*" && st.space != t.Name.Space || c[t.Name] != st.n {
					continue
				}
				if f.matched++; f.matched == len(f.steps) {
					lines[i], _ = dec.InputPos()
					f.done = true
					left--
					continue
				}
				f.counts = append(f.counts[:f.matched], map[xml.Name]int{})
			}
		case xml.EndElement:
			for i := range fs {
				if f := &fs[i]; !f.done && depth == f.matched {
					f.done = true // the element the next step is in ended without it
					left--
				}
			}
			depth--
		}
	}
	return lines
}

// Path returns the local names of the elements of an SVRL location, from
// the root: /Q{urn:ns}Invoice[1]/Q{urn:ns2}InvoiceLine[2] gives
// [Invoice InvoiceLine]. It is nil for a location it can't read.
func Path(location string) []string {
	steps, ok := parseLocation(location)
	if !ok {
		return nil
	}
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.local
	}
	return names
}
