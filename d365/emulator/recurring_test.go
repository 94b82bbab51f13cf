package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
)

// The activity IDs as real clients send them: braces, URL-encoded.
var (
	importJob = emulator.Activity{ID: "{6D31E09F-0249-459F-94F0-AAD9C2C2B1A1}", DataProject: "Recurring import", Package: true}
	fileJob   = emulator.Activity{ID: "{2A5D7C1E-3B4F-4E6A-8C9D-0F1E2D3C4B5A}", DataProject: "Recurring file"}
	exportJob = emulator.Activity{ID: "{0B4C1A7E-5D3E-4C8B-9F5A-2E7D6C1B3A90}", DataProject: "Recurring export", Export: true, Package: true}
)

func connector(verb string, a emulator.Activity) string {
	return "/api/connector/" + verb + "/" + url.PathEscape(a.ID)
}

var guid = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

func TestEnqueueAndJobStatus(t *testing.T) {
	opts := fast
	opts.Activities = []emulator.Activity{importJob, fileJob, exportJob}
	s := start(t, opts)
	tok := token(t, s)
	if !strings.Contains(connector("enqueue", importJob), "%7B6D31E09F") {
		t.Fatalf("the test does not encode braces: %s", connector("enqueue", importJob))
	}
	h := bearer(tok)
	h.Set("Content-Type", "application/zip")
	h.Set("x-ms-dyn-externalidentifier", "customers.zip")
	pkg := customers(t, []string{"US-001", "Contoso", "10"}, []string{"FAIL-2", "Bad", "10"})
	a := do(t, s, http.MethodPost, connector("enqueue", importJob)+"?company=USMF", h, pkg)
	// The answer is the message ID as a quoted GUID.
	if a.status != http.StatusOK || !regexp.MustCompile(`^"[0-9A-F-]{36}"\s*$`).Match(a.body) {
		t.Fatalf("enqueue: %d %s", a.status, a.body)
	}
	id := strings.Trim(strings.TrimSpace(string(a.body)), `"`)

	var states []float64
	var last map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		a := do(t, s, http.MethodGet, connector("jobstatus", importJob)+"?jobId="+id, bearer(tok), nil)
		if a.status != http.StatusOK {
			t.Fatalf("jobstatus: %d %s", a.status, a.body)
		}
		last = a.json(t)
		st := last["DataJobStatus"].(map[string]any)["DataJobState"].(float64)
		if len(states) == 0 || states[len(states)-1] != st {
			states = append(states, st)
		}
		if st >= emulator.StateProcessed {
			break
		}
	}
	if !slices.Equal(states, []float64{emulator.StateEnqueued, emulator.StateInProcess, emulator.StateProcessedWithErrors}) {
		t.Errorf("DataJobState went %v, want 0, 4, 6", states)
	}
	// {"DataJobStatus":{DataProject,DataJobIdentifier,ExternalIdentifier,ExecutionIdentifier,DataJobStartedDateTime,DataJobCompletedDateTime,DataJobState},"ExecutionLog":…,"ExecutionDetail":[{EntityName,Company,StagingRecords,StagingStatus,StagingErrorCount,TargetRecords,TargetStatus,TargetErrorCount,ExecutionStartedDateTime,ExecutionCompletedDateTime}]}
	if got := keys(last); !slices.Equal(got, []string{"DataJobStatus", "ExecutionDetail", "ExecutionLog"}) {
		t.Errorf("jobstatus members %v", got)
	}
	js := last["DataJobStatus"].(map[string]any)
	if got := keys(js); !slices.Equal(got, []string{"DataJobCompletedDateTime", "DataJobIdentifier", "DataJobStartedDateTime", "DataJobState", "DataProject", "ExecutionIdentifier", "ExternalIdentifier"}) {
		t.Errorf("DataJobStatus members %v", got)
	}
	if js["ExternalIdentifier"] != "customers.zip" || js["DataProject"] != "Recurring import" || js["DataJobIdentifier"] != id {
		t.Errorf("DataJobStatus %v", js)
	}
	det := last["ExecutionDetail"].([]any)[0].(map[string]any)
	if got := keys(det); !slices.Equal(got, []string{"Company", "EntityName", "ExecutionCompletedDateTime", "ExecutionStartedDateTime", "StagingErrorCount", "StagingRecords", "StagingStatus", "TargetErrorCount", "TargetRecords", "TargetStatus"}) {
		t.Errorf("ExecutionDetail members %v", got)
	}
	if det["StagingRecords"] != 2.0 || det["StagingErrorCount"] != 1.0 || det["TargetRecords"] != 1.0 || det["StagingStatus"] != "Error" || det["Company"] != "USMF" {
		t.Errorf("ExecutionDetail %v", det)
	}
	if st := value(t, s, tok, "GetMessageStatus", map[string]string{"messageId": id}); st != "ProcessedWithErrors" {
		t.Errorf("GetMessageStatus = %v", st)
	}
	// RIS asks GetExecutionErrors with the message ID.
	if v, _ := value(t, s, tok, "GetExecutionErrors", map[string]string{"executionId": id}).(string); !strings.Contains(v, "FAIL-2") {
		t.Errorf("GetExecutionErrors by message ID: %s", v)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || !bytes.Equal(msgs[0].Body, pkg) || msgs[0].ExternalIdentifier != "customers.zip" || msgs[0].ExecutionID == "" {
		t.Errorf("Messages() = %+v", msgs)
	}
	if got := value(t, s, tok, "GetExecutionIdByMessageId", map[string]string{"_messageId": "{" + id + "}"}); got != msgs[0].ExecutionID {
		t.Errorf("GetExecutionIdByMessageId = %v, want %s", got, msgs[0].ExecutionID)
	}
	if a := call(t, s, tok, "GetMessageStatus", map[string]string{"messageId": "nobody"}); a.status != http.StatusBadRequest {
		t.Errorf("GetMessageStatus of an unknown message: %d", a.status)
	}

	// A File job takes one entity's file and needs its name.
	if a := do(t, s, http.MethodPost, connector("enqueue", fileJob), bearer(tok), []byte("A\r\n1\r\n")); a.status != http.StatusBadRequest {
		t.Errorf("a File job without entity: %d %s", a.status, a.body)
	}
	a = do(t, s, http.MethodPost, connector("enqueue", fileJob)+"?entity=Customers%20V3&company=USMF", bearer(tok), utf16("CUSTOMERACCOUNT,NAME\r\nUS-1,A\r\nUS-2,B\r\n"))
	fid := strings.Trim(strings.TrimSpace(string(a.body)), `"`)
	time.Sleep(400 * time.Millisecond)
	if st := value(t, s, tok, "GetMessageStatus", map[string]string{"messageId": fid}); st != "Processed" {
		t.Errorf("the file message: %v", st)
	}
	// Unknown activities and jobs.
	if a := do(t, s, http.MethodPost, "/api/connector/enqueue/%7B00000000-0000-0000-0000-000000000000%7D", bearer(tok), pkg); a.status != http.StatusBadRequest {
		t.Errorf("an unknown activity: %d", a.status)
	}
	if a := do(t, s, http.MethodPost, connector("enqueue", exportJob), bearer(tok), pkg); a.status != http.StatusBadRequest {
		t.Errorf("enqueue to an export job: %d", a.status)
	}
}

func TestDequeueAckVisibility(t *testing.T) {
	opts := fast
	opts.Activities = []emulator.Activity{importJob, exportJob}
	opts.VisibilityTimeout = 400 * time.Millisecond
	opts.HTTPDownloadLocation = true
	s := start(t, opts)
	tok := token(t, s)
	dequeue := func() answer { return do(t, s, http.MethodGet, connector("dequeue", exportJob), bearer(tok), nil) }

	if a := dequeue(); a.status != http.StatusNoContent || len(a.body) != 0 {
		t.Fatalf("dequeue of an empty queue: %d %q, want 204", a.status, a.body)
	}
	id, err := s.Publish(exportJob.ID, "trial balance.zip", []byte("PK-export"))
	if err != nil {
		t.Fatal(err)
	}
	a := dequeue()
	m := a.json(t)
	if got := keys(m); !slices.Equal(got, []string{"CorrelationId", "DownloadLocation", "FileDownLoadErrorMessage", "IsDownLoadFileExist", "PopReceipt"}) {
		t.Errorf("dequeue members %v", got)
	}
	if m["CorrelationId"] != id || !guid.MatchString(m["PopReceipt"].(string)) || m["IsDownLoadFileExist"] != true {
		t.Errorf("dequeue %s", a.body)
	}
	loc := m["DownloadLocation"].(string)
	// https://<env>/api/connector/download/{activityId}?correlation-id=<guid>&blob=<guid>, handed out as http://.
	want := "http://" + strings.TrimPrefix(s.URL(), "https://") + "/api/connector/download/%7B0B4C1A7E-5D3E-4C8B-9F5A-2E7D6C1B3A90%7D?correlation-id=" + id + "&blob="
	if !strings.HasPrefix(loc, want) {
		t.Errorf("DownloadLocation %s, want %s…", loc, want)
	}
	https := "https://" + strings.TrimPrefix(loc, "http://")
	if a := do(t, s, http.MethodGet, https, nil, nil); a.status != http.StatusUnauthorized {
		t.Errorf("download without a token: %d", a.status)
	}
	if a := do(t, s, http.MethodGet, https, bearer(tok), nil); a.status != http.StatusOK || string(a.body) != "PK-export" {
		t.Errorf("download: %d %q", a.status, a.body)
	}
	// Invisible until the visibility timeout, then back with a new pop receipt.
	if a := dequeue(); a.status != http.StatusNoContent {
		t.Errorf("dequeue while the message is invisible: %d", a.status)
	}
	time.Sleep(450 * time.Millisecond)
	a = dequeue()
	again := a.json(t)
	if again["CorrelationId"] != id || again["PopReceipt"] == m["PopReceipt"] || again["LastDequeueDateTime"] == nil {
		t.Errorf("redelivered message %s", a.body)
	}
	// Acking with the stale pop receipt is refused; the latest one acks.
	ack := func(d map[string]any) answer {
		b, _ := json.Marshal(map[string]any{"CorrelationId": d["CorrelationId"], "PopReceipt": d["PopReceipt"], "DownloadLocation": d["DownloadLocation"]})
		return do(t, s, http.MethodPost, connector("ack", exportJob), bearer(tok), b)
	}
	if a := ack(m); a.status != http.StatusBadRequest {
		t.Errorf("ack with a stale pop receipt: %d %s", a.status, a.body)
	}
	if a := ack(again); a.status != http.StatusOK {
		t.Errorf("ack: %d %s", a.status, a.body)
	}
	time.Sleep(450 * time.Millisecond)
	if a := dequeue(); a.status != http.StatusNoContent {
		t.Errorf("dequeue after the ack: %d %s", a.status, a.body)
	}
	if msgs := s.Messages(); len(msgs) != 1 || !msgs[0].Acked || msgs[0].Dequeues != 2 || msgs[0].State != emulator.StateAcked {
		t.Errorf("Messages() = %+v", msgs)
	}
	a = do(t, s, http.MethodGet, connector("jobstatus", exportJob)+"?jobId="+id, bearer(tok), nil)
	if st := a.json(t)["DataJobStatus"].(map[string]any)["DataJobState"]; st != float64(emulator.StateAcked) {
		t.Errorf("jobstatus of the acked message: %v", st)
	}
}
