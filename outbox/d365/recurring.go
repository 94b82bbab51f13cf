package d365

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/erpipe/erpipe/d365"
)

// putRecurring enqueues pkg to the recurring data job with external
// identifier id, at most once (see the package comment), and follows the
// message until D365 has processed it.
func (d *Destination) putRecurring(ctx context.Context, job, id, name string, pkg []byte) (string, error) {
	at, msg, asked := d.enqueued(id)
	switch {
	case !asked:
		at = time.Now().UTC()
		if err := writeState(d.enqueuePath(id), at.Format(time.RFC3339)+"\n"); err != nil {
			return "", fmt.Errorf("d365: recording the enqueue of %s in %s: %w", name, d.o.StateDir, err)
		}
		var err error
		msg, err = d.o.Client.Enqueue(ctx, d.o.ActivityID, d.o.Entity, d.o.Company, id,
			func() (io.Reader, error) { return bytes.NewReader(pkg), nil }, int64(len(pkg)))
		if err == nil {
			// Recorded at once: a crash before this line is the one moment
			// that leaves an enqueued message erpipe does not know.
			err = writeState(d.enqueuePath(id), at.Format(time.RFC3339)+"\n"+msg+"\n")
			if err != nil {
				return "", fmt.Errorf("d365: %s was enqueued to recurring data job %s as message %s, but erpipe could not record that in %s (%v); "+
					"D365 has it: follow the message in the job's Manage messages page, and do not retry the job, which would enqueue it again", name, d.o.ActivityID, msg, d.o.StateDir, err)
			}
			break
		}
		if errors.Is(err, d365.ErrMaybeEnqueued) {
			return "", d.unknownMessage(job, id, name, at, err)
		}
		// Refused: nothing was enqueued, and a retry may ask again.
		os.Remove(d.enqueuePath(id))
		return "", fmt.Errorf("enqueue %s to recurring data job %s: %w", name, d.o.ActivityID, err)
	case msg == "":
		return "", d.unknownMessage(job, id, name, at, nil)
	}
	loc := d.o.Client.Environment() + "/messages/" + msg

	var st *d365.JobStatus
	err := d.await(ctx, func(bool) (bool, string, error) {
		s, err := d.o.Client.JobStatus(ctx, d.o.ActivityID, msg)
		switch {
		case errors.Is(err, d365.ErrNotFound) && time.Since(at) <= d.o.NotFoundGrace:
			s = &d365.JobStatus{State: d365.JobEnqueued} // not there yet, just after the enqueue
		case errors.Is(err, d365.ErrNotFound):
			return false, "", fmt.Errorf("d365: %s was enqueued at %s as message %s (external identifier %s) and recurring data job %s does not know it; "+
				"look for it in the job's Manage messages page in D365; if it is not there, %s", name, at.Format(time.RFC3339), msg, id, d.o.ActivityID, retryHint(job))
		case err != nil:
			return false, "", err
		}
		st = s
		return st.State.Final(), fmt.Sprintf("D365 is processing message %s of %s (%s)", msg, name, st.State), nil
	})
	if err != nil {
		return "", err
	}
	return d.outcome(ctx, name, d.messageEnding(msg, loc, name, pkg, st))
}

// messageEnding is the ending of a processed message: its counts per
// entity, its execution's errors and error files.
func (d *Destination) messageEnding(msg, loc, name string, pkg []byte, st *d365.JobStatus) ending {
	e := ending{
		ok: st.State == d365.JobProcessed, partial: st.State == d365.JobProcessedWithErrors, loc: loc,
		what:   fmt.Sprintf("D365 message %s of %s in recurring data job %s: %s", msg, name, d.o.ActivityID, st.State),
		execID: st.ExecutionIdentifier,
		log:    st.ExecutionLog,
		where:  "the message in the job's Manage messages page",
	}
	if e.execID == "" {
		e.execID = msg // RIS asks GetExecutionErrors with the message ID
	}
	e.entities, e.detail = entityCounts(st.Entities)
	if len(e.entities) == 0 {
		if d.o.Entity != "" {
			e.entities = []string{d.o.Entity}
		} else {
			e.entities = packageEntities(pkg, name)
		}
	}
	return e
}

// unknownMessage is the error of an enqueue that was asked for and whose
// message ID erpipe does not know: it may be in D365, and the recurring
// API cannot be asked for it by its external identifier, so only a person
// can tell whether to enqueue again. cause, when set, is why no message ID
// came back.
func (d *Destination) unknownMessage(job, id, name string, at time.Time, cause error) error {
	why := "erpipe stopped before it learned the message ID"
	if cause != nil {
		why = "no message ID came back: " + cause.Error()
	}
	return fmt.Errorf("d365: %s was sent to recurring data job %s at %s with external identifier %s, and %s; "+
		"erpipe does not send it again, since D365 cannot be asked whether it was enqueued and a second enqueue would import it twice. "+
		"In D365, open Data management > Manage scheduled data jobs (recurring data jobs), select the job and open Manage messages: "+
		"if a message with external identifier %s is there, the file was enqueued, and its outcome is there; "+
		"if there is none, nothing was enqueued: %s",
		name, d.o.ActivityID, at.Format(time.RFC3339), id, why, id, retryHint(job))
}

// retryHint says how to send a job's file again: as a new job, whose
// external identifier is new.
func retryHint(job string) string {
	if job == "" {
		return "send the file again"
	}
	return "run erpipe retry " + job + ", which enqueues it again as a new job"
}

// enqueuePath is the state file of the enqueue with external identifier id:
// when it was asked for, then the message ID D365 answered.
func (d *Destination) enqueuePath(id string) string {
	return filepath.Join(d.o.StateDir, id+".enqueue")
}

// enqueued reads the state of the enqueue with external identifier id:
// whether it was asked for, when, and its message ID once known.
func (d *Destination) enqueued(id string) (at time.Time, msg string, asked bool) {
	b, err := os.ReadFile(d.enqueuePath(id))
	if err != nil {
		return time.Time{}, "", false
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	at, _ = time.Parse(time.RFC3339, strings.TrimSpace(lines[0]))
	if len(lines) > 1 {
		msg = strings.TrimSpace(lines[1])
	}
	return at, msg, true
}

// entityCounts are the names of an execution's entities and, for those
// with errors, their staging and target counts in words.
func entityCounts(ens []d365.EntityDetail) (names, detail []string) {
	for _, en := range ens {
		names = append(names, en.EntityName)
		if en.StagingErrorCount == 0 && en.TargetErrorCount == 0 {
			continue
		}
		label := en.EntityName
		if en.Company != "" {
			label += " (" + en.Company + ")"
		}
		detail = append(detail, fmt.Sprintf("%s: staging %d records, %d with errors (%s); target %d records, %d with errors (%s)", label,
			en.StagingRecords, en.StagingErrorCount, en.StagingStatus, en.TargetRecords, en.TargetErrorCount, en.TargetStatus))
	}
	return names, detail
}
