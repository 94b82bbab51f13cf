package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/jobs"
)

// TestPrintWebhooks: erpipe status lists the outbox by webhook.
func TestPrintWebhooks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := jobs.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	hooks := []events.Webhook{{Name: "erp"}, {Name: "pager", Events: []events.Type{events.JobFailed}}}
	for i, typ := range []events.Type{events.JobEnded, events.JobFailed} {
		job := &jobs.Job{ID: "20260101-000000-00000" + string(rune('a'+i)), Pipeline: "p", Status: jobs.Processed, Created: now}
		if err := j.Put(ctx, job, events.New(typ, now.Add(-time.Minute), "p", "", hooks)); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	var b bytes.Buffer
	if err := printWebhooks(ctx, &b, path, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	for _, want := range []string{"WEBHOOK PENDING OLDEST PENDING DELIVERED GIVEN UP DROPPED", "erp 2 1m0s 0 0 0", "pager 1 1m0s 0 0 0"} {
		if !slices.Contains(rows, want) {
			t.Errorf("status does not say %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := printWebhooks(ctx, &b, filepath.Join(t.TempDir(), "none.db"), now); err != nil || b.Len() != 0 {
		t.Errorf("without a journal: %q, %v", b.String(), err)
	}
}
