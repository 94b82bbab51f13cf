package transform

import (
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
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
// A CSV input of a template with a flat output (a CSV file, a workbook, a
// DMF package's data files) and no group checks is read on the workers
// too: the reading goroutine only cuts the file into chunks of whole
// records (csv.Splitter, which follows the quotes), and a worker reads the
// records of a chunk and evaluates them at once, with the chunk's own
// csv.Reader, which gives the records, positions and errors one Reader
// would give. Where the quoting is not what the splitter follows, the rest
// of the file is read on the reading goroutine, in batches of records, as
// any other input.
//
// What a record that could not be read means for the run (a row error, or
// the end of the run after too many in a row) is decided by the caller's
// goroutine, in input order (readFailure), whichever goroutine read it.
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

// splitCSV says whether CSV inputs are read in chunks on the workers
// (see above); chunkSize, when set, is the chunk size and the longest
// record they hold (the tests cut small files at every record).
var (
	splitCSV  = true
	chunkSize int
)

// batchItem is one record of a batch and, once evaluated, its outcome.
type batchItem struct {
	rec     formats.Record
	oneLine bool          // the record is on one line (formats.OneLiner): pos is not kept
	pos     []formats.Pos // positions of the template's input fields (by field), in batch.poss
	readErr error         // the record could not be read (readFailure says what that means)
	kind    rowKind
	errs    []*template.FieldError
	warns   []*template.FieldError
	values  [][]string // in batch.tabs
	co      checkOut   // what the row gives the group checks
}

// batch is a run of consecutive records.
type batch struct {
	items   []batchItem
	fields  []string      // the records' fields
	poss    []formats.Pos // the items' pos
	tabs    [][]string    // the items' values
	cells   []string      // the tabs' cells
	fatal   error         // the run ends after these items
	done    chan struct{} // closed when the items are evaluated
	chunk   *csv.Chunk    // with chunked: the records to read (the items are filled by the worker)
	chunked bool
}

// splitter returns a csv.Splitter of src's input when the run reads it in
// chunks (see above), else nil.
func (t *Template) splitter(src *source) *csv.Splitter {
	cr, ok := src.r.(*csv.Reader)
	if !ok || !splitCSV || src.checks != nil {
		return nil
	}
	switch t.output.kind {
	case "csv", "xlsx", "dmf":
	default:
		return nil
	}
	sp, ok := cr.Split()
	if !ok {
		return nil
	}
	if chunkSize > 0 {
		sp.SetChunkSize(chunkSize, chunkSize)
	}
	return sp
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

	sp := t.splitter(src)
	wg.Add(1)
	go func() { // the reader
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		newBatch := func() *batch {
			var b *batch
			select {
			case b = <-free:
			default:
				b = &batch{}
			}
			b.items, b.fields, b.poss, b.fatal, b.chunked = b.items[:0], b.fields[:0], b.poss[:0], nil, false
			b.done = make(chan struct{})
			return b
		}
		send := func(b *batch) bool {
			select {
			case ordered <- b:
			case <-quit:
				return false
			}
			select {
			case work <- b:
			case <-quit:
				return false
			}
			return b.fatal == nil
		}
		rd := src.r
		if sp != nil {
			for {
				b := newBatch()
				if err := ctx.Err(); err != nil {
					b.fatal = err
					send(b)
					return
				}
				if b.chunk == nil {
					b.chunk = new(csv.Chunk)
				}
				if err := sp.Next(b.chunk); err == io.EOF {
					return
				}
				if b.chunk.Tail() {
					rd = b.chunk.Reader() // the rest, read here (see above)
					b.chunk = nil         // rd's
					break
				}
				b.chunked = true
				if !send(b) {
					return
				}
			}
		}
		t.readBatches(ctx, src, rd, newBatch, send)
	}()

	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			re := t.newRowEval(src)
			var cur *batchItem
			atItem := func(j int) formats.Pos {
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
			re.fieldPos = atItem
			for b := range work {
				if b.chunked {
					re.readChunk(b)
					re.fieldPos = atItem
					close(b.done)
					continue
				}
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
					re.eval1(it, values)
				}
				close(b.done)
			}
		}()
	}

	badReads := 0
	var lastBad formats.Pos
	for b := range ordered {
		<-b.done
		if b.chunked {
			if err := ctx.Err(); err != nil { // the reading goroutine may be done already
				return err
			}
		}
		for i := range b.items {
			it := &b.items[i]
			var err error
			if it.readErr != nil {
				fe, fatal := t.readFailure(src, it.readErr, &badReads, &lastBad)
				if fatal != nil {
					return fatal
				}
				res.Read++
				err = res.apply(emit, rowRejected, fe.Pos, []*template.FieldError{fe}, nil, nil)
			} else {
				badReads = 0
				res.Read++
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

// readBatches reads the records of rd into batches, which it sends until
// send says to stop or the input ends. A record that could not be read is
// an item of its own, for the caller's goroutine to judge (readFailure);
// the reading stops after one that ends the run.
func (t *Template) readBatches(ctx context.Context, src *source, rd formats.Reader, newBatch func() *batch, send func(*batch) bool) {
	fields := t.input.fields
	oneLiner, _ := rd.(formats.OneLiner)
	badReads := 0 // as the caller's goroutine counts them, from here on: when it says stop, so did the caller
	var lastBad formats.Pos
	for n, eof := 0, false; !eof; {
		b := newBatch()
		for len(b.items) < batchRows && b.fatal == nil {
			if n%256 == 0 {
				if err := ctx.Err(); err != nil {
					b.fatal = err
					break
				}
			}
			n++
			rec, err := rd.Read()
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				b.items = append(b.items, batchItem{readErr: err})
				if _, fatal := t.readFailure(src, err, &badReads, &lastBad); fatal != nil {
					b.fatal = fatal // the caller's goroutine has stopped at the item already
				}
				continue
			}
			badReads = 0
			b.fields = append(b.fields, rec.Fields...) // rec.Fields points there below
			oneLine := oneLiner != nil && oneLiner.OneLine()
			if !oneLine {
				for i := range fields {
					var p formats.Pos
					if j := src.idx[i]; j >= 0 {
						p = rd.FieldPos(j)
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
		if !send(b) {
			return
		}
	}
}

// eval1 evaluates the record of it into values (of the shape newValues
// gives) and keeps the outcome in it.
func (re *rowEval) eval1(it *batchItem, values [][]string) {
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

// readChunk reads the records of b's chunk into b's items and evaluates
// them, each as it is read, with the positions of the chunk's Reader.
// The reading stops after an error that ends any run (anything but a
// record that could not be read).
func (re *rowEval) readChunk(b *batch) {
	rd := b.chunk.Reader()
	re.fieldPos = rd.FieldPos
	nt, ncols := len(re.tables), 0
	for _, tb := range re.tables {
		ncols += len(tb.columns)
	}
	b.items, b.cells, b.tabs = b.items[:0], b.cells[:0], b.tabs[:0]
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			return
		}
		if len(b.items) < cap(b.items) {
			b.items = b.items[:len(b.items)+1]
		} else {
			b.items = append(b.items, batchItem{})
		}
		it := &b.items[len(b.items)-1]
		it.rec, it.oneLine, it.pos, it.readErr = formats.Record{Pos: rec.Pos}, false, nil, nil
		it.errs, it.warns, it.values = nil, nil, nil
		it.co.reset()
		if err != nil {
			it.readErr = err
			var pe *formats.ParseError
			if !errors.As(err, &pe) {
				return
			}
			continue
		}
		cells := len(b.cells)
		b.cells = slices.Grow(b.cells, ncols)[:cells+ncols]
		clear(b.cells[cells:])
		tabs := len(b.tabs)
		b.tabs = slices.Grow(b.tabs, nt)[:tabs+nt]
		values := b.tabs[tabs:]
		for ti, tb := range re.tables {
			values[ti] = b.cells[cells : cells+len(tb.columns)]
			cells += len(tb.columns)
		}
		it.rec.Fields = rec.Fields
		re.eval1(it, values)
		it.rec.Fields = nil // the chunk's Reader reuses them
	}
}
