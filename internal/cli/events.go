package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/jobs"
)

// dispatcher is the daemon's delivery of business events to webhooks, a
// background task of svc.
func dispatcher(g *globals, svc *jobs.Service, j *jobs.Journal) *events.Dispatcher {
	return &events.Dispatcher{Store: j.Events(), Hooks: svc.Webhooks, Log: g.logger()}
}

// printEvents prints the deliveries of a job's events, for erpipe jobs
// show.
func printEvents(w io.Writer, list []*events.Delivery) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(w, "Events:")
	for _, d := range list {
		fmt.Fprintf(w, "  %s %s -> %s: %s\n", d.EventID, d.Type, printable(d.Webhook), deliveryState(d))
		if d.LastError != "" && d.Status != events.Delivered {
			fmt.Fprintf(w, "    last error: %s\n", printable(d.LastError))
		}
	}
}

// deliveryState says where a delivery is, in a few words.
func deliveryState(d *events.Delivery) string {
	tries := fmt.Sprintf("%d attempts", d.Attempts)
	if d.Attempts == 1 {
		tries = "1 attempt"
	}
	switch d.Status {
	case events.Delivered:
		return fmt.Sprintf("delivered %s (%s)", fmtTime(d.Delivered), tries)
	case events.Pending:
		if d.Attempts == 0 {
			return "pending, not sent yet"
		}
		return fmt.Sprintf("pending, %s, next at %s", tries, d.NextAttempt.Local().Format(time.TimeOnly))
	default:
		return fmt.Sprintf("%s after %s", d.Status, tries)
	}
}

// webhookBacklogs reads the outbox of the workspace's journal by webhook;
// none when there is no journal yet.
func webhookBacklogs(ctx context.Context, journalPath string) ([]events.Backlog, error) {
	if _, err := os.Stat(journalPath); err != nil {
		return nil, nil
	}
	j, err := jobs.OpenJournal(journalPath)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	return j.Events().Backlogs(ctx)
}

// printWebhooks prints the outbox of the workspace's journal by webhook,
// for erpipe status: how many events wait, how old the oldest is, how
// many were delivered, given up or dropped.
func printWebhooks(ctx context.Context, w io.Writer, journalPath string, now time.Time) error {
	list, err := webhookBacklogs(ctx, journalPath)
	if err != nil || len(list) == 0 {
		return err
	}
	fmt.Fprintf(w, "\nWebhooks (erpipe jobs show ID for a job's deliveries):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  WEBHOOK\tPENDING\tOLDEST PENDING\tDELIVERED\tGIVEN UP\tDROPPED")
	for _, b := range list {
		oldest := ""
		if !b.OldestPending.IsZero() {
			oldest = now.Sub(b.OldestPending).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%d\t%d\n", printable(b.Webhook), b.ByStatus[events.Pending], oldest,
			b.ByStatus[events.Delivered], b.ByStatus[events.GivenUp], b.ByStatus[events.Dropped])
	}
	return tw.Flush()
}

// webhookJSON is a webhook's outbox in erpipe status --json.
type webhookJSON struct {
	Webhook       string    `json:"webhook"`
	Pending       int       `json:"pending"`
	OldestPending time.Time `json:"oldest_pending,omitzero"`
	Delivered     int       `json:"delivered"`
	GivenUp       int       `json:"given_up"`
	Dropped       int       `json:"dropped"`
}

func webhooksJSON(list []events.Backlog) []webhookJSON {
	out := make([]webhookJSON, 0, len(list))
	for _, b := range list {
		out = append(out, webhookJSON{b.Webhook, b.ByStatus[events.Pending], b.OldestPending,
			b.ByStatus[events.Delivered], b.ByStatus[events.GivenUp], b.ByStatus[events.Dropped]})
	}
	return out
}
