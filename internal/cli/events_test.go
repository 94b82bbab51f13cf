package cli

import (
	"bytes"
	"context"
	"encoding/json"
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
	// erpipe status --json has the same counts.
	b.Reset()
	backlogs, err := webhookBacklogs(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeStatusJSON(&b, &jobs.DaemonStatus{Running: true}, backlogs); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Running  bool          `json:"running"`
		Webhooks []webhookJSON `json:"webhooks"`
	}
	if err := json.Unmarshal(b.Bytes(), &st); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if !st.Running || len(st.Webhooks) != 2 || st.Webhooks[0].Webhook != "erp" || st.Webhooks[0].Pending != 2 ||
		st.Webhooks[1].Webhook != "pager" || st.Webhooks[1].Pending != 1 || st.Webhooks[1].OldestPending.Sub(now.Add(-time.Minute)).Abs() > time.Second {
		t.Errorf("status --json: %s", b.String())
	}
	b.Reset()
	if err := printWebhooks(ctx, &b, filepath.Join(t.TempDir(), "none.db"), now); err != nil || b.Len() != 0 {
		t.Errorf("without a journal: %q, %v", b.String(), err)
	}
}
