package layout

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestChunkPipe: what is written is read in order; the writer runs ahead
// of the reader by pipeChunks writes, and no further.
func TestChunkPipe(t *testing.T) {
	p := newChunkPipe()
	var want bytes.Buffer
	for i := range pipeChunks {
		b := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
		want.Write(b)
		if _, err := p.Write(b); err != nil { // the reader has not started: these must not wait
			t.Fatal(err)
		}
	}
	blocked := make(chan struct{})
	go func() {
		p.Write([]byte("last")) // waits for the reader
		close(blocked)
	}()
	select {
	case <-blocked:
		t.Fatal("the writer ran ahead by more than pipeChunks writes")
	case <-time.After(50 * time.Millisecond):
	}
	want.WriteString("last")
	got := make([]byte, 0, want.Len())
	buf := make([]byte, 333)
	for len(got) < want.Len() {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	<-blocked
	p.close(nil)
	if n, err := p.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("after the end: %d, %v", n, err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Error("the bytes read differ from those written")
	}
}

// TestChunkPipeReaderStops: once the reader stops (a validation that
// ended at a fatal error), writes go on without waiting; a writer that
// ends early gives the reader its error.
func TestChunkPipeReaderStops(t *testing.T) {
	p := newChunkPipe()
	p.stop()
	done := make(chan struct{})
	go func() {
		for range 10 * pipeChunks {
			p.Write([]byte(strings.Repeat("x", 100)))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the writer waits for a reader that stopped")
	}

	p = newChunkPipe()
	p.Write([]byte("<Doc>"))
	p.close(errors.New("the document was not written to its end"))
	b, err := io.ReadAll(p)
	if string(b) != "<Doc>" || err == nil || !strings.Contains(err.Error(), "not written to its end") {
		t.Errorf("got %q, %v", b, err)
	}
}
