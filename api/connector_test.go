package api

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

// staticToken is a bearer token as an azcore credential, for the d365
// client.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// d365Client is the repo's own D365 client pointed at the facade, over TLS.
func (e *testEnv) d365Client(token string) *d365.Client {
	e.t.Helper()
	tls := httptest.NewUnstartedServer(e.srv.Config.Handler)
	tls.StartTLS()
	e.t.Cleanup(tls.Close)
	ca := filepath.Join(e.t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tls.Certificate().Raw}), 0o600)
	c, err := d365.New(d365.Config{Environment: tls.URL, CAFile: ca, Credential: staticToken(token), Retries: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// The facade answers the repo's D365 client (d365/recurring.go and
// export.go) as D365 does: enqueue, jobstatus, dequeue, download, ack,
// and an un-acked message back after the visibility timeout.
func TestConnectorWithD365Client(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"ris", "high", ""})+"  visibility_timeout: 1s\n")
	c := e.d365Client("ris-token")
	ctx := context.Background()
	data := sample(t)
	id, err := c.Enqueue(ctx, "{"+activity+"}", "Customers V3", "USMF", "customers.csv",
		func() (io.Reader, error) { return bytes.NewReader(data), nil }, int64(len(data)))
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	var st *d365.JobStatus
	for deadline := time.Now().Add(20 * time.Second); ; {
		st, err = c.JobStatus(ctx, activity, id)
		if err != nil {
			t.Fatalf("JobStatus: %v", err)
		}
		if st.State.Final() || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.State != d365.JobProcessed || st.MessageID != id || st.ExternalIdentifier != "customers.csv" || st.DataProject != "customers-v3" ||
		len(st.Entities) != 1 || st.Entities[0].EntityName != "Customers V3" || st.Entities[0].Company != "USMF" ||
		st.Entities[0].TargetRecords != 10 || st.Started.IsZero() || st.Completed.IsZero() {
		t.Fatalf("JobStatus: %+v", st)
	}
	if _, err := c.JobStatus(ctx, activity, "00000000-0000-4000-8000-000000000000"); err == nil {
		t.Error("JobStatus of an unknown message: no error")
	}

	m, err := c.Dequeue(ctx, activity)
	if err != nil || m == nil {
		t.Fatalf("Dequeue: %v %v", m, err)
	}
	var zip bytes.Buffer
	if err := c.Download(ctx, m.DownloadLocation, &zip, 1<<20); err != nil || !bytes.HasPrefix(zip.Bytes(), []byte("PK")) {
		t.Fatalf("Download: %v (%d bytes)", err, zip.Len())
	}
	// Not acked: hidden for the visibility timeout, then back with a new receipt.
	if again, err := c.Dequeue(ctx, activity); err != nil || again != nil {
		t.Fatalf("Dequeue while hidden: %v %v", again, err)
	}
	time.Sleep(1100 * time.Millisecond)
	back, err := c.Dequeue(ctx, activity)
	if err != nil || back == nil || back.CorrelationID != m.CorrelationID || back.PopReceipt == m.PopReceipt {
		t.Fatalf("Dequeue after the visibility timeout: %+v %v (first %+v)", back, err, m)
	}
	if _, ok := back.Rest["LastDequeueDateTime"]; !ok {
		t.Errorf("a second dequeue carries no LastDequeueDateTime: %v", back.Rest)
	}
	if err := c.Ack(ctx, activity, m); err == nil || !strings.Contains(err.Error(), "PopReceipt") {
		t.Errorf("Ack with the stale receipt: %v", err)
	}
	if st, err := c.JobStatus(ctx, activity, back.CorrelationID); err != nil || st.State != d365.JobDownloaded {
		t.Errorf("JobStatus of the downloaded message: %+v %v, want Downloaded", st, err)
	}
	if err := c.Ack(ctx, activity, back); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if st, err := c.JobStatus(ctx, activity, back.CorrelationID); err != nil || st.State != d365.JobAcked {
		t.Errorf("JobStatus of the acked message: %+v %v, want Acked", st, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if gone, err := c.Dequeue(ctx, activity); err != nil || gone != nil {
		t.Errorf("Dequeue after the ack: %v %v", gone, err)
	}
}

// TestRISSequence drives the facade as RIS does (the request sequence of
// RIS' upload and download jobs): enqueue with entity, company and
// x-ms-dyn-externalidentifier, poll jobstatus until a final state; then
// dequeue until 204, download each DownloadLocation with the bearer
// token, ack with the dequeue's JSON.
func TestRISSequence(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"ris", "high", ""}))
	act := url.PathEscape("{" + activity + "}")
	auth := []string{"Authorization", "Bearer ris-token", "Accept", "application/json"}
	data := sample(t)
	// Upload job: enqueue each file of the input folder.
	var ids []string
	for _, name := range []string{"customers.csv", "customers-2.csv"} {
		body := data
		if name != "customers.csv" {
			body = bytes.ReplaceAll(data, []byte("US-0"), []byte("CA-0"))
		}
		code, _, b := e.do("POST", "/api/connector/enqueue/"+act+"?entity="+url.QueryEscape("Customers V3")+"&company=USMF", "", bytes.NewReader(body),
			append(auth, "x-ms-dyn-externalidentifier", name, "Content-Type", "application/octet-stream")...)
		var id string
		if code != 200 || json.Unmarshal(b, &id) != nil || len(id) != 36 {
			t.Fatalf("enqueue %s: %d %s, want a quoted GUID", name, code, b)
		}
		ids = append(ids, id)
	}
	// ProcessingMonitor: jobstatus until final.
	for _, id := range ids {
		var st struct {
			DataJobStatus struct {
				DataJobIdentifier, ExternalIdentifier, DataJobCompletedDateTime string
				DataJobState                                                    int
			}
			ExecutionDetail []struct{ EntityName, Company, TargetStatus string }
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			code, _, b := e.do("GET", "/api/connector/jobstatus/"+act+"?jobId="+id, "", nil, auth...)
			if code != 200 || json.Unmarshal(b, &st) != nil {
				t.Fatalf("jobstatus: %d %s", code, b)
			}
			if st.DataJobStatus.DataJobState >= 5 || time.Now().After(deadline) {
				break
			}
		}
		if st.DataJobStatus.DataJobState != 5 || st.DataJobStatus.DataJobIdentifier != id || st.DataJobStatus.DataJobCompletedDateTime == nullDate ||
			len(st.ExecutionDetail) != 1 || st.ExecutionDetail[0].Company != "USMF" || st.ExecutionDetail[0].TargetStatus != "Finished" {
			t.Errorf("jobstatus of %s: %+v", id, st)
		}
	}
	// Download job: dequeue until 204; download; ack.
	got := 0
	for range 10 {
		code, _, b := e.do("GET", "/api/connector/dequeue/"+act, "", nil, auth...)
		if code == http.StatusNoContent {
			break
		}
		var msg struct{ CorrelationId, PopReceipt, DownloadLocation string }
		if code != 200 || json.Unmarshal(b, &msg) != nil || msg.DownloadLocation == "" {
			t.Fatalf("dequeue: %d %s", code, b)
		}
		u, _ := url.Parse(msg.DownloadLocation)
		code, _, file := e.do("GET", u.RequestURI(), "", nil, auth...)
		if code != 200 || !bytes.HasPrefix(file, []byte("PK")) {
			t.Fatalf("download %s: %d", msg.DownloadLocation, code)
		}
		code, _, ab := e.do("POST", "/api/connector/ack/"+act, "", bytes.NewReader(b), append(auth, "Content-Type", "application/json")...)
		if code != 200 {
			t.Fatalf("ack: %d %s", code, ab)
		}
		got++
	}
	if got != 2 {
		t.Errorf("dequeued %d files, want 2", got)
	}
	// Bad requests are clear 4xx.
	for _, tc := range []struct {
		method, path, body string
		code               int
		says               string
	}{
		{"POST", "/api/connector/ack/" + act, "{not json", 400, "JSON the dequeue answered"},
		{"POST", "/api/connector/ack/" + act, `{"CorrelationId":"x"}`, 400, "PopReceipt"},
		{"POST", "/api/connector/ack/" + act, `{"CorrelationId":"00000000-0000-4000-8000-000000000000","PopReceipt":"p"}`, 400, "was not found"},
		{"GET", "/api/connector/dequeue/%7B00000000-0000-4000-8000-000000000000%7D", "", 400, "activity ID"},
		{"GET", "/api/connector/jobstatus/" + act + "?jobId=nothing", "", 400, "was not found"},
		{"GET", "/api/connector/download/" + act + "?correlation-id=x&blob=y", "", 404, "was not found"},
	} {
		code, _, b := e.do(tc.method, tc.path, "", strings.NewReader(tc.body), auth...)
		if code != tc.code || !strings.Contains(string(b), tc.says) {
			t.Errorf("%s %s %q: %d %s, want %d with %q", tc.method, tc.path, tc.body, code, b, tc.code, tc.says)
		}
	}
}

// A job still running when a dequeue looks is offered once it ends, even
// though later jobs were offered before it: the dequeue's mark does not
// pass a job that has not ended.
func TestDequeueAfterSlowJob(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"c", "high", ""}))
	ctx := context.Background()
	j := e.svc.Journal()
	out := filepath.Join(t.TempDir(), "out.zip")
	os.WriteFile(out, []byte("PK fake"), 0o644)
	now := time.Now()
	slow := &jobs.Job{ID: "20990101-000001-aaaaaa", Pipeline: "customers-v3", Input: "slow.csv", Status: jobs.Processing, Created: now.Add(time.Second)}
	quick := &jobs.Job{ID: "20990101-000002-bbbbbb", Pipeline: "customers-v3", Input: "quick.csv", Status: jobs.Processed, Created: now.Add(2 * time.Second),
		Finished: now, Outputs: []jobs.Output{{Name: "quick.zip", Location: out}}}
	for _, job := range []*jobs.Job{slow, quick} {
		if err := j.Put(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	act := url.PathEscape("{" + activity + "}")
	dequeue := func() string {
		code, _, b := e.do("GET", "/api/connector/dequeue/"+act, "c-token", nil)
		if code == 204 {
			return ""
		}
		var m struct{ CorrelationId, PopReceipt string }
		json.Unmarshal(b, &m)
		if code, _, ab := e.do("POST", "/api/connector/ack/"+act, "c-token", bytes.NewReader(b)); code != 200 {
			t.Fatalf("ack: %d %s", code, ab)
		}
		q, _ := j.QueuedMessage(ctx, workspace.NormActivity(activity), m.CorrelationId)
		return q.Job
	}
	if got := dequeue(); got != quick.ID {
		t.Fatalf("first dequeue: job %q, want %s", got, quick.ID)
	}
	if got := dequeue(); got != "" {
		t.Fatalf("second dequeue: job %q, want none", got)
	}
	slow.Status, slow.Finished, slow.Outputs = jobs.Processed, time.Now(), []jobs.Output{{Name: "slow.zip", Location: out}}
	if err := j.Put(ctx, slow); err != nil {
		t.Fatal(err)
	}
	if got := dequeue(); got != slow.ID {
		t.Errorf("after the slow job ended: job %q, want %s", got, slow.ID)
	}
}
