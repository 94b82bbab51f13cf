package d365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
)

func TestParseJobStatus(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       *JobStatus
		err        string
	}{
		{name: "processed with errors, as section 5 writes it", body: `{"DataJobStatus":{"DataProject":"Recurring import","DataJobIdentifier":"8E1C7B5A-1111-4222-8333-444455556666",
			"ExternalIdentifier":"erpipe-job-abc","ExecutionIdentifier":"Recurring import-2026-12-07_08-00-00-X","DataJobStartedDateTime":"2026-12-07T08:00:01Z",
			"DataJobCompletedDateTime":"2026-12-07T08:00:03Z","DataJobState":6},"ExecutionLog":"row 1 failed\nrow 2 failed",
			"ExecutionDetail":[{"EntityName":"Customers V3","Company":"USMF","StagingRecords":3,"StagingStatus":"Error","StagingErrorCount":1,
			"TargetRecords":2,"TargetStatus":"Finished","TargetErrorCount":0,"ExecutionStartedDateTime":"2026-12-07T08:00:01Z","ExecutionCompletedDateTime":"2026-12-07T08:00:03Z"}]}`,
			want: &JobStatus{DataProject: "Recurring import", MessageID: "8E1C7B5A-1111-4222-8333-444455556666", ExternalIdentifier: "erpipe-job-abc",
				ExecutionIdentifier: "Recurring import-2026-12-07_08-00-00-X", Started: time.Date(2026, 12, 7, 8, 0, 1, 0, time.UTC),
				Completed: time.Date(2026, 12, 7, 8, 0, 3, 0, time.UTC), State: JobProcessedWithErrors, ExecutionLog: []string{"row 1 failed", "row 2 failed"},
				Entities: []EntityDetail{{EntityName: "Customers V3", Company: "USMF", StagingRecords: 3, StagingStatus: "Error", StagingErrorCount: 1, TargetRecords: 2, TargetStatus: "Finished"}}}},
		{name: "enqueued: dates not set, no detail, no log", body: `{"DataJobStatus":{"DataJobIdentifier":"M","DataJobStartedDateTime":"1900-01-01T00:00:00Z","DataJobCompletedDateTime":"1900-01-01T00:00:00","DataJobState":0},"ExecutionLog":null,"ExecutionDetail":[]}`,
			want: &JobStatus{MessageID: "M", State: JobEnqueued}},
		{name: "the state by name, counts as strings", body: `{"DataJobStatus":{"DataJobState":"InProcess"},"ExecutionDetail":[{"EntityName":"E","StagingRecords":"12","TargetErrorCount":""}]}`,
			want: &JobStatus{State: JobInProcess, Entities: []EntityDetail{{EntityName: "E", StagingRecords: 12}}}},
		{name: "every final state", body: `{"DataJobStatus":{"DataJobState":8}}`, want: &JobStatus{State: JobPreProcessError}},
		{name: "a state out of range", body: `{"DataJobStatus":{"DataJobState":9}}`, err: "not one of 0..8"},
		{name: "an unknown name", body: `{"DataJobStatus":{"DataJobState":"Lost"}}`, err: `"Lost" is not known`},
		{name: "no DataJobStatus", body: `{"ExecutionDetail":[]}`, err: "no DataJobStatus"},
		{name: "not JSON", body: `<html>Bad gateway</html>`, err: "not jobstatus JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseJobStatus([]byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestDataJobState(t *testing.T) {
	for n, want := range []struct {
		name  string
		final bool
	}{{"Enqueued", false}, {"Dequeued", false}, {"Downloaded", false}, {"Acked", false}, {"InProcess", false},
		{"Processed", true}, {"ProcessedWithErrors", true}, {"PostProcessError", true}, {"PreProcessError", true}} {
		s := DataJobState(n)
		if s.String() != want.name || s.Final() != want.final {
			t.Errorf("DataJobState %d: %s final %v, want %s final %v", n, s, s.Final(), want.name, want.final)
		}
	}
}

func TestParseMessageStatus(t *testing.T) {
	for _, c := range []struct {
		raw   string
		want  MessageStatus
		final bool
		err   bool
	}{
		{`"Enqueued"`, MessageEnqueued, false, false},
		{`"Processing"`, MessageProcessing, false, false},
		{`"Preprocessing"`, MessagePreprocessing, false, false},
		{`"Processed"`, MessageProcessed, true, false},
		{`"ProcessedWithErrors"`, MessageProcessedWithErrors, true, false},
		{`"PreProcessingError"`, MessagePreProcessingError, true, false},
		{`"PostProcessingFailed"`, MessagePostProcessingFailed, true, false}, // Microsoft's docs
		{`"PostProcessingError"`, MessagePostProcessingFailed, true, false},  // RIS' enum
		{`"processed"`, MessageProcessed, true, false},
		{`5`, MessageProcessed, true, false},
		{`7`, MessagePostProcessingFailed, true, false},
		{`9`, MessagePreprocessing, false, false},
		{`10`, "", false, true},
		{`"Vanished"`, "", false, true},
		{`{}`, "", false, true},
	} {
		got, err := parseMessageStatus(json.RawMessage(c.raw))
		if (err != nil) != c.err || got != c.want || got.Final() != c.final {
			t.Errorf("parseMessageStatus(%s) = %q (final %v), %v; want %q final %v", c.raw, got, got.Final(), err, c.want, c.final)
		}
	}
}

func TestMessageIDAndActivityPath(t *testing.T) {
	for _, c := range []struct {
		body, want string
		ok         bool
	}{
		{`"6D31E09F-0249-459F-94F0-AAD9C2C2B1A1"`, "6D31E09F-0249-459F-94F0-AAD9C2C2B1A1", true},
		{"\"6d31e09f-0249-459f-94f0-aad9c2c2b1a1\"\r\n", "6d31e09f-0249-459f-94f0-aad9c2c2b1a1", true},
		{`6D31E09F-0249-459F-94F0-AAD9C2C2B1A1`, "6D31E09F-0249-459F-94F0-AAD9C2C2B1A1", true},
		{`"{6D31E09F-0249-459F-94F0-AAD9C2C2B1A1}"`, "6D31E09F-0249-459F-94F0-AAD9C2C2B1A1", true},
		{`""`, "", false},
		{`{"error":{"message":"x"}}`, "", false},
		{`"not-a-guid-at-all-but-36-characters!"`, "", false},
	} {
		got, ok := messageID([]byte(c.body))
		if got != c.want || ok != c.ok {
			t.Errorf("messageID(%s) = %q, %v; want %q, %v", c.body, got, ok, c.want, c.ok)
		}
	}
	for _, id := range []string{"{6D31E09F-0249-459F-94F0-AAD9C2C2B1A1}", "6D31E09F-0249-459F-94F0-AAD9C2C2B1A1", " {6D31E09F-0249-459F-94F0-AAD9C2C2B1A1} "} {
		if got := activityPath(id); got != "%7B6D31E09F-0249-459F-94F0-AAD9C2C2B1A1%7D" {
			t.Errorf("activityPath(%q) = %s", id, got)
		}
	}
}

// recurringEmulator runs an emulator with a Data package job and a File job.
func recurringEmulator(t *testing.T) (*emulator.Server, *Client, emulator.Activity, emulator.Activity) {
	t.Helper()
	pkgJob := emulator.DefaultActivities[0]
	fileJob := emulator.Activity{ID: "{2A5D7C1E-3B4F-4E6A-8C9D-0F1E2D3C4B5A}", DataProject: "Recurring file"}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	s := emulator.New(emulator.Options{QueueTime: 50 * time.Millisecond, ExecuteTime: 150 * time.Millisecond, CAFile: ca,
		Activities: []emulator.Activity{pkgJob, fileJob}})
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := New(Config{Environment: s.URL(), AuthorityHost: s.URL(), Tenant: s.Tenant(), ClientID: s.ClientID(),
		Secret: s.ClientSecret(), CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, pkgJob, fileJob
}

func bodyOf(b []byte) func() (io.Reader, error) {
	return func() (io.Reader, error) { return bytes.NewReader(b), nil }
}

// TestEnqueueToEmulator: a File job's file is enqueued with its entity,
// company and external identifier to the activity ID with its braces
// URL-encoded; jobstatus and GetMessageStatus follow it to its end, with
// the rows D365 refused counted per entity.
func TestEnqueueToEmulator(t *testing.T) {
	s, c, _, fileJob := recurringEmulator(t)
	ctx := context.Background()
	file := []byte("CUSTOMERACCOUNT,NAME\r\nUS-1,Contoso\r\nFAIL-2,Bad\r\nUS-3,Fabrikam\r\n")
	id, err := c.Enqueue(ctx, strings.Trim(fileJob.ID, "{}"), "Customers V3", "USMF", "erpipe-job-1", bodyOf(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].ID != id || msgs[0].ExternalIdentifier != "erpipe-job-1" || msgs[0].Entity != "Customers V3" ||
		msgs[0].Company != "USMF" || !bytes.Equal(msgs[0].Body, file) {
		t.Fatalf("enqueued %q; the emulator has %+v", id, msgs)
	}
	var path string
	for _, r := range s.Requests() {
		if strings.Contains(r.Path, "/enqueue/") {
			path = r.Path
		}
	}
	if !strings.HasPrefix(path, "/api/connector/enqueue/%7B2A5D7C1E-3B4F-4E6A-8C9D-0F1E2D3C4B5A%7D?") {
		t.Errorf("enqueued to %s", path)
	}
	var st *JobStatus
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
		if st, err = c.JobStatus(ctx, fileJob.ID, id); err != nil {
			t.Fatal(err)
		}
		if st.State.Final() {
			break
		}
	}
	if st.State != JobProcessedWithErrors || st.ExternalIdentifier != "erpipe-job-1" || st.ExecutionIdentifier == "" || len(st.Entities) != 1 {
		t.Fatalf("jobstatus: %+v", st)
	}
	if e := st.Entities[0]; e.EntityName != "Customers V3" || e.StagingRecords != 3 || e.StagingErrorCount != 1 || e.TargetRecords != 2 || e.StagingStatus != "Error" {
		t.Errorf("ExecutionDetail: %+v", e)
	}
	if ms, err := c.MessageStatus(ctx, id); err != nil || ms != MessageProcessedWithErrors {
		t.Errorf("GetMessageStatus: %q, %v", ms, err)
	}
	if errs, err := c.ExecutionErrors(ctx, st.ExecutionIdentifier); err != nil || !strings.Contains(strings.Join(errs, "\n"), "FAIL-2") {
		t.Errorf("GetExecutionErrors: %q, %v", errs, err)
	}
	if _, err := c.JobStatus(ctx, fileJob.ID, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("jobstatus of an unknown message: %v, want ErrNotFound", err)
	}
	if _, err := c.MessageStatus(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetMessageStatus of an unknown message: %v, want ErrNotFound", err)
	}
}

// TestEnqueueRefusedOrLost: a refusal means nothing was enqueued (an
// *Error, not ErrMaybeEnqueued); a 429 is waited out; a server error is
// not tried again and may have enqueued.
func TestEnqueueRefusedOrLost(t *testing.T) {
	s, c, pkgJob, fileJob := recurringEmulator(t)
	c.sleep = func(context.Context, time.Duration) error { return nil }
	ctx := context.Background()
	file := []byte("A\r\n1\r\n")
	// A File job without its entity is refused.
	_, err := c.Enqueue(ctx, fileJob.ID, "", "", "x", bodyOf(file), int64(len(file)))
	var e *Error
	if errors.Is(err, ErrMaybeEnqueued) || !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Body, "entity") {
		t.Errorf("a File job without entity: %v", err)
	}
	// An unknown activity.
	if _, err := c.Enqueue(ctx, "{00000000-0000-0000-0000-000000000000}", "", "", "x", bodyOf(file), int64(len(file))); errors.Is(err, ErrMaybeEnqueued) || err == nil {
		t.Errorf("an unknown activity: %v", err)
	}
	// Throttled twice, then taken once.
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 429, Count: 2, RetryAfter: time.Second})
	if _, err := c.Enqueue(ctx, pkgJob.ID, "", "USMF", "y", bodyOf(file), int64(len(file))); err != nil {
		t.Errorf("after two 429s: %v", err)
	}
	// A 500 may come after the message was taken: not tried again.
	before := len(s.Requests())
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 500, Count: 3})
	if _, err := c.Enqueue(ctx, pkgJob.ID, "", "USMF", "z", bodyOf(file), int64(len(file))); !errors.Is(err, ErrMaybeEnqueued) {
		t.Errorf("a 500: %v, want ErrMaybeEnqueued", err)
	}
	if n := len(s.Requests()) - before; n != 1 {
		t.Errorf("%d requests after a 500, want 1", n)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}
