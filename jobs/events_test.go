package jobs

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/workspace"
)

const webhooksConfig = `webhooks:
  - name: all
    url: http://127.0.0.1:1/all
  - name: failures
    url: http://127.0.0.1:1/failures
    events: [job.failed, period.failed]
  - name: other-pipeline
    url: http://127.0.0.1:1/other
    pipelines: [vendors-v2]
`

// TestJobEvents: a job's end and its wait for a destination write their
// events with the job's record, once each, to the webhooks that take
// them, and the job's record shows their deliveries.
func TestJobEvents(t *testing.T) {
	t.Setenv(events.DefaultSecretEnv, "a-secret-of-sixteen-or-more")
	s, ws := newService(t, webhooksConfig)
	f := &flaky{Destination: s.current().dests["customers-v3"][0], n: 2}
	s.current().dests["customers-v3"] = []outbox.Destination{f}
	ctx := context.Background()
	ok, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
	if err != nil {
		t.Fatal(err)
	}
	s.waiting.Wait()
	bad, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "bad.csv", []byte("Nothing,Here\n1,2\n")))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		job  string
		want []string // type -> webhook, in order
	}{
		{ok.ID, []string{"destination.waiting->all", "job.ended->all"}},
		{bad.ID, []string{"job.failed->all", "job.failed->failures"}},
	}
	for _, tt := range tests {
		job, err := s.journal.Get(ctx, tt.job)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range job.Events {
			got = append(got, string(d.Type)+"->"+d.Webhook)
			if d.Status != events.Pending || d.Attempts != 0 || d.Job != job.ID {
				t.Errorf("job %s: delivery %+v; want it pending, not tried, of the job", job.Status, d)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("job %s (%s): events %q; want %q", tt.job, job.Status, got, tt.want)
		}
	}

	// The body is the event as sent: the job's final state.
	due, err := s.journal.Events().Due(ctx, s.Now().Add(1e9), 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, d := range due {
		var ev events.Event
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != d.EventID || ev.Type != d.Type || ev.Job == nil || ev.Pipeline != "customers-v3" {
			t.Errorf("body %s does not match delivery %+v", d.Body, d)
		}
		if prev, ok := ids[string(d.Type)+ev.Job.ID]; ok && prev != ev.ID {
			t.Errorf("one event, two ids: %s and %s", prev, ev.ID)
		}
		ids[string(d.Type)+ev.Job.ID] = ev.ID
		switch ev.Type {
		case events.JobEnded:
			if ev.Job.Status != string(Processed) || len(ev.Job.Outputs) != 1 || ev.Job.RowsWritten == 0 {
				t.Errorf("job.ended says %+v", ev.Job)
			}
		case events.JobFailed:
			if ev.Job.Status != string(Failed) || len(ev.Job.Errors) == 0 {
				t.Errorf("job.failed says %+v", ev.Job)
			}
		case events.DestinationWaiting:
			if len(ev.WaitingFor) != 1 || !strings.Contains(ev.WaitingFor[0], "unavailable") {
				t.Errorf("destination.waiting says %q", ev.WaitingFor)
			}
		}
	}
	if len(due) != 4 {
		t.Errorf("%d deliveries in the outbox; want 4", len(due))
	}
	// The record itself keeps no events.
	var body string
	if err := s.journal.db.QueryRow(`SELECT body FROM jobs WHERE id = ?`, ok.ID).Scan(&body); err != nil || strings.Contains(body, "event") {
		t.Errorf("record %s (%v); want no events in it", body, err)
	}
}

// TestJobEventsNeedSecret: a configuration with a webhook whose secret
// is nowhere is refused, saying where to put it.
func TestJobEventsNeedSecret(t *testing.T) {
	t.Setenv(events.DefaultSecretEnv, "")
	ws := t.TempDir()
	_, err := newSetupFromConfig(t, ws, webhooksConfig)
	if err == nil || !strings.Contains(err.Error(), events.DefaultSecretEnv) {
		t.Errorf("err = %v; want it to name %s", err, events.DefaultSecretEnv)
	}
}

func newSetupFromConfig(t *testing.T, dir, cfg string) (*setup, error) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "erpipe.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		return nil, err
	}
	return newSetup(ws, "", time.Now())
}

// TestEventWithChangeOrNeither: a job's change and its event are written
// together: when the event cannot be written, the change is not either.
func TestEventWithChangeOrNeither(t *testing.T) {
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	job := &Job{ID: "20260101-000000-abcdef", Pipeline: "p", Input: "a.csv", Status: Processing, Created: time.Now()}
	if err := j.Put(ctx, job); err != nil {
		t.Fatal(err)
	}
	hooks := []events.Webhook{{Name: "h"}}
	job.Status = Processed
	// The outbox refuses the event's row (a trigger standing for a write
	// that fails after the job's row was written in the transaction).
	if _, err := j.db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON event_deliveries BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`); err != nil {
		t.Fatal(err)
	}
	if err := j.Put(ctx, job, events.New(events.JobEnded, time.Now(), "p", "", hooks)); err == nil {
		t.Fatal("Put succeeded though its event could not be written")
	}
	got, err := j.Get(ctx, job.ID)
	if err != nil || got.Status != Processing || len(got.Events) != 0 {
		t.Fatalf("after the failed write: %v, %s, %d events; want Processing, no events", err, got.Status, len(got.Events))
	}
	if _, err := j.db.Exec(`DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	if err := j.Put(ctx, job, events.New(events.JobEnded, time.Now(), "p", "", hooks)); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Get(ctx, job.ID); got.Status != Processed || len(got.Events) != 1 {
		t.Fatalf("after the write: %s, %d events; want Processed with its event", got.Status, len(got.Events))
	}
}
