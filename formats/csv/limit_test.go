package csv_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/internal/memtest"
)

// readAll reads every record of src with limit max, returning the rows
// read and the error that ended the reading (nil at the end).
func readAll(t *testing.T, src io.Reader, max int64) (int, error) {
	t.Helper()
	r, err := csv.NewReader(src, csv.Options{File: "in.csv", MaxRecordBytes: max})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			return n, nil
		}
		var pe *formats.ParseError
		if errors.As(err, &pe) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// TestRecordLimit: a row longer than the limit ends the reading with a
// *formats.LimitError at the row it starts on, whether it is one long
// line or a quoted value over many lines; rows within the limit, quoted
// line breaks included, read as before.
func TestRecordLimit(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, c := range []struct {
		name, in string
		row      int // of the LimitError; 0 for none
		rows     int
	}{
		{"short rows", "a,b\n1,2\n\"3\n3\",4\n", 0, 2},
		{"one long line", "a,b\n1,2\n3," + long + "\n5,6\n", 3, 0},
		{"a long quoted value", "a,b\n1,2\n3,\"" + strings.Repeat("y\n", 3000) + "\"\n", 3, 0},
		{"long rows in many buffers", "a,b\n" + strings.Repeat("1,"+strings.Repeat("z", 900)+"\n", 500), 0, 500},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := readAll(t, strings.NewReader(c.in), 4096)
			var le *formats.LimitError
			switch {
			case c.row == 0 && (err != nil || n != c.rows):
				t.Fatalf("read %d rows, %v; want %d", n, err, c.rows)
			case c.row > 0 && (!errors.As(err, &le) || le.Pos.Row != c.row):
				t.Fatalf("read %d rows, %v; want the limit at row %d", n, err, c.row)
			}
		})
	}
}

// endless is an io.Reader of a header, then one line that never ends.
type endless struct{ header bool }

func (e *endless) Read(p []byte) (int, error) {
	if !e.header {
		e.header = true
		return copy(p, "a,b\n1,"), nil
	}
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestRecordLimitMemory: an endless line is refused at the default limit
// with memory to match, not after taking gigabytes.
func TestRecordLimitMemory(t *testing.T) {
	var err error
	memtest.Ceiling(t, 200<<20, func() { _, err = readAll(t, &endless{}, 0) })
	var le *formats.LimitError
	if !errors.As(err, &le) || le.Limit != "16 MiB" {
		t.Fatalf("an endless line: %v", err)
	}
}

// TestValueLimit: a value longer than the limit rejects its row (a
// *formats.ParseError at the value) and the reading goes on.
func TestValueLimit(t *testing.T) {
	in := "a,b\n1,2\n3," + strings.Repeat("v", 300) + "\n5,6\n"
	r, err := csv.NewReader(strings.NewReader(in), csv.Options{File: "in.csv", MaxValueBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	var rows []int
	var bad *formats.ParseError
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if errors.As(err, &bad) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rec.Pos.Row)
	}
	if len(rows) != 2 || bad == nil || bad.Pos.Row != 3 || bad.Pos.Col != 2 || !strings.Contains(bad.Error(), "limits.value_bytes") {
		t.Fatalf("rows %v, error %v", rows, bad)
	}
}
