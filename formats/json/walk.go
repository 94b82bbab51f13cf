package json

import (
	stdjson "encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/erpipe/erpipe/formats"
)

// records walks the document down the record path and yields each record.
func (r *Reader) records() iter.Seq2[formats.Record, error] {
	return func(yield func(formats.Record, error) bool) {
		if len(r.steps) == 0 {
			r.topLevel(yield)
			return
		}
		tok, err := r.token()
		if err == io.EOF {
			yield(formats.Record{}, r.errorAt(0, "the file is empty"))
			return
		}
		if err != nil {
			yield(formats.Record{}, r.syntax(err))
			return
		}
		found, ok := r.object(tok, 0, yield)
		if ok && !found {
			yield(formats.Record{}, r.errorAt(r.dec.InputOffset(), "%v: %s", ErrNoRecords, r.pathText()))
		}
	}
}

func (r *Reader) pathText() string {
	var parts []string
	for _, s := range r.steps {
		n := s.name
		if s.each {
			n += "[]"
		}
		parts = append(parts, n)
	}
	return strings.Join(parts, ".")
}

// topLevel yields the items of a top-level array, or each top-level value
// (JSON Lines).
func (r *Reader) topLevel(yield func(formats.Record, error) bool) {
	off := r.dec.InputOffset()
	tok, err := r.token()
	if err == io.EOF {
		yield(formats.Record{}, r.errorAt(0, "the file is empty"))
		return
	}
	if err != nil {
		yield(formats.Record{}, r.syntax(err))
		return
	}
	if d, ok := tok.(stdjson.Delim); ok && d == '[' {
		r.items(yield)
		return
	}
	// JSON Lines: this value, then the next ones.
	if !r.recordFrom(tok, off, yield) {
		return
	}
	for {
		off := r.dec.InputOffset()
		tok, err := r.token()
		if err == io.EOF {
			return
		}
		if err != nil {
			yield(formats.Record{}, r.syntax(err))
			return
		}
		if !r.recordFrom(tok, off, yield) {
			return
		}
	}
}

// object reads the object whose '{' is tok at level lv of the record path,
// yielding the records below it. found says the record array was met.
func (r *Reader) object(tok stdjson.Token, lv int, yield func(formats.Record, error) bool) (found, ok bool) {
	if d, isDelim := tok.(stdjson.Delim); !isDelim || d != '{' {
		return false, yield(formats.Record{}, r.errorAt(r.dec.InputOffset(), "%s is not an object, so it has no member %q", r.where(lv), r.steps[lv].name))
	}
	r.parents[lv] = nil
	for r.dec.More() {
		kt, err := r.token()
		if err != nil {
			return found, yield(formats.Record{}, r.syntax(err))
		}
		key, _ := kt.(string)
		switch {
		case key == r.steps[lv].name:
			found = true
			if !r.member(lv, yield) {
				return found, false
			}
		case r.want[lv][key]:
			var v any
			if err := r.decode(&v); err != nil {
				return found, yield(formats.Record{}, r.syntax(err))
			}
			if r.parents[lv] == nil {
				r.parents[lv] = map[string]any{}
			}
			r.parents[lv][key] = v
		default:
			if err := r.skip(0); err != nil {
				return found, yield(formats.Record{}, err)
			}
		}
	}
	if _, err := r.token(); err != nil { // }
		return found, yield(formats.Record{}, r.syntax(err))
	}
	return found, true
}

func (r *Reader) where(lv int) string {
	if lv == 0 {
		return "the document"
	}
	var parts []string
	for _, st := range r.steps[:lv] {
		parts = append(parts, st.name)
	}
	return strings.Join(parts, ".")
}

// member reads the value of the record path's step lv.
func (r *Reader) member(lv int, yield func(formats.Record, error) bool) bool {
	off := r.dec.InputOffset()
	tok, err := r.token()
	if err != nil {
		return yield(formats.Record{}, r.syntax(err))
	}
	last := lv == len(r.steps)-1
	d, isDelim := tok.(stdjson.Delim)
	switch {
	case last && (!isDelim || d != '['):
		if isDelim {
			off = r.dec.InputOffset() - 1
		}
		return yield(formats.Record{}, r.errorAt(off, "%s is not an array of records", r.pathText()))
	case last:
		return r.items(yield)
	case r.steps[lv].each && (!isDelim || d != '['):
		return yield(formats.Record{}, r.errorAt(off, "%s is not an array", r.steps[lv].name))
	case r.steps[lv].each:
		for r.dec.More() {
			t, err := r.token()
			if err != nil {
				return yield(formats.Record{}, r.syntax(err))
			}
			if _, ok := r.object(t, lv+1, yield); !ok {
				return false
			}
		}
		_, err := r.token() // ]
		return err == nil || yield(formats.Record{}, r.syntax(err))
	}
	_, ok := r.object(tok, lv+1, yield)
	return ok
}

// items yields the items of the array whose '[' was just read.
func (r *Reader) items(yield func(formats.Record, error) bool) bool {
	for r.dec.More() {
		off := r.dec.InputOffset()
		tok, err := r.token()
		if err != nil {
			return yield(formats.Record{}, r.syntax(err))
		}
		if !r.recordFrom(tok, off, yield) {
			return false
		}
	}
	if _, err := r.token(); err != nil {
		return yield(formats.Record{}, r.syntax(err))
	}
	return true
}

// recordFrom reads the record whose first token is tok, which started at
// off (before white space), and yields it.
func (r *Reader) recordFrom(tok stdjson.Token, off int64, yield func(formats.Record, error) bool) bool {
	d, isDelim := tok.(stdjson.Delim)
	if !isDelim || d != '{' {
		return yield(formats.Record{}, r.errorAt(r.dec.InputOffset(), "a record must be an object ({...}), not %s", describe(tok)))
	}
	line, col := r.lines.at(r.dec.InputOffset() - 1) // the {
	obj, err := r.rest(0)
	if err != nil {
		return yield(formats.Record{}, err)
	}
	pos := formats.Pos{File: r.file, Row: line, Col: col}
	fields := make([]string, len(r.fields))
	for i, f := range r.fields {
		var v any
		if f.up > 0 {
			v = r.parents[len(r.steps)-f.up][f.path[0]]
		} else {
			v = lookup(obj, f.path)
		}
		s, err := text(v)
		if err != nil {
			return yield(formats.Record{}, &formats.ParseError{Pos: pos, Err: err})
		}
		if int64(len(s)) > r.limits.ValueBytes {
			return yield(formats.Record{}, &formats.LimitError{Pos: pos, What: "a value", Limit: formats.Size(r.limits.ValueBytes), Setting: "limits.value_bytes"})
		}
		fields[i] = s
	}
	return yield(formats.Record{Pos: pos, Fields: fields}, nil)
}

func describe(tok stdjson.Token) string {
	switch t := tok.(type) {
	case stdjson.Delim:
		return "an array"
	case string:
		return fmt.Sprintf("the text %q", t)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// rest reads the rest of an object whose '{' was read, at nesting depth.
func (r *Reader) rest(depth int) (map[string]any, error) {
	if depth > r.limits.Depth {
		return nil, r.errorAt(r.dec.InputOffset(), "the record nests deeper than %d levels (limits.depth)", r.limits.Depth)
	}
	obj := map[string]any{}
	for r.dec.More() {
		kt, err := r.dec.Token()
		if err != nil {
			return nil, r.syntax(err)
		}
		key, _ := kt.(string)
		v, err := r.value(depth)
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
	if _, err := r.dec.Token(); err != nil {
		return nil, r.syntax(err)
	}
	return obj, nil
}

// value reads one value.
func (r *Reader) value(depth int) (any, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return nil, r.syntax(err)
	}
	d, isDelim := tok.(stdjson.Delim)
	switch {
	case !isDelim:
		return tok, nil
	case d == '{':
		return r.rest(depth + 1)
	}
	arr := []any{}
	for r.dec.More() {
		if depth+1 > r.limits.Depth {
			return nil, r.errorAt(r.dec.InputOffset(), "the record nests deeper than %d levels (limits.depth)", r.limits.Depth)
		}
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	if _, err := r.dec.Token(); err != nil {
		return nil, r.syntax(err)
	}
	return arr, nil
}

// token reads the next token; what the decoder reads for it is bounded
// by limits.record_bytes (lineReader), so a value of gigabytes is never
// held.
func (r *Reader) token() (stdjson.Token, error) {
	r.lines.mark = r.lines.read
	return r.dec.Token()
}

// decode reads one value whole, bounded as token is.
func (r *Reader) decode(v any) error {
	r.lines.mark = r.lines.read
	return r.dec.Decode(v)
}

// skip reads past one value without keeping it.
func (r *Reader) skip(depth int) error {
	level := 0
	for {
		tok, err := r.token()
		if err != nil {
			return r.syntax(err)
		}
		if d, ok := tok.(stdjson.Delim); ok {
			switch d {
			case '{', '[':
				level++
				if depth+level > r.limits.Depth {
					return r.errorAt(r.dec.InputOffset(), "the document nests deeper than %d levels (limits.depth)", r.limits.Depth)
				}
			default:
				level--
			}
		}
		if level == 0 {
			return nil
		}
	}
}

// lookup follows a field path into a record.
func lookup(v any, path []string) any {
	for _, p := range path {
		if idx, ok := strings.CutPrefix(p, "["); ok {
			arr, _ := v.([]any)
			i, _ := strconv.Atoi(idx)
			if i < 0 || i >= len(arr) {
				return nil
			}
			v = arr[i]
			continue
		}
		obj, _ := v.(map[string]any)
		if obj == nil {
			return nil
		}
		v = obj[p]
	}
	return v
}

// text is a value as a field's text.
func text(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case stdjson.Number:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	b, err := stdjson.Marshal(v)
	return string(b), err
}
