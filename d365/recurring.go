package d365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// The recurring integrations API: a file or a package is enqueued to a
// recurring data job, named by its activity ID, and D365 answers a message
// ID; the job imports the message when it runs, and its progress is read
// from the connector's jobstatus or the GetMessageStatus action
// (shared/docs/dmf-format.md section 5).

// DataJobState is a message's state in jobstatus' DataJobStatus.
type DataJobState int

// The states, numbered as D365 writes them.
const (
	JobEnqueued            DataJobState = 0
	JobDequeued            DataJobState = 1
	JobDownloaded          DataJobState = 2
	JobAcked               DataJobState = 3
	JobInProcess           DataJobState = 4
	JobProcessed           DataJobState = 5
	JobProcessedWithErrors DataJobState = 6
	JobPostProcessError    DataJobState = 7
	JobPreProcessError     DataJobState = 8
)

var jobStateNames = []string{"Enqueued", "Dequeued", "Downloaded", "Acked", "InProcess",
	"Processed", "ProcessedWithErrors", "PostProcessError", "PreProcessError"}

func (s DataJobState) String() string {
	if s >= 0 && int(s) < len(jobStateNames) {
		return jobStateNames[s]
	}
	return "DataJobState(" + strconv.Itoa(int(s)) + ")"
}

// Final reports whether D365 is done with the message.
func (s DataJobState) Final() bool {
	switch s {
	case JobProcessed, JobProcessedWithErrors, JobPostProcessError, JobPreProcessError:
		return true
	}
	return false
}

// UnmarshalJSON reads the state as the number D365 writes, or as its name.
func (s *DataJobState) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		if n < 0 || n >= len(jobStateNames) {
			return fmt.Errorf("DataJobState %d is not one of 0..%d", n, len(jobStateNames)-1)
		}
		*s = DataJobState(n)
		return nil
	}
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return fmt.Errorf("DataJobState %.50s is neither a number nor a name", b)
	}
	for i, known := range jobStateNames {
		if strings.EqualFold(name, known) {
			*s = DataJobState(i)
			return nil
		}
	}
	return fmt.Errorf("DataJobState %q is not known", name)
}

// JobStatus is the connector's jobstatus answer for one message.
type JobStatus struct {
	DataProject         string
	MessageID           string // DataJobIdentifier
	ExternalIdentifier  string
	ExecutionIdentifier string // the data management execution, for GetExecutionErrors and the error files
	Started, Completed  time.Time
	State               DataJobState
	ExecutionLog        []string
	Entities            []EntityDetail // ExecutionDetail
}

// EntityDetail is one entity of a message's execution.
type EntityDetail struct {
	EntityName        string
	Company           string
	StagingRecords    int
	StagingStatus     string // EntityExecutionState: NotStarted, Waiting, Executing, Error, Finished, ...
	StagingErrorCount int
	TargetRecords     int
	TargetStatus      string
	TargetErrorCount  int
}

// activityPath is a recurring data job's path segment: its activity ID
// with braces, URL-encoded (%7B...%7D), as D365 wants it.
func activityPath(activityID string) string {
	return url.PathEscape("{" + strings.Trim(strings.TrimSpace(activityID), "{}") + "}")
}

// ErrMaybeEnqueued marks an Enqueue that may have reached D365 although no
// message ID came back (no answer, a server error, an unreadable answer):
// trying again could enqueue the file twice, and the recurring API cannot
// be asked for a message by its external identifier.
var ErrMaybeEnqueued = errors.New("d365: the enqueue may have reached D365")

// Enqueue sends a file or a package to the recurring data job activityID
// and returns its message ID. entity is the entity's label for a File job
// and "" for a Data package job; company the legal entity ("" for the
// job's own); externalID is sent as x-ms-dyn-externalidentifier. open gives
// size bytes, anew for every try.
//
// Enqueue is not idempotent, so it is tried once: a 429 is waited out and
// a refusal (4xx, 503) returned as *Error, since D365 took nothing; any
// other failure wraps ErrMaybeEnqueued.
func (c *Client) Enqueue(ctx context.Context, activityID, entity, company, externalID string, open func() (io.Reader, error), size int64) (string, error) {
	const op = "enqueue"
	q := url.Values{}
	if entity != "" {
		q.Set("entity", entity)
	}
	if company != "" {
		q.Set("company", company)
	}
	u := c.env + "/api/connector/enqueue/" + activityPath(activityID)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	ctype := "application/zip" // a Data package job takes a package
	if entity != "" {
		ctype = "application/octet-stream" // a File job takes the file in the project's format
	}
	h := http.Header{"Content-Type": {ctype}}
	if externalID != "" {
		h.Set("x-ms-dyn-externalidentifier", externalID)
	}
	// A token Entra ID does not give is a failure before anything is sent:
	// ask for it first (azidentity caches it for the call).
	if _, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}}); err != nil {
		return "", &Error{Op: op, Err: fmt.Errorf("get a token from Entra ID: %w", err)}
	}
	once := *c
	once.tries = 0 // 408, 5xx and no answer are not tried again
	resp, err := once.do(ctx, request{op: op, method: http.MethodPost, url: u, body: open, size: size, header: h, auth: true})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMaybeEnqueued, err)
	}
	if resp.StatusCode/100 != 2 {
		err := answerError(op, resp)
		if resp.StatusCode/100 == 4 || resp.StatusCode == http.StatusServiceUnavailable {
			return "", err
		}
		return "", fmt.Errorf("%w: %w", ErrMaybeEnqueued, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	id, ok := messageID(b)
	if err != nil || !ok {
		return "", fmt.Errorf("%w: %w", ErrMaybeEnqueued, &Error{Op: op, Status: resp.StatusCode, Body: fmt.Sprintf("the answer %.200q is not a message ID", b)})
	}
	return id, nil
}

// messageID reads enqueue's answer: a GUID in quotes (a JSON string), or
// bare.
func messageID(b []byte) (string, bool) {
	s := strings.TrimSpace(string(b))
	var v string
	if json.Unmarshal([]byte(s), &v) == nil {
		s = v
	}
	s = strings.Trim(strings.TrimSpace(s), `"{}`)
	if len(s) != 36 || strings.Count(s, "-") != 4 {
		return "", false
	}
	for _, r := range s {
		if r != '-' && !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return "", false
		}
	}
	return s, true
}

// JobStatus asks the connector how message messageID of the recurring data
// job activityID is doing. A message D365 does not know is ErrNotFound.
func (c *Client) JobStatus(ctx context.Context, activityID, messageID string) (*JobStatus, error) {
	const op = "jobstatus"
	resp, err := c.do(ctx, request{op: op, method: http.MethodGet, auth: true,
		url:    c.env + "/api/connector/jobstatus/" + activityPath(activityID) + "?jobId=" + url.QueryEscape(messageID),
		header: http.Header{"Accept": {"application/json"}}})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		err := answerError(op, resp)
		var e *Error
		if errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Body), "not found")) {
			return nil, fmt.Errorf("%w: message %s: %v", ErrNotFound, messageID, err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	st, err := parseJobStatus(b)
	if err != nil {
		return nil, &Error{Op: op, Status: resp.StatusCode, Body: err.Error()}
	}
	return st, nil
}

// parseJobStatus reads jobstatus' answer.
func parseJobStatus(b []byte) (*JobStatus, error) {
	var raw struct {
		DataJobStatus *struct {
			DataProject              string
			DataJobIdentifier        string
			ExternalIdentifier       string
			ExecutionIdentifier      string
			DataJobStartedDateTime   string
			DataJobCompletedDateTime string
			DataJobState             DataJobState
		}
		ExecutionLog    json.RawMessage
		ExecutionDetail []rawEntity
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("the answer %.200q is not jobstatus JSON: %v", b, err)
	}
	js := raw.DataJobStatus
	if js == nil {
		return nil, fmt.Errorf("the answer %.200q has no DataJobStatus", b)
	}
	out := &JobStatus{DataProject: js.DataProject, MessageID: js.DataJobIdentifier, ExternalIdentifier: js.ExternalIdentifier,
		ExecutionIdentifier: js.ExecutionIdentifier, State: js.DataJobState,
		Started: jobTime(js.DataJobStartedDateTime), Completed: jobTime(js.DataJobCompletedDateTime)}
	if len(raw.ExecutionLog) > 0 && string(raw.ExecutionLog) != "null" {
		for _, m := range messages(raw.ExecutionLog) {
			for line := range strings.SplitSeq(m, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					out.ExecutionLog = append(out.ExecutionLog, line)
				}
			}
		}
	}
	for _, d := range raw.ExecutionDetail {
		out.Entities = append(out.Entities, d.detail())
	}
	return out, nil
}

// rawEntity is an entity's counts as D365 writes them, in jobstatus'
// ExecutionDetail and GetEntityExecutionSummaryStatusList.
type rawEntity struct {
	EntityName        string
	Company           string
	StagingRecords    count
	StagingStatus     string
	StagingErrorCount count
	TargetRecords     count
	TargetStatus      string
	TargetErrorCount  count
}

func (d rawEntity) detail() EntityDetail {
	return EntityDetail{EntityName: d.EntityName, Company: d.Company,
		StagingRecords: int(d.StagingRecords), StagingStatus: d.StagingStatus, StagingErrorCount: int(d.StagingErrorCount),
		TargetRecords: int(d.TargetRecords), TargetStatus: d.TargetStatus, TargetErrorCount: int(d.TargetErrorCount)}
}

// count is a number of records, written as a number or a string holding
// one.
type count int

func (n *count) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		b = []byte(strings.TrimSpace(s))
		if len(b) == 0 {
			*n = 0
			return nil
		}
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("a record count %.30s is not a number", b)
	}
	*n = count(f)
	return nil
}

// jobTime reads a jobstatus date; D365's 1900-01-01 (not set) and what
// cannot be read are the zero time.
func jobTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() <= 1900 {
				return time.Time{}
			}
			return t
		}
	}
	return time.Time{}
}

// MessageStatus is what GetMessageStatus answers.
type MessageStatus string

// The statuses of a message, as Microsoft documents them. PostProcessingError
// (RIS' name) is read as PostProcessingFailed.
const (
	MessageEnqueued             MessageStatus = "Enqueued"
	MessageDequeued             MessageStatus = "Dequeued"
	MessageDownloaded           MessageStatus = "Downloaded"
	MessageAcked                MessageStatus = "Acked"
	MessagePreprocessing        MessageStatus = "Preprocessing"
	MessageProcessing           MessageStatus = "Processing"
	MessageProcessed            MessageStatus = "Processed"
	MessageProcessedWithErrors  MessageStatus = "ProcessedWithErrors"
	MessagePreProcessingError   MessageStatus = "PreProcessingError"
	MessagePostProcessingFailed MessageStatus = "PostProcessingFailed"
)

// Final reports whether D365 is done with the message.
func (s MessageStatus) Final() bool {
	switch s {
	case MessageProcessed, MessageProcessedWithErrors, MessagePreProcessingError, MessagePostProcessingFailed:
		return true
	}
	return false
}

// risMessageStatus is RIS' numbering of the statuses.
var risMessageStatus = []MessageStatus{MessageEnqueued, MessageDequeued, MessageDownloaded, MessageAcked, MessageProcessing,
	MessageProcessed, MessageProcessedWithErrors, MessagePostProcessingFailed, MessagePreProcessingError, MessagePreprocessing}

// parseMessageStatus reads GetMessageStatus' value: a name (either
// spelling of the post-processing failure, any case) or RIS' number.
func parseMessageStatus(raw json.RawMessage) (MessageStatus, error) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		if n < 0 || n >= len(risMessageStatus) {
			return "", fmt.Errorf("message status %d is not one of 0..%d", n, len(risMessageStatus)-1)
		}
		return risMessageStatus[n], nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("message status %.50s is neither a name nor a number", raw)
	}
	if strings.EqualFold(s, "PostProcessingError") {
		return MessagePostProcessingFailed, nil
	}
	for _, known := range risMessageStatus {
		if strings.EqualFold(s, string(known)) {
			return known, nil
		}
	}
	return "", fmt.Errorf("message status %q is not known", s)
}

// MessageStatus is the GetMessageStatus action: how message messageID is
// doing. A message D365 does not know is ErrNotFound.
func (c *Client) MessageStatus(ctx context.Context, messageID string) (MessageStatus, error) {
	var raw json.RawMessage
	err := c.action(ctx, "GetMessageStatus", map[string]string{"messageId": messageID}, &raw)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Body), "not found") {
		return "", fmt.Errorf("%w: message %s", ErrNotFound, messageID)
	}
	if err != nil {
		return "", err
	}
	s, err := parseMessageStatus(raw)
	if err != nil {
		return "", &Error{Op: "GetMessageStatus", Status: http.StatusOK, Body: err.Error()}
	}
	return s, nil
}
