package d365

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Exports: a data project is exported to a package with ExportToPackage
// and the package fetched from GetExportedPackageUrl once the execution
// has ended; a recurring export job puts its files on a queue that is
// read with dequeue, download and ack.

// Export is ExportToPackage's request.
type Export struct {
	DefinitionGroup string `json:"definitionGroupId"` // the export data project
	PackageName     string `json:"packageName"`
	ExecutionID     string `json:"executionId"` // chosen by the caller, so that a retry can ask first
	ReExecute       bool   `json:"reExecute"`
	LegalEntity     string `json:"legalEntityId"`
}

// ExportToPackage starts the export of a data project and returns its
// execution id.
func (c *Client) ExportToPackage(ctx context.Context, in Export) (string, error) {
	var id string
	if err := c.action(ctx, "ExportToPackage", in, &id); err != nil {
		return "", err
	}
	return id, nil
}

// ExportedPackageURL is GetExportedPackageUrl: a URL to download the
// package of an export that has ended, or "" while it has none (RIS asks
// again until it has).
func (c *Client) ExportedPackageURL(ctx context.Context, executionID string) (string, error) {
	var u string
	err := c.action(ctx, "GetExportedPackageUrl", map[string]string{"executionId": executionID}, &u)
	return u, err
}

// Message is a file on a recurring export job's queue, as dequeue answers
// it. Ack takes it back as it came.
type Message struct {
	CorrelationID    string `json:"CorrelationId"`
	PopReceipt       string `json:"PopReceipt"`
	DownloadLocation string `json:"DownloadLocation"`
	// The rest is kept so that the ack carries what dequeue said.
	Rest map[string]json.RawMessage `json:"-"`
}

// Dequeue takes the oldest file off the recurring export job activityID,
// or returns nil when none waits (204). The message becomes visible again
// after D365's visibility timeout unless it is acked.
func (c *Client) Dequeue(ctx context.Context, activityID string) (*Message, error) {
	const op = "dequeue"
	resp, err := c.do(ctx, request{op: op, method: http.MethodGet, auth: true,
		url: c.env + "/api/connector/dequeue/" + activityPath(activityID)})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNoContent {
		drain(resp)
		return nil, nil
	}
	if resp.StatusCode/100 != 2 {
		return nil, answerError(op, resp)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, nil // some versions answer 200 with no body when nothing waits
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil || m.CorrelationID == "" || m.DownloadLocation == "" {
		return nil, &Error{Op: op, Status: resp.StatusCode, Body: fmt.Sprintf("not a dequeued message (CorrelationId, PopReceipt, DownloadLocation): %.200q", b)}
	}
	if err := json.Unmarshal(b, &m.Rest); err != nil {
		return nil, &Error{Op: op, Status: resp.StatusCode, Body: fmt.Sprintf("%.200q", b)}
	}
	return &m, nil
}

// Ack tells the recurring export job activityID that message m is safely
// taken, so that it is not handed out again.
func (c *Client) Ack(ctx context.Context, activityID string, m *Message) error {
	const op = "ack"
	body := map[string]json.RawMessage{}
	for k, v := range m.Rest {
		body[k] = v
	}
	for k, v := range map[string]string{"CorrelationId": m.CorrelationID, "PopReceipt": m.PopReceipt, "DownloadLocation": m.DownloadLocation} {
		b, _ := json.Marshal(v)
		body[k] = b
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, request{op: op, method: http.MethodPost, auth: true,
		url:    c.env + "/api/connector/ack/" + activityPath(activityID),
		header: http.Header{"Content-Type": {"application/json"}},
		body:   func() (io.Reader, error) { return strings.NewReader(string(b)), nil }, size: int64(len(b))})
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return answerError(op, resp)
	}
	drain(resp)
	return nil
}
