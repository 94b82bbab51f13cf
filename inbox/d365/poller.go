package d365

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/erpipe/erpipe/d365"
)

// A Poller moves the files of a recurring export job into an inbox folder.
type Poller struct {
	Client     *d365.Client
	ActivityID string
	Dir        string        // the inbox folder the files go into
	StateDir   string        // where the correlation ids of files taken are kept
	Every      time.Duration // how often an empty queue is asked again (default 1m)
	Log        *slog.Logger
}

// Run takes files off the queue until ctx ends. A queue that cannot be
// read (D365 down, a token refused) is tried again at the next round;
// it is logged once per change of what went wrong.
func (p *Poller) Run(ctx context.Context) error {
	log := cmp.Or(p.Log, slog.New(slog.DiscardHandler))
	var last string
	for {
		n, err := p.Drain(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && err.Error() != last:
			log.Warn("d365: the recurring export job's queue could not be read; trying again", "activity", p.ActivityID, "in", p.every(), "err", err)
			last = err.Error()
		case err == nil && last != "":
			log.Info("d365: the recurring export job's queue is read again", "activity", p.ActivityID)
			last = ""
		}
		if n > 0 {
			log.Info("d365: files taken from the recurring export job", "activity", p.ActivityID, "files", n, "inbox", p.Dir)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.every()):
		}
	}
}

func (p *Poller) every() time.Duration { return cmp.Or(p.Every, time.Minute) }

// Drain takes every file waiting on the queue and returns how many it put
// into the inbox.
func (p *Poller) Drain(ctx context.Context) (int, error) {
	n := 0
	for {
		m, err := p.Client.Dequeue(ctx, p.ActivityID)
		if err != nil || m == nil {
			return n, err
		}
		took, err := p.take(ctx, m)
		if err != nil {
			return n, err
		}
		if took {
			n++
		}
	}
}

// take puts message m's file into the inbox, unless it was taken before,
// and acknowledges it. It reports whether the file is new.
func (p *Poller) take(ctx context.Context, m *d365.Message) (bool, error) {
	id := strings.ToLower(strings.Trim(m.CorrelationID, "{}"))
	if strings.ContainsAny(id, `/\.`) || id == "" {
		return false, fmt.Errorf("dequeue answered the correlation id %q, which is not a GUID", m.CorrelationID)
	}
	mark := filepath.Join(p.StateDir, id)
	_, err := os.Stat(mark)
	isNew := os.IsNotExist(err)
	if isNew {
		if err := p.fetch(ctx, m, id); err != nil {
			return false, err
		}
		if err := os.MkdirAll(p.StateDir, 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(mark, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return false, err
		}
	}
	// Only now, with the file in the inbox: a crash before this point
	// leaves the message to come back after the visibility timeout.
	if err := p.Client.Ack(ctx, p.ActivityID, m); err != nil {
		return isNew, fmt.Errorf("ack message %s (its file is in the inbox): %w", m.CorrelationID, err)
	}
	return isNew, nil
}

// fetch downloads m's file into the inbox under a name made of the job
// and the correlation id, its extension from its first bytes.
func (p *Poller) fetch(ctx context.Context, m *d365.Message, id string) error {
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(p.Dir, "d365-"+id+".part")
	// Downloaded to tmp (.part, which no inbox takes), then named by kind.
	if err := download(ctx, p.Client, m.DownloadLocation, tmp); err != nil {
		return fmt.Errorf("download message %s: %w", m.CorrelationID, err)
	}
	ext, err := sniff(tmp)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, filepath.Join(p.Dir, "d365-"+id+ext))
}

// sniff names a file's kind by its first bytes: a zip (a data package),
// XML, or else CSV (a File job's file in its project's format).
func sniff(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head, _ := bufio.NewReader(f).Peek(512)
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return ".zip", nil
	case bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n"), []byte("<")),
		bytes.HasPrefix(head, []byte("\xff\xfe<\x00")), bytes.HasPrefix(head, []byte("\xfe\xff\x00<")):
		return ".xml", nil
	}
	return ".csv", nil
}
