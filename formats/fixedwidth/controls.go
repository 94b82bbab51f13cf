package fixedwidth

import (
	"github.com/shopspring/decimal"
)

// tally keeps the running counts and sums of a file's control fields,
// for the Writer to fill them and the Reader to check them.
type tally struct {
	l     *Layout
	refs  []ctrlRef
	count []int64
	sum   []decimal.Decimal
	lines int64 // records so far, the current one included
	// broken marks the controls whose scope holds a record that could
	// not be read: they can't be checked (the record is reported).
	broken []bool
}

type ctrlRef struct {
	record, field int
	scope         int   // record type that resets it, or -1
	countTypes    []int // record types counted
	sumRec        int   // the summed field's record type, or -1
	sumField      int
	whereRec      int // the record type of the condition's field, or -1
	whereField    int
	in            map[string]bool
}

func newTally(l *Layout) *tally {
	t := &tally{l: l}
	for ri := range l.Records {
		for fi := range l.Records[ri].Fields {
			c := l.Records[ri].Fields[fi].Control
			if c == nil {
				continue
			}
			ref := ctrlRef{record: ri, field: fi, scope: -1, sumRec: -1, whereRec: -1}
			if c.Where != "" {
				ref.whereRec, ref.whereField, _ = l.FieldRef(c.Where)
				ref.in = map[string]bool{}
				for _, v := range c.In {
					ref.in[v] = true
				}
			}
			if c.Scope != "" {
				ref.scope = l.RecordIndex(c.Scope)
			}
			for _, n := range c.Count {
				ref.countTypes = append(ref.countTypes, l.RecordIndex(n))
			}
			if s := c.Sum + c.Hash; s != "" {
				ref.sumRec, ref.sumField, _ = l.FieldRef(s)
			}
			t.refs = append(t.refs, ref)
		}
	}
	t.count = make([]int64, len(t.refs))
	t.sum = make([]decimal.Decimal, len(t.refs))
	t.broken = make([]bool, len(t.refs))
	return t
}

// expected returns what control field fi of record type ri must hold
// now, before the record itself is added.
func (t *tally) expected(ri, fi int) decimal.Decimal {
	for i, ref := range t.refs {
		if ref.record != ri || ref.field != fi {
			continue
		}
		f := &t.l.Records[ri].Fields[fi]
		c := f.Control
		n, sum := t.count[i], t.sum[i]
		if ref.scope == ri {
			n, sum = 0, decimal.Zero // the record starts its own scope
		}
		switch {
		case len(c.Count) > 0:
			if ref.counts(ri) && ref.whereRec < 0 {
				n++ // the record itself: a batch number
			}
			return decimal.NewFromInt(n)
		case c.Sum != "":
			return sum
		case c.Hash != "":
			// Keep the rightmost digits the field holds.
			mod := decimal.New(1, int32(f.Length-f.Decimals))
			return sum.Mod(mod)
		case c.Blocks:
			return decimal.NewFromInt((t.lines + int64(t.l.BlockLines) - 1) / int64(t.l.BlockLines))
		}
	}
	return decimal.Zero
}

func (ref *ctrlRef) counts(ri int) bool {
	for _, c := range ref.countTypes {
		if c == ri {
			return true
		}
	}
	return false
}

// add counts record ri, whose values (as read) are values and whose
// numeric field values are nums (nil for a blank or a text field), after
// its controls were filled or checked.
func (t *tally) add(ri int, values []string, nums []*decimal.Decimal) {
	for i := range t.refs {
		ref := &t.refs[i]
		if ref.scope == ri {
			t.count[i], t.sum[i], t.broken[i] = 0, decimal.Zero, false
		}
		if ref.whereRec >= 0 && (ref.whereRec != ri || !ref.in[values[ref.whereField]]) {
			continue
		}
		if ref.counts(ri) {
			t.count[i]++
		}
		if ref.sumRec == ri && nums[ref.sumField] != nil {
			t.sum[i] = t.sum[i].Add(*nums[ref.sumField])
		}
	}
}

// unreadable notes a record that could not be read: the controls it
// might count are not checked until their scope starts again.
func (t *tally) unreadable() {
	for i := range t.broken {
		t.broken[i] = true
	}
}

// checkable says whether control field fi of record type ri can be
// checked.
func (t *tally) checkable(ri, fi int) bool {
	for i, ref := range t.refs {
		if ref.record == ri && ref.field == fi {
			return !t.broken[i] || ref.scope == ri
		}
	}
	return true
}
