package cli

import (
	"fmt"
	"io"
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
