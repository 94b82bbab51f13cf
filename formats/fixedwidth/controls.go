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
}

type ctrlRef struct {
	record, field int
	scope         int   // record type that resets it, or -1
	counts        []int // record types counted
	sumRec        int   // the summed field's record type, or -1
	sumField      int
}

func newTally(l *Layout) *tally {
	t := &tally{l: l}
	for ri := range l.Records {
		for fi := range l.Records[ri].Fields {
			c := l.Records[ri].Fields[fi].Control
			if c == nil {
				continue
			}
			ref := ctrlRef{record: ri, field: fi, scope: -1, sumRec: -1}
			if c.Scope != "" {
				ref.scope = l.RecordIndex(c.Scope)
			}
			for _, n := range c.Count {
				ref.counts = append(ref.counts, l.RecordIndex(n))
			}
			if s := c.Sum + c.Hash; s != "" {
				ref.sumRec, ref.sumField, _ = l.FieldRef(s)
			}
			t.refs = append(t.refs, ref)
		}
	}
	t.count = make([]int64, len(t.refs))
	t.sum = make([]decimal.Decimal, len(t.refs))
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
		switch {
		case len(c.Count) > 0:
			return decimal.NewFromInt(t.count[i])
		case c.Sum != "":
			return t.sum[i]
		case c.Hash != "":
			// Keep the rightmost digits the field holds.
			mod := decimal.New(1, int32(f.Length-f.Decimals))
			return t.sum[i].Mod(mod)
		case c.Blocks:
			return decimal.NewFromInt((t.lines + int64(t.l.BlockLines) - 1) / int64(t.l.BlockLines))
		}
	}
	return decimal.Zero
}

// add counts record ri, whose numeric field values are nums (nil for a
// blank or a text field), after its controls were filled or checked.
func (t *tally) add(ri int, nums []*decimal.Decimal) {
	for i := range t.refs {
		ref := &t.refs[i]
		if ref.scope == ri {
			t.count[i], t.sum[i] = 0, decimal.Zero
		}
		for _, c := range ref.counts {
			if c == ri {
				t.count[i]++
			}
		}
		if ref.sumRec == ri && nums[ref.sumField] != nil {
			t.sum[i] = t.sum[i].Add(*nums[ref.sumField])
		}
	}
}
