package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DataJobState values of the connector's jobstatus (section 5).
const (
	StateEnqueued            = 0
	StateDequeued            = 1
	StateDownloaded          = 2
	StateAcked               = 3
	StateInProcess           = 4
	StateProcessed           = 5
	StateProcessedWithErrors = 6
	StatePostProcessError    = 7
	StatePreProcessError     = 8
)

// nullDate is how D365 writes a date and time not set.
const nullDate = "1900-01-01T00:00:00Z"

type queue struct {
	activity Activity
	msgs     []*message // an export job's messages, oldest first
}

type message struct {
	id                 string // the message ID (a GUID), also the CorrelationId
	activity           Activity
	external           string // x-ms-dyn-externalidentifier
	entity, company    string
	body               []byte
	at                 time.Time
	exec               *execution // an import job's execution
	blob               string     // an export message's blob ID
	popReceipt         string
	visibleAt          time.Time
	dequeues           int
	lastDequeue        time.Time
	downloaded, acked  bool
	dequeuedAt, ackdAt time.Time
}

// Message is a message of a recurring data job, as the emulator keeps it.
type Message struct {
	ID                 string
	ActivityID         string
	ExternalIdentifier string
	Entity, Company    string
	Body               []byte
	At                 time.Time
	ExecutionID        string // an import job's execution
	State              int    // DataJobState now
	Dequeues           int    // how many times an export job's message was dequeued
	Acked              bool
}

// Messages returns the messages enqueued to import jobs and published to
// export jobs, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []Message
	for _, m := range s.messageSeq {
		mm := Message{ID: m.id, ActivityID: m.activity.ID, ExternalIdentifier: m.external, Entity: m.entity, Company: m.company,
			Body: m.body, At: m.at, State: s.stateOf(m, now), Dequeues: m.dequeues, Acked: m.acked}
		if m.exec != nil {
			mm.ExecutionID = m.exec.id
		}
		out = append(out, mm)
	}
	return out
}

// activity finds the job of an activity ID from the path, or answers 400.
func (s *Server) activity(w http.ResponseWriter, r *http.Request) (*queue, bool) {
	id := r.PathValue("activity")
	s.mu.Lock()
	q, ok := s.queues[normActivity(id)]
	s.mu.Unlock()
	if !ok {
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Recurring data job with activity ID '%s' was not found; check the ID on Manage scheduled data jobs (with its braces, URL-encoded).", id))
	}
	return q, ok
}

// enqueue serves POST /api/connector/enqueue/{activityId}?entity=&company=.
func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	q, ok := s.activity(w, r)
	if !ok {
		return
	}
	if q.activity.Export {
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Recurring data job '%s' is an export job; files are enqueued to import jobs and dequeued from export jobs.", q.activity.ID))
		return
	}
	company := r.URL.Query().Get("company")
	if company != "" && !s.checkLegalEntity(w, company) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBlob+1))
	if err != nil {
		return
	}
	if len(body) > maxBlob {
		odataError(w, http.StatusRequestEntityTooLarge, "The file is larger than the emulator takes (1 GiB).")
		return
	}
	entity := r.URL.Query().Get("entity")
	if !q.activity.Package && entity == "" {
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Recurring data job '%s' is a File job: give the entity name (?entity=<label>).", q.activity.ID))
		return
	}
	m := &message{id: newGUID(), activity: q.activity, external: r.Header.Get("x-ms-dyn-externalidentifier"),
		entity: entity, company: company, body: body}
	e := &execution{group: q.activity.DataProject, legalEntity: company, pkg: body, execute: true, messageID: m.id}
	if !s.newExecution(w, e) {
		return
	}
	s.mu.Lock()
	m.at, m.exec = e.created, e
	s.messages[strings.ToLower(m.id)] = m
	s.messageSeq = append(s.messageSeq, m)
	s.mu.Unlock()
	if q.activity.Package {
		entity = ""
	}
	s.run(e, entity)
	// The answer is the message ID as a JSON string: a quoted GUID.
	writeJSON(w, http.StatusOK, m.id)
}

// Publish puts a file on an export job's queue, as D365 does when the job
// runs, and returns its message ID.
func (s *Server) Publish(activityID, fileName string, data []byte) (string, error) {
	s.mu.Lock()
	q, ok := s.queues[normActivity(activityID)]
	s.mu.Unlock()
	if !ok || !q.activity.Export {
		return "", fmt.Errorf("d365 emulator: %s is not an export job of Options.Activities", activityID)
	}
	m := &message{id: newGUID(), activity: q.activity, external: fileName, body: data, at: time.Now(), blob: newGUID()}
	if err := s.store.Put(context.Background(), "connector-"+m.blob, data); err != nil {
		return "", err
	}
	s.mu.Lock()
	q.msgs = append(q.msgs, m)
	s.messages[strings.ToLower(m.id)] = m
	s.messageSeq = append(s.messageSeq, m)
	s.mu.Unlock()
	return m.id, nil
}

// SetVisibilityTimeout sets how long a dequeued message stays invisible
// from its next dequeue on.
func (s *Server) SetVisibilityTimeout(d time.Duration) {
	s.mu.Lock()
	s.opts.VisibilityTimeout = d
	s.mu.Unlock()
}

// dequeue serves GET /api/connector/dequeue/{activityId}: the oldest
// visible message, or 204 when there is none.
func (s *Server) dequeue(w http.ResponseWriter, r *http.Request) {
	q, ok := s.activity(w, r)
	if !ok {
		return
	}
	now := time.Now()
	s.mu.Lock()
	var m *message
	for _, x := range q.msgs {
		if !x.acked && !now.Before(x.visibleAt) {
			m = x
			break
		}
	}
	var out map[string]any
	if m != nil {
		m.dequeues++
		m.popReceipt = newGUID()
		m.visibleAt = now.Add(s.opts.VisibilityTimeout)
		base := baseURL(r.Context())
		if s.opts.HTTPDownloadLocation {
			base = "http://" + strings.TrimPrefix(base, "https://")
		}
		out = map[string]any{
			"CorrelationId":            m.id,
			"PopReceipt":               m.popReceipt,
			"DownloadLocation":         base + "/api/connector/download/" + url.PathEscape("{"+strings.Trim(q.activity.ID, "{}")+"}") + "?correlation-id=" + m.id + "&blob=" + m.blob,
			"IsDownLoadFileExist":      true,
			"FileDownLoadErrorMessage": "",
		}
		if !m.lastDequeue.IsZero() {
			out["LastDequeueDateTime"] = m.lastDequeue.UTC().Format(time.RFC3339)
		}
		m.lastDequeue, m.dequeuedAt = now, now
	}
	s.mu.Unlock()
	if m == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// download serves a dequeued message's DownloadLocation.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	q, ok := s.activity(w, r)
	if !ok {
		return
	}
	id, blob := r.URL.Query().Get("correlation-id"), r.URL.Query().Get("blob")
	s.mu.Lock()
	m, ok := s.messages[strings.ToLower(id)]
	ok = ok && m.blob == blob && normActivity(m.activity.ID) == normActivity(q.activity.ID)
	if ok {
		m.downloaded = true
	}
	s.mu.Unlock()
	if !ok {
		odataError(w, http.StatusNotFound, fmt.Sprintf("The file of message '%s' (blob '%s') was not found.", id, blob))
		return
	}
	data, err := s.store.Fetch(r.Context(), "connector-"+m.blob)
	if err != nil {
		// A store of another kind holds it under a URL of its own.
		u, uerr := s.store.SignedURL(r.Context(), "connector-"+m.blob, "r", time.Now().Add(time.Minute))
		if uerr == nil {
			data, err = s.store.Fetch(r.Context(), u)
		}
	}
	if err != nil {
		odataError(w, http.StatusInternalServerError, "The file could not be read from blob storage: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if m.external != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", m.external))
	}
	w.Write(data)
}

// ack serves POST /api/connector/ack/{activityId} with the dequeue answer
// as its body.
func (s *Server) ack(w http.ResponseWriter, r *http.Request) {
	q, ok := s.activity(w, r)
	if !ok {
		return
	}
	var in struct {
		CorrelationID string `json:"CorrelationId"`
		PopReceipt    string `json:"PopReceipt"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		odataError(w, http.StatusBadRequest, "The body must be the JSON the dequeue answered (CorrelationId, PopReceipt, DownloadLocation): "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[strings.ToLower(in.CorrelationID)]
	switch {
	case !ok || normActivity(m.activity.ID) != normActivity(q.activity.ID):
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Message '%s' was not found in recurring data job '%s'.", in.CorrelationID, q.activity.ID))
	case m.acked:
		w.WriteHeader(http.StatusOK)
	case !strings.EqualFold(m.popReceipt, in.PopReceipt):
		odataError(w, http.StatusBadRequest, fmt.Sprintf("The PopReceipt of message '%s' does not match its last dequeue; it was dequeued again after its visibility timeout. Ack with the latest dequeue's answer.", in.CorrelationID))
	default:
		m.acked, m.ackdAt = true, time.Now()
		w.WriteHeader(http.StatusOK)
	}
}

// stateOf is a message's DataJobState. Called with s.mu held.
func (s *Server) stateOf(m *message, now time.Time) int {
	if m.exec == nil { // an export job's message
		switch {
		case m.acked:
			return StateAcked
		case m.downloaded:
			return StateDownloaded
		case m.dequeues > 0:
			return StateDequeued
		}
		return StateEnqueued
	}
	switch s.phase(m.exec, now) {
	case StatusNotRun:
		return StateEnqueued
	case StatusExecuting:
		return StateInProcess
	case StatusSucceeded:
		return StateProcessed
	}
	if m.exec.preProcess {
		return StatePreProcessError
	}
	return StateProcessedWithErrors
}

// messageStatusNames are GetMessageStatus's names of the states, as
// Microsoft documents them.
var messageStatusNames = map[int]string{
	StateEnqueued: "Enqueued", StateDequeued: "Dequeued", StateDownloaded: "Dequeued", StateAcked: "Acked",
	StateInProcess: "Processing", StateProcessed: "Processed", StateProcessedWithErrors: "ProcessedWithErrors",
	StatePostProcessError: "PostProcessingFailed", StatePreProcessError: "PreProcessingError",
}

func (s *Server) getMessageStatus(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	m, ok := s.messages[normActivity(id)]
	var st int
	if ok {
		st = s.stateOf(m, time.Now())
	}
	s.mu.Unlock()
	if !ok {
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Message '%s' was not found.", id))
		return
	}
	odataValue(w, r, actionPrefix+"DMFMessageStatus", messageStatusNames[st])
}

// jobStatus serves GET /api/connector/jobstatus/{activityId}?jobId=<message ID>.
func (s *Server) jobStatus(w http.ResponseWriter, r *http.Request) {
	q, ok := s.activity(w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("jobId")
	now := time.Now()
	s.mu.Lock()
	m, ok := s.messages[normActivity(id)]
	if !ok || normActivity(m.activity.ID) != normActivity(q.activity.ID) {
		s.mu.Unlock()
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Data job '%s' was not found in recurring data job '%s'.", id, q.activity.ID))
		return
	}
	state := s.stateOf(m, now)
	started, completed := nullDate, nullDate
	execID := ""
	details := []map[string]any{}
	if e := m.exec; e != nil {
		execID = e.id
		if state >= StateInProcess {
			started = e.created.Add(s.opts.QueueTime).UTC().Format(time.RFC3339)
		}
		ended := state >= StateProcessed
		if ended {
			completed = e.created.Add(s.opts.QueueTime + s.opts.ExecuteTime).UTC().Format(time.RFC3339)
		}
		for _, en := range e.entities {
			st, tg := en.StagingStatus, en.TargetStatus
			if !ended {
				st, tg = "Waiting", "Waiting"
				if state == StateInProcess {
					st = "Executing"
				}
			}
			company := m.company
			details = append(details, map[string]any{
				"EntityName": en.Name, "Company": company,
				"StagingRecords": en.StagingRecords, "StagingStatus": st, "StagingErrorCount": en.StagingErrorCount,
				"TargetRecords": en.TargetRecords, "TargetStatus": tg, "TargetErrorCount": en.TargetErrorCount,
				"ExecutionStartedDateTime": started, "ExecutionCompletedDateTime": completed,
			})
		}
	}
	log := ""
	if m.exec != nil && state >= StateProcessed {
		log = strings.Join(m.exec.errs, "\n")
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"DataJobStatus": map[string]any{
			"DataProject":              m.activity.DataProject,
			"DataJobIdentifier":        m.id,
			"ExternalIdentifier":       m.external,
			"ExecutionIdentifier":      execID,
			"DataJobStartedDateTime":   started,
			"DataJobCompletedDateTime": completed,
			"DataJobState":             state,
		},
		"ExecutionLog":    log,
		"ExecutionDetail": details,
	})
}
