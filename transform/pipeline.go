package transform

import (
	"context"
	"io"
	"runtime"
	"sync"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/transform/template"
)

// The parallel run: one goroutine reads records into batches, workers
// evaluate the batches (each with its own rowEval), and the caller's
// goroutine applies the rows to the Result and emits them, in input order.
// Reading (parsing CSV or XML), evaluating and writing (encoding,
// compressing) then overlap on the CPUs. Group checks too: a worker
// computes a row's groups and the values their aggregates fold (first
// pass) or looks its groups up (second), and the caller's goroutine folds
// them, or reports a group's warning once, as it applies the row
// (checkRun.apply). Memory stays flat: at most
// batchesInFlight batches of batchRows records exist at a time, and they
// are reused.
//
// Everything a row's errors name is taken while the record is read: the
// positions of its fields are copied into the batch, since the reader has
// moved on when a worker looks at the row. A record on one line (nearly
// all, formats.OneLiner) needs no copy: its fields' positions follow from
// the record's.

const (
	batchRows = 256 // records per batch
)

// pipelineWorkers is how many goroutines evaluate rows in a parallel
// run; 0 means a parallel run does not pay (a single CPU).
func pipelineWorkers() int {
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		return 0
	}
	return min(n, 8)
}

// batchItem is one record of a batch and, once evaluated, its outcome.
type batchItem struct {
	rec     formats.Record
	oneLine bool                 // the record is on one line (formats.OneLiner): pos is not kept
	pos     []formats.Pos        // positions of the template's input fields (by field), in batch.poss
	readErr *template.FieldError // the record could not be read
	kind    rowKind
	errs    []*template.FieldError
	warns   []*template.FieldError
	values  [][]string // in batch.tabs
	co      checkOut   // what the row gives the group checks
}

// batch is a run of consecutive records.
type batch struct {
	items  []batchItem
	fields []string      // the records' fields
	poss   []formats.Pos // the items' pos
	tabs   [][]string    // the items' values
	cells  []string      // the tabs' cells
	fatal  error         // the run ends after these items
	done   chan struct{} // closed when the items are evaluated
}

// processParallel is process over a pipeline of goroutines (see above).
func (t *Template) processParallel(ctx context.Context, src *source, res *Result, emit emitFunc, workers int) error {
	inFlight := 2*workers + 2
	ordered := make(chan *batch, inFlight) // in input order, to the caller
	work := make(chan *batch, inFlight)    // to the workers
	free := make(chan *batch, inFlight+1)  // batches to reuse
	quit := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(quit)
		for range ordered { // let the reader see quit
		}
		wg.Wait()
	}()

	fields := t.input.fields
	oneLiner, _ := src.r.(formats.OneLiner)
	wg.Add(1)
	go func() { // the reader
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		badReads := 0
		var lastBad formats.Pos
		for n, eof := 0, false; !eof; {
			var b *batch
			select {
			case b = <-free:
			default:
				b = &batch{}
			}
			b.items, b.fields, b.poss, b.fatal = b.items[:0], b.fields[:0], b.poss[:0], nil
			b.done = make(chan struct{})
			for len(b.items) < batchRows && b.fatal == nil {
				if n%256 == 0 {
					if err := ctx.Err(); err != nil {
						b.fatal = err
						break
					}
				}
				n++
				rec, err := src.r.Read()
				if err == io.EOF {
					eof = true
					break
				}
				if err != nil {
					fe, fatal := t.readFailure(src, err, &badReads, &lastBad)
					if fatal != nil {
						b.fatal = fatal
						break
					}
					b.items = append(b.items, batchItem{readErr: fe})
					continue
				}
				badReads = 0
				b.fields = append(b.fields, rec.Fields...) // rec.Fields points there below
				oneLine := oneLiner != nil && oneLiner.OneLine()
				if !oneLine {
					for i := range fields {
						var p formats.Pos
						if j := src.idx[i]; j >= 0 {
							p = src.r.FieldPos(j)
						}
						b.poss = append(b.poss, p)
					}
				}
				b.items = append(b.items, batchItem{rec: rec, oneLine: oneLine})
			}
			// The slices may have moved while growing: point the items
			// at their final place.
			for i, k, nf := 0, 0, len(fields); i < len(b.items); i++ {
				if it := &b.items[i]; it.readErr == nil && !it.oneLine {
					it.pos = b.poss[k*nf : (k+1)*nf : (k+1)*nf]
					k++
				}
			}
			for i, off := 0, 0; i < len(b.items); i++ {
				if it := &b.items[i]; it.readErr == nil {
					nf := len(it.rec.Fields)
					it.rec.Fields = b.fields[off : off+nf : off+nf]
					off += nf
				}
			}
			select {
			case ordered <- b:
			case <-quit:
				return
			}
			select {
			case work <- b:
			case <-quit:
				return
			}
			if b.fatal != nil {
				return
			}
		}
	}()

	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			re := t.newRowEval(src)
			var cur *batchItem
			re.fieldPos = func(j int) formats.Pos {
				if cur.oneLine && j >= 0 {
					p := cur.rec.Pos
					p.Col = j + 1
					return p
				}
				for i, c := range src.idx {
					if c == j {
						return cur.pos[i]
					}
				}
				return cur.rec.Pos
			}
			for b := range work {
				ncols := 0
				for _, tb := range re.tables {
					ncols += len(tb.columns)
				}
				if need := len(b.items) * ncols; cap(b.cells) < need {
					b.cells = make([]string, need)
				}
				b.cells = b.cells[:len(b.items)*ncols]
				if need := len(b.items) * len(re.tables); cap(b.tabs) < need {
					b.tabs = make([][]string, need)
				}
				b.tabs = b.tabs[:len(b.items)*len(re.tables)]
				for i := range b.items {
					it := &b.items[i]
					it.errs, it.warns, it.values = nil, nil, nil
					it.co.reset()
					if it.readErr != nil {
						continue
					}
					cur = it
					values := b.tabs[i*len(re.tables) : (i+1)*len(re.tables)]
					off := i * ncols
					for ti, tb := range re.tables {
						values[ti] = b.cells[off : off+len(tb.columns)]
						off += len(tb.columns)
					}
					it.kind = re.row(it.rec, values)
					if len(re.errs) > 0 {
						it.errs = append([]*template.FieldError(nil), re.errs...)
					}
					if len(re.warns) > 0 {
						it.warns = append([]*template.FieldError(nil), re.warns...)
					}
					if it.kind == rowWritten {
						it.values = values
					}
					it.co, re.co = re.co, it.co // the item's buffers for the next row
				}
				close(b.done)
			}
		}()
	}

	for b := range ordered {
		<-b.done
		for i := range b.items {
			it := &b.items[i]
			res.Read++
			var err error
			if it.readErr != nil {
				err = res.apply(emit, rowRejected, it.readErr.Pos, []*template.FieldError{it.readErr}, nil, nil)
			} else {
				err = res.apply(emit, it.kind, it.rec.Pos, it.errs, it.warns, it.values)
				if err == nil && src.checks != nil {
					src.checks.apply(&it.co, res)
				}
			}
			if err != nil {
				return err
			}
		}
		if b.fatal != nil {
			return b.fatal
		}
		select {
		case free <- b:
		default:
		}
	}
	return nil
}
