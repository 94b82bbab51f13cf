package fixedwidth

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/erpipe/erpipe/formats"
)

// RecordOptions say which records a Records reader returns.
type RecordOptions struct {
	Options
	// Record is the record type that makes a record (the detail line).
	Record string
	// Fields are the fields to return: "record.field", or a field name of
	// Record or of any one record type. A field of another record type
	// holds that type's last record: the file header's, the header of the
	// batch the detail is in.
	Fields []string
	// Attach are record types that belong to the record before them
	// (NACHA's addenda after its entry): a record is returned once the
	// records attached to it are read, and their fields are its own
	// (blank when it has none).
	Attach []string
}

// Records reads the records of one record type of a fixed-width file as
// formats.Records, with fields of the records around it (headers) beside
// their own. The file's control records are checked as they come.
type Records struct {
	r      *Reader
	header []string
	refs   []fieldRef
	rec    int
	last   [][]string // per record type, its last record's values
	lines  []int      // and line
	fields []string
	pos    []formats.Pos // where each field of the last record returned was read
	rowPos formats.Pos   // where the last record returned starts

	attach  []bool // per record type: attached to the record before it
	held    bool   // a record waits for the records attached to it
	heldPos formats.Pos
	heldF   []string      // its fields, the attached ones filled as they come
	heldP   []formats.Pos // and their places
	pending error         // an error read after the held record, returned next
}

type fieldRef struct{ record, field int }

// ResolveField finds a field reference for records of type record:
// "record.field", or a field name of record, or of exactly one record
// type.
func (l *Layout) ResolveField(record int, ref string) (ri, fi int, err error) {
	if strings.Contains(ref, ".") {
		if ri, fi, ok := l.FieldRef(ref); ok {
			return ri, fi, nil
		}
		return 0, 0, fmt.Errorf("%q is no field of the layout; write record.field with a record type and one of its fields", ref)
	}
	if fi, ok := l.fields[record][ref]; ok {
		return record, fi, nil
	}
	var in []string
	for r := range l.Records {
		if _, ok := l.fields[r][ref]; ok {
			ri, in = r, append(in, l.Records[r].Name)
		}
	}
	switch len(in) {
	case 0:
		return 0, 0, fmt.Errorf("no record type of the layout has a field %q", ref)
	case 1:
		return ri, l.fields[ri][ref], nil
	}
	return 0, 0, fmt.Errorf("field %q is in record types %s; write record.field", ref, strings.Join(in, " and "))
}

// NewRecords reads r, laid out as l (compiled).
func NewRecords(r io.Reader, l *Layout, opts RecordOptions) (*Records, error) {
	rec := l.RecordIndex(opts.Record)
	if rec < 0 && len(l.Records) == 1 && opts.Record == "" {
		rec = 0
	}
	if rec < 0 {
		return nil, fmt.Errorf("the layout has no record type %q", opts.Record)
	}
	rr := &Records{r: NewReader(r, l, opts.Options), rec: rec, header: slices.Clone(opts.Fields),
		last: make([][]string, len(l.Records)), lines: make([]int, len(l.Records))}
	for _, f := range opts.Fields {
		ri, fi, err := l.ResolveField(rec, f)
		if err != nil {
			return nil, err
		}
		rr.refs = append(rr.refs, fieldRef{ri, fi})
	}
	rr.attach = make([]bool, len(l.Records))
	for _, a := range opts.Attach {
		ai := l.RecordIndex(a)
		if ai < 0 || ai == rec {
			return nil, fmt.Errorf("attach: %q is not a record type of the layout other than %s", a, opts.Record)
		}
		rr.attach[ai] = true
	}
	return rr, nil
}

// Header returns the field references, as given.
func (rr *Records) Header() []string { return rr.header }

// Read returns the next record of the record type, or io.EOF.
func (rr *Records) Read() (formats.Record, error) {
	if slices.Contains(rr.attach, true) {
		return rr.readAttached()
	}
	for {
		ri, err := rr.r.Next()
		if err != nil {
			return formats.Record{}, err
		}
		rr.last[ri] = append(rr.last[ri][:0], rr.r.values...)
		rr.lines[ri] = rr.r.line
		if ri != rr.rec {
			continue
		}
		rr.fields, rr.pos = rr.snapshot()
		rr.rowPos = formats.Pos{File: rr.r.file, Row: rr.r.line}
		return formats.Record{Pos: rr.rowPos, Fields: rr.fields}, nil
	}
}

// snapshot is the fields of a record of the row's type just read, and
// their places: the others' from their last records (none for attached
// types: they come after).
func (rr *Records) snapshot() ([]string, []formats.Pos) {
	fields := make([]string, len(rr.refs))
	pos := make([]formats.Pos, len(rr.refs))
	for i, ref := range rr.refs {
		if v := rr.last[ref.record]; v != nil && !rr.attach[ref.record] {
			fields[i] = v[ref.field]
			pos[i] = rr.place(ref, rr.lines[ref.record])
		}
	}
	return fields, pos
}

func (rr *Records) place(ref fieldRef, line int) formats.Pos {
	return formats.Pos{File: rr.r.file, Row: line, Col: rr.r.l.Records[ref.record].Fields[ref.field].Start}
}

// readAttached reads with attached record types: a record of the row's
// type is held until a record that is not attached to it comes.
func (rr *Records) readAttached() (formats.Record, error) {
	for {
		if rr.pending != nil {
			err := rr.pending
			rr.pending = nil
			return formats.Record{}, err
		}
		ri, err := rr.r.Next()
		if err != nil {
			if rr.held {
				rr.held, rr.pending = false, err
				return rr.emit(), nil
			}
			return formats.Record{}, err
		}
		if rr.held && rr.attach[ri] {
			for i, ref := range rr.refs {
				if ref.record == ri {
					rr.heldF[i], rr.heldP[i] = rr.r.values[ref.field], rr.place(ref, rr.r.line)
				}
			}
			continue
		}
		var out formats.Record
		emit := rr.held
		if emit {
			out = rr.emit()
		}
		rr.last[ri] = append(rr.last[ri][:0], rr.r.values...)
		rr.lines[ri] = rr.r.line
		if ri == rr.rec {
			rr.held, rr.heldPos = true, formats.Pos{File: rr.r.file, Row: rr.r.line}
			rr.heldF, rr.heldP = rr.snapshot()
		}
		if emit {
			return out, nil
		}
	}
}

func (rr *Records) emit() formats.Record {
	rr.held = false
	rr.fields, rr.pos, rr.rowPos = rr.heldF, rr.heldP, rr.heldPos
	return formats.Record{Pos: rr.heldPos, Fields: rr.fields}
}

// FieldPos returns where field i of the last record was read.
func (rr *Records) FieldPos(i int) formats.Pos {
	if p := rr.pos[i]; p.Row > 0 {
		return p
	}
	return rr.rowPos // a field of a record type that has none here
}
