package d365_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/outbox"
	outd365 "github.com/erpipe/erpipe/outbox/d365"
)

var importActivity = emulator.DefaultActivities[0] // a Data package job

func newRecurring(t *testing.T, c *d365.Client, o outd365.Options) *outd365.Destination {
	t.Helper()
	o.Client, o.Mode = c, outd365.ModeRecurring
	if o.ActivityID == "" {
		o.ActivityID = importActivity.ID
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(t.TempDir(), "state")
	}
	if o.Poll == 0 {
		o.Poll = 50 * time.Millisecond
	}
	if o.Wait == 0 {
		o.Wait = 20 * time.Second
	}
	d, err := outd365.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// externalID is the external identifier a job's package is enqueued with.
func externalID(job string, pkg []byte) string {
	sum := sha256.Sum256(pkg)
	return "erpipe-" + job + "-" + hex.EncodeToString(sum[:])[:16]
}

// TestRecurringOnce: a package is enqueued to the recurring data job once,
// with the job's deterministic id as its external identifier and the
// company; the message is followed to Processed, and its location names
// it. A second put of the same job's package enqueues nothing again.
func TestRecurringOnce(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{})
	d := newRecurring(t, c, outd365.Options{Company: "USMF"})
	pkg := customersPackage(t)
	loc, err := put(d, "20261207-080000-raaaaa", pkg)
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ExternalIdentifier != externalID("20261207-080000-raaaaa", pkg) || m.Company != "USMF" || m.Entity != "" ||
		m.State != emulator.StateProcessed || loc != c.Environment()+"/messages/"+m.ID {
		t.Errorf("put: %s; message %s external %q company %q entity %q state %d", loc, m.ID, m.ExternalIdentifier, m.Company, m.Entity, m.State)
	}
	loc2, err := put(d, "20261207-080000-raaaaa", pkg)
	if err != nil || loc2 != loc {
		t.Fatalf("the same put again: %q, %v; want %q", loc2, err, loc)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages after the second put, want 1", n)
	}
	if !strings.Contains(d.String(), "recurring job "+importActivity.ID) || !strings.Contains(d.String(), "company USMF") {
		t.Errorf("String() = %s", d)
	}
}

// TestRecurringRetryPolls: a message that outlasts the put's wait leaves
// the job waiting for D365; a destination started again on the same state
// folder (a restart) finds the recorded message ID and asks for its status,
// never enqueuing again.
func TestRecurringRetryPolls(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{ExecuteTime: 3 * time.Second})
	state := filepath.Join(t.TempDir(), "state")
	pkg := customersPackage(t)
	d := newRecurring(t, c, outd365.Options{StateDir: state, Poll: 100 * time.Millisecond, Wait: 500 * time.Millisecond})
	_, err := put(d, "20261207-080000-rbbbbb", pkg)
	if !outbox.IsTransient(err) || !strings.Contains(err.Error(), "D365 is processing message") {
		t.Fatalf("first put: %v, want a transient 'D365 is processing message'", err)
	}
	d = newRecurring(t, c, outd365.Options{StateDir: state, Poll: 100 * time.Millisecond, Wait: 500 * time.Millisecond})
	deadline := time.Now().Add(20 * time.Second)
	var loc string
	for {
		loc, err = put(d, "20261207-080000-rbbbbb", pkg)
		if err == nil || !outbox.IsTransient(err) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || !strings.HasSuffix(loc, "/messages/"+msgs[0].ID) {
		t.Fatalf("%d messages (%+v), location %s; want one, named", len(msgs), msgs, loc)
	}
	enqueues := 0
	for _, r := range s.Requests() {
		if strings.Contains(r.Path, "/api/connector/enqueue/") {
			enqueues++
		}
	}
	if enqueues != 1 {
		t.Errorf("%d enqueue requests, want 1", enqueues)
	}
}

// TestRecurringProcessedWithErrors: rows D365 refuses make the put a
// PartialError with the message, the per-entity staging and target counts,
// the execution's errors and the staging error file, which is fetched.
func TestRecurringProcessedWithErrors(t *testing.T) {
	_, c := startEmulator(t, emulator.Options{})
	errDir := t.TempDir()
	d := newRecurring(t, c, outd365.Options{ErrorDir: errDir})
	_, err := put(d, "20261207-080000-rccccc", customersPackage(t, "FAIL-001"))
	var partial *outbox.PartialError
	if !errors.As(err, &partial) {
		t.Fatalf("put: %v, want a PartialError", err)
	}
	if !strings.Contains(partial.Location, "/messages/") {
		t.Errorf("location %s", partial.Location)
	}
	text := strings.Join(partial.Problems, "\n")
	for _, want := range []string{"ProcessedWithErrors", "Customers V3", "1 with errors (Error); target", "FAIL-001", "staging-errors.csv"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems do not say %q:\n%s", want, text)
		}
	}
	files, _ := filepath.Glob(filepath.Join(errDir, "customers.*.staging-errors.csv"))
	if len(files) != 1 {
		t.Fatalf("staging error files: %v", files)
	}
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), "FAIL-001") {
		t.Errorf("the staging error file does not hold the refused row:\n%s", b)
	}
}

// TestRecurringFileJob: a File job gets the file with its entity's label.
func TestRecurringFileJob(t *testing.T) {
	fileJob := emulator.Activity{ID: "{2A5D7C1E-3B4F-4E6A-8C9D-0F1E2D3C4B5A}", DataProject: "Recurring file"}
	s, c := startEmulator(t, emulator.Options{Activities: []emulator.Activity{fileJob}})
	d := newRecurring(t, c, outd365.Options{ActivityID: strings.Trim(fileJob.ID, "{}"), Entity: "Customers V3", Company: "USMF"})
	file := []byte("CUSTOMERACCOUNT,NAME\r\nUS-1,Contoso\r\n")
	if _, err := put(d, "20261207-080000-rddddd", file); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(); len(m) != 1 || m[0].Entity != "Customers V3" || m[0].State != emulator.StateProcessed {
		t.Errorf("messages %+v", m)
	}
}

// TestRecurringPreProcessError: a package D365 cannot read fails the put,
// permanently, with D365's message.
func TestRecurringPreProcessError(t *testing.T) {
	_, c := startEmulator(t, emulator.Options{})
	d := newRecurring(t, c, outd365.Options{})
	bad := withoutEntry(t, customersPackage(t), "PackageHeader.xml")
	_, err := put(d, "20261207-080000-reeeee", bad)
	if err == nil || outbox.IsTransient(err) || !strings.Contains(err.Error(), "PreProcessError") || !strings.Contains(err.Error(), "PackageHeader.xml") {
		t.Fatalf("put of a package without its header: %v", err)
	}
}

// TestRecurringThrottling: every 429 is waited out as its Retry-After says,
// also on the enqueue, which is then sent once.
func TestRecurringThrottling(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{})
	d := newRecurring(t, c, outd365.Options{})
	s.Throttle(3, time.Second)
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 429, Count: 2, RetryAfter: time.Second, RetryAfterDate: true})
	if _, err := put(d, "20261207-080000-rfffff", customersPackage(t)); err != nil {
		t.Fatal(err)
	}
	if early := s.EarlyRequests(); len(early) != 0 {
		t.Errorf("requests sent before their Retry-After: %+v", early)
	}
	throttled := 0
	for _, r := range s.Requests() {
		if r.Status == 429 {
			throttled++
		}
	}
	if throttled != 5 || len(s.Messages()) != 1 {
		t.Errorf("%d throttled answers, %d messages; want 5 and 1", throttled, len(s.Messages()))
	}
}

// TestRecurringUnknownMessage: an enqueue asked for whose message ID erpipe
// never learned (a crash mid-enqueue, an answer lost to a server error) is
// not sent again: the put fails, naming the external identifier to look
// for in Manage messages and how to retry the job if there is none; with
// its state file deleted, the same job would enqueue.
func TestRecurringUnknownMessage(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{})
	state := filepath.Join(t.TempDir(), "state")
	d := newRecurring(t, c, outd365.Options{StateDir: state})
	pkg := customersPackage(t)
	ext := externalID("20261207-080000-rggggg", pkg)

	// A crash mid-enqueue: the intent, no message ID.
	if err := os.WriteFile(filepath.Join(state, ext+".enqueue"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := put(d, "20261207-080000-rggggg", pkg)
	if err == nil || outbox.IsTransient(err) || !strings.Contains(err.Error(), "Manage messages") || !strings.Contains(err.Error(), ext) ||
		!strings.Contains(err.Error(), "erpipe retry 20261207-080000-rggggg") {
		t.Fatalf("put after a crash mid-enqueue: %v", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages, want none", n)
	}

	// A server error on the enqueue: maybe enqueued, not sent again.
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: 502, Count: 1})
	_, err = put(d, "20261207-080000-rhhhhh", pkg)
	if err == nil || outbox.IsTransient(err) || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "Manage messages") {
		t.Fatalf("put whose enqueue got a 502: %v", err)
	}
	if _, err = put(d, "20261207-080000-rhhhhh", pkg); err == nil || !strings.Contains(err.Error(), "Manage messages") {
		t.Fatalf("the put again: %v", err)
	}

	// There is none in D365: the administrator deletes the state file.
	if err := os.Remove(filepath.Join(state, ext+".enqueue")); err != nil {
		t.Fatal(err)
	}
	if _, err := put(d, "20261207-080000-rggggg", pkg); err != nil {
		t.Fatalf("after the state file was deleted: %v", err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// TestRecurringRefused: an enqueue D365 refuses took nothing: the put fails
// with D365's message and a retry may enqueue.
func TestRecurringRefused(t *testing.T) {
	s, c := startEmulator(t, emulator.Options{})
	state := filepath.Join(t.TempDir(), "state")
	d := newRecurring(t, c, outd365.Options{StateDir: state, ActivityID: "{00000000-0000-0000-0000-000000000000}"})
	pkg := customersPackage(t)
	_, err := put(d, "20261207-080000-riiiii", pkg)
	if err == nil || !strings.Contains(err.Error(), "was not found") {
		t.Fatalf("enqueue to an unknown activity: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(state, "*.enqueue")); len(left) != 0 {
		t.Errorf("a refused enqueue left %v", left)
	}
	d = newRecurring(t, c, outd365.Options{StateDir: state})
	if _, err := put(d, "20261207-080000-riiiii", pkg); err != nil || len(s.Messages()) != 1 {
		t.Errorf("the retry: %v, %d messages", err, len(s.Messages()))
	}
}

func TestNewRecurringRefuses(t *testing.T) {
	_, c := startEmulator(t, emulator.Options{})
	for _, c := range []struct {
		o    outd365.Options
		want string
	}{
		{outd365.Options{Client: c, Mode: "queue", StateDir: t.TempDir()}, `mode "queue"`},
		{outd365.Options{Client: c, Mode: "recurring", StateDir: t.TempDir()}, "activity_id"},
		{outd365.Options{Client: c, Mode: "recurring", ActivityID: "{}", StateDir: t.TempDir()}, "activity_id"},
		{outd365.Options{Client: c, StateDir: t.TempDir()}, "definition_group"},
	} {
		if _, err := outd365.New(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want an error naming %s", c.o, err, c.want)
		}
	}
}
