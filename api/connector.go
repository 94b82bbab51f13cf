package api

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

// The recurring-integrations facade: D365's /api/connector endpoints
// (enqueue, dequeue, download, ack, jobstatus) answered by erpipe, in
// D365's shapes, so that a client written for a recurring data job (RIS,
// Logic Apps, d365/recurring.go) points at erpipe with little change.
// An activity ID names a pipeline (http: activities: in erpipe.yaml):
// enqueue submits a file to it as an upload; dequeue hands out the
// outputs of its jobs that ended since the activity was first used.

// DataJobState numbers, as D365's jobstatus writes them.
const (
	stateEnqueued            = 0
	stateInProcess           = 4
	stateProcessed           = 5
	stateProcessedWithErrors = 6
	statePreProcessError     = 8
)

// nullDate is how D365 writes a date and time not set.
const nullDate = "1900-01-01T00:00:00Z"

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// activity finds the pipeline of the path's activity ID, or answers as
// D365 does for an unknown one (400).
func (a *API) activity(w http.ResponseWriter, r *http.Request, c *caller) (act, pipeline string, ok bool) {
	id := r.PathValue("activity")
	act = workspace.NormActivity(id)
	pipeline = a.config().Activity(id)
	if pipeline == "" {
		writeError(w, http.StatusBadRequest, "no_activity", fmt.Sprintf("Recurring data job with activity ID '%s' was not found; erpipe maps activity IDs to pipelines in erpipe.yaml (http: activities).", id))
		return "", "", false
	}
	if a.svc.Workspace().Pipeline(pipeline) == nil {
		writeError(w, http.StatusBadRequest, "no_pipeline", fmt.Sprintf("Activity '%s' maps to pipeline %q, which this workspace does not have; mend http: activities in erpipe.yaml.", id, pipeline))
		return "", "", false
	}
	if c.forbid(w, pipeline) {
		return "", "", false
	}
	return act, pipeline, true
}

// enqueue serves POST /api/connector/enqueue/{activityId}?entity=&company=:
// the body is the file; the answer the message ID, a quoted GUID.
func (a *API) enqueue(w http.ResponseWriter, r *http.Request, c *caller) {
	act, pipeline, ok := a.activity(w, r, c)
	if !ok {
		return
	}
	p := a.svc.Workspace().Pipeline(pipeline)
	msgID := newGUID()
	external := r.Header.Get("x-ms-dyn-externalidentifier")
	name, err := safeName(external)
	if external == "" || err != nil {
		name, err = uploadName(r, msgID+defaultExt(r, p.Inbox.Patterns))
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_name", err.Error())
			return
		}
	}
	if _, err := p.Template.InputFormat(name); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "bad_type", fmt.Sprintf("Pipeline %s (activity %s) cannot take a file named %q: %v; send the file name it reads in x-ms-dyn-externalidentifier.", pipeline, r.PathValue("activity"), name, err))
		return
	}
	if _, err := a.svc.Journal().ActivitySince(r.Context(), act, a.now()); err != nil {
		a.internalError(w, r, err)
		return
	}
	got, ok := a.receive(w, r, name)
	if !ok {
		return
	}
	q := r.URL.Query()
	job, replayed, ok := a.submit(w, r, jobs.Upload{Pipeline: pipeline, Path: got.path, SHA256: got.sha256, Client: c.name,
		Key: r.Header.Get("Idempotency-Key"), MessageID: msgID, Activity: act, Entity: q.Get("entity"), Company: q.Get("company"), ExternalID: external})
	if !ok {
		return
	}
	if replayed {
		rec, err := a.svc.Journal().UploadOfJob(r.Context(), job.ID)
		if err != nil || rec == nil || rec.MessageID == "" {
			writeError(w, http.StatusConflict, "idempotency_key_reused", fmt.Sprintf("the Idempotency-Key was used for job %s, which was not enqueued through this facade", job.ID))
			return
		}
		msgID = rec.MessageID
		w.Header().Set("Idempotency-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, msgID)
}

// defaultExt is the extension of a file enqueued without a name: .zip
// for a package (Content-Type application/zip), else the first the
// pipeline reads.
func defaultExt(r *http.Request, patterns []string) string {
	if strings.Contains(r.Header.Get("Content-Type"), "zip") {
		return ".zip"
	}
	for _, p := range patterns {
		if ext := path.Ext(p); ext != "" && !strings.ContainsAny(ext, "*?[") {
			return ext
		}
	}
	return ".dat"
}

// offer puts the outputs of the pipeline's jobs that ended since the
// activity was first used on its queue.
func (a *API) offer(r *http.Request, act, pipeline string) error {
	j := a.svc.Journal()
	since, err := j.ActivitySince(r.Context(), act, a.now())
	if err != nil {
		return err
	}
	// From where every earlier job has ended and been offered: a dequeue
	// reads the jobs since, not the whole history.
	mark, err := j.OfferedUntil(r.Context(), act)
	if err != nil {
		return err
	}
	from := since
	if mark.After(from) {
		from = mark
	}
	list, err := j.List(r.Context(), jobs.Filter{Pipeline: pipeline, Since: from})
	if err != nil {
		return err
	}
	newMark, ended := mark, true
	for _, job := range list {
		if ended = ended && job.Status.Final(); ended {
			newMark = job.Created // jobs are listed oldest first
		}
		if job.Status != jobs.Processed && job.Status != jobs.ProcessedWithErrors {
			continue
		}
		for _, o := range job.Outputs {
			if localFile(o.Location) == "" {
				continue
			}
			if err := j.Offer(r.Context(), act, job.ID, o.Name, job.Finished, newGUID); err != nil {
				return err
			}
		}
	}
	if newMark.After(mark) {
		return j.SetOfferedUntil(r.Context(), act, newMark)
	}
	return nil
}

// dequeue serves GET /api/connector/dequeue/{activityId}.
func (a *API) dequeue(w http.ResponseWriter, r *http.Request, c *caller) {
	act, pipeline, ok := a.activity(w, r, c)
	if !ok {
		return
	}
	if err := a.offer(r, act, pipeline); err != nil {
		a.internalError(w, r, err)
		return
	}
	m, err := a.svc.Journal().Dequeue(r.Context(), act, a.now(), a.config().Visibility(), newGUID())
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	if m == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out := map[string]any{
		"CorrelationId":            m.MessageID,
		"PopReceipt":               m.PopReceipt,
		"DownloadLocation":         scheme + "://" + r.Host + "/api/connector/download/" + url.PathEscape("{"+strings.Trim(r.PathValue("activity"), "{}")+"}") + "?correlation-id=" + m.MessageID + "&blob=" + m.Blob,
		"IsDownLoadFileExist":      true,
		"FileDownLoadErrorMessage": "",
	}
	if !m.LastDequeue.IsZero() {
		out["LastDequeueDateTime"] = m.LastDequeue.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, out)
}

// download serves a dequeued message's DownloadLocation.
func (a *API) download(w http.ResponseWriter, r *http.Request, c *caller) {
	act, _, ok := a.activity(w, r, c)
	if !ok {
		return
	}
	id, blob := r.URL.Query().Get("correlation-id"), r.URL.Query().Get("blob")
	m, err := a.svc.Journal().QueuedMessage(r.Context(), act, id)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	if m == nil || !strings.EqualFold(m.Blob, blob) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("The file of message '%s' (blob '%s') was not found.", id, blob))
		return
	}
	job, err := a.svc.Journal().Get(r.Context(), m.Job)
	if err != nil {
		a.jobError(w, r, m.Job, err)
		return
	}
	for _, o := range job.Outputs {
		if o.Name == m.Output {
			if p := localFile(o.Location); p != "" {
				_ = a.svc.Journal().MarkDownloaded(r.Context(), m.MessageID)
				serveFile(w, r, p, "application/octet-stream")
				return
			}
		}
	}
	writeError(w, http.StatusGone, "gone", fmt.Sprintf("The file of message '%s' (output %s of job %s) is no longer on this machine.", id, m.Output, m.Job))
}

// ack serves POST /api/connector/ack/{activityId}: the body is the
// dequeue's answer.
func (a *API) ack(w http.ResponseWriter, r *http.Request, c *caller) {
	act, _, ok := a.activity(w, r, c)
	if !ok {
		return
	}
	var in struct {
		CorrelationID string `json:"CorrelationId"`
		PopReceipt    string `json:"PopReceipt"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	if err := dec.Decode(&in); err != nil || in.CorrelationID == "" || in.PopReceipt == "" {
		why := "it lacks CorrelationId or PopReceipt"
		if err != nil {
			why = err.Error()
		}
		writeError(w, http.StatusBadRequest, "bad_ack", "The body must be the JSON the dequeue answered (CorrelationId, PopReceipt, DownloadLocation): "+why)
		return
	}
	m, err := a.svc.Journal().QueuedMessage(r.Context(), act, in.CorrelationID)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	if m == nil {
		writeError(w, http.StatusBadRequest, "not_found", fmt.Sprintf("Message '%s' was not found in recurring data job '%s'.", in.CorrelationID, r.PathValue("activity")))
		return
	}
	acked, err := a.svc.Journal().Ack(r.Context(), m.MessageID, in.PopReceipt)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	if !acked {
		writeError(w, http.StatusBadRequest, "stale_receipt", fmt.Sprintf("The PopReceipt of message '%s' does not match its last dequeue; it was dequeued again after its visibility timeout. Ack with the latest dequeue's answer.", in.CorrelationID))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// jobStatus serves GET /api/connector/jobstatus/{activityId}?jobId=<message ID>.
func (a *API) jobStatus(w http.ResponseWriter, r *http.Request, c *caller) {
	act, _, ok := a.activity(w, r, c)
	if !ok {
		return
	}
	id := strings.Trim(r.URL.Query().Get("jobId"), "{}")
	rec, err := a.svc.Journal().UploadByMessage(r.Context(), id)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	if rec == nil {
		// A message of the dequeue side: its state is how far the client took it.
		m, err := a.svc.Journal().QueuedMessage(r.Context(), act, id)
		if err != nil {
			a.internalError(w, r, err)
			return
		}
		if m != nil {
			job, err := a.svc.Journal().Get(r.Context(), m.Job)
			if err != nil {
				a.jobError(w, r, m.Job, err)
				return
			}
			st := dataJobStatus(job, &jobs.UploadRecord{MessageID: m.MessageID, ExternalID: m.Output})
			st["DataJobStatus"].(map[string]any)["DataJobState"] = dequeueState(m)
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	if rec == nil || rec.Activity != act {
		writeError(w, http.StatusBadRequest, "not_found", fmt.Sprintf("Data job '%s' was not found in recurring data job '%s'.", id, r.PathValue("activity")))
		return
	}
	job, err := a.svc.Journal().Get(r.Context(), rec.Job)
	if err != nil {
		a.jobError(w, r, rec.Job, err)
		return
	}
	writeJSON(w, http.StatusOK, dataJobStatus(job, rec))
}

// dequeueState is the DataJobState of a message of the dequeue side:
// Enqueued 0, Dequeued 1, Downloaded 2, Acked 3, as D365 says of an
// export job's messages.
func dequeueState(m *jobs.QueueMessage) int {
	switch {
	case m.Acked:
		return 3
	case m.Downloaded:
		return 2
	case m.Dequeues > 0:
		return 1
	}
	return stateEnqueued
}

// dataJobStatus is jobstatus' answer for job, in D365's shape.
func dataJobStatus(job *jobs.Job, rec *jobs.UploadRecord) map[string]any {
	state, staging, target := stateEnqueued, "Waiting", "Waiting"
	var log []string
	switch job.Status {
	case jobs.Processing:
		state, staging = stateInProcess, "Executing"
	case jobs.Processed:
		state, staging, target = stateProcessed, "Finished", "Finished"
	case jobs.ProcessedWithErrors:
		state, staging, target = stateProcessedWithErrors, "Finished", "Finished"
	case jobs.Duplicate:
		state, staging, target = stateProcessedWithErrors, "NotRun", "NotRun"
	case jobs.Failed:
		state, staging, target = statePreProcessError, "Error", "NotRun"
	}
	log = append(log, job.Errors...)
	log = append(log, job.DeliveryProblems...)
	started, completed := nullDate, nullDate
	if !job.Started.IsZero() {
		started = job.Started.UTC().Format(time.RFC3339)
	}
	if job.Status.Final() && !job.Finished.IsZero() {
		completed = job.Finished.UTC().Format(time.RFC3339)
	}
	entity := rec.Entity
	if entity == "" {
		entity = job.Template
	}
	return map[string]any{
		"DataJobStatus": map[string]any{
			"DataProject":              job.Pipeline,
			"DataJobIdentifier":        rec.MessageID,
			"ExternalIdentifier":       rec.ExternalID,
			"ExecutionIdentifier":      job.ID,
			"DataJobStartedDateTime":   started,
			"DataJobCompletedDateTime": completed,
			"DataJobState":             state,
		},
		"ExecutionLog": strings.Join(log, "\n"),
		"ExecutionDetail": []map[string]any{{
			"EntityName": entity, "Company": rec.Company,
			"StagingRecords": job.Read, "StagingStatus": staging, "StagingErrorCount": job.Rejected,
			"TargetRecords": job.Written, "TargetStatus": target, "TargetErrorCount": job.Rejected,
			"ExecutionStartedDateTime": started, "ExecutionCompletedDateTime": completed,
		}},
	}
}
