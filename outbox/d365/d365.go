// Package d365 is a destination that imports data packages and files into
// Dynamics 365 Finance & Operations, in one of two modes.
//
// In package mode (the default) it uses the data management package API:
// GetAzureWriteUrl, a PUT of the package to the blob it names,
// ImportFromPackage into a data project, then GetExecutionSummaryStatus
// until the execution ends, and its errors when it did not succeed. A
// package is imported once, also across crashes and retries. Its
// execution id is chosen by erpipe from the job and the package's SHA-256
// (D365 takes the id it is given), and written to the destination's state
// folder before ImportFromPackage is called; a Put asks D365 for that
// execution's status before anything else, and imports only when D365
// does not know it and no import was ever asked for. Imports into one data
// project never run at once from one erpipe, and one that D365 refuses
// because the project is busy (DMF2025) waits for it.
//
// In recurring mode it enqueues the package (or, for a File job, the file)
// to a recurring data job through the recurring integrations API, with the
// same deterministic id as its external identifier (x-ms-dyn-
// externalidentifier), and follows the message with jobstatus until D365
// has processed it. The intent is written to the state folder before the
// enqueue and the message ID D365 answers right after it; a Put with a
// recorded message ID never enqueues again but asks for its status. That
// API cannot be asked for a message by its external identifier, so a crash
// between D365's answer and the record of the message ID (a moment, kept as
// short as erpipe can), or an enqueue whose answer was lost, leaves an
// intent without a message ID: the Put then refuses, naming the external
// identifier to look for in D365's Manage messages page, rather than risk
// importing twice.
//
// While D365 runs the import, Put waits up to Options.Wait, then returns a
// transient error saying so: the job stays Processing with that as what it
// waits for, and the next try asks for the status again. A succeeded
// execution (a Processed message) is a delivered output; a partly
// succeeded one (ProcessedWithErrors) is delivered with its errors
// (outbox.PartialError: the job ends ProcessedWithErrors); a failed,
// canceled or lost one (a pre- or post-processing error) fails the job with
// D365's errors. The staging error files of an execution with errors are
// written beside the job's report (Options.ErrorDir).
package d365

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/outbox"
)

// The modes of a destination.
const (
	ModePackage   = "package"   // the data management package API
	ModeRecurring = "recurring" // the recurring integrations API
)

// Options configure a destination.
type Options struct {
	Client *d365.Client
	// Mode is ModePackage (the default) or ModeRecurring.
	Mode string
	// DefinitionGroup is the data project the package is imported into
	// (package mode).
	DefinitionGroup string
	// ActivityID is the recurring data job's activity ID, a GUID with or
	// without braces (recurring mode).
	ActivityID string
	// Entity is the entity's label for a recurring File job; leave it
	// empty for a Data package job (recurring mode).
	Entity string
	// Company is the legal entity a recurring job imports into; empty: the
	// job's own (recurring mode).
	Company string
	// LegalEntity is the company (DataAreaId), e.g. USMF (package mode).
	LegalEntity string
	// Overwrite lets the package's manifest replace the project's
	// definition (D365's overwrite); leave it false for an existing project.
	Overwrite bool
	// StateDir keeps the imports and enqueues asked for, so that a restart
	// never asks twice. Required.
	StateDir string
	// ErrorDir, when set, receives the staging error files of executions
	// with errors.
	ErrorDir string
	// Wait is how long a Put waits for a running import (or message)
	// before it says the job waits for D365 (default 2m); Poll how often
	// it asks meanwhile (default 5s).
	Wait, Poll time.Duration
	// KeysWait is how long D365 may take to write a target error keys
	// file (default 1m).
	KeysWait time.Duration
	// NotFoundGrace is how long an execution (or message) D365 does not
	// know yet, after its import was asked for, is taken as not started
	// rather than lost (default 10m).
	NotFoundGrace time.Duration
}

// Destination imports packages into a D365 data project.
type Destination struct {
	o Options
}

// New makes a destination.
func New(o Options) (*Destination, error) {
	if o.Mode == "" {
		o.Mode = ModePackage
	}
	switch {
	case o.Client == nil:
		return nil, errors.New("d365 destination: no client")
	case o.Mode != ModePackage && o.Mode != ModeRecurring:
		return nil, fmt.Errorf("d365 destination: mode %q is not known; use package (the data management package API) or recurring (a recurring data job)", o.Mode)
	case o.Mode == ModePackage && o.DefinitionGroup == "":
		return nil, errors.New("d365 destination: say which data project to import into (definition_group)")
	case o.Mode == ModeRecurring && strings.Trim(o.ActivityID, "{} ") == "":
		return nil, errors.New("d365 destination: say which recurring data job to enqueue to (activity_id: the GUID on Manage scheduled data jobs)")
	case o.StateDir == "":
		return nil, errors.New("d365 destination: no state folder")
	}
	if o.Wait <= 0 {
		o.Wait = 2 * time.Minute
	}
	if o.KeysWait <= 0 {
		o.KeysWait = time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.NotFoundGrace <= 0 {
		o.NotFoundGrace = 10 * time.Minute
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	return &Destination{o: o}, nil
}

// String names the destination: the environment and the project, or the
// recurring data job.
func (d *Destination) String() string {
	if d.o.Mode == ModeRecurring {
		s := fmt.Sprintf("d365 %s recurring job %s", d.o.Client.Environment(), d.o.ActivityID)
		if d.o.Entity != "" {
			s += fmt.Sprintf(" entity %q", d.o.Entity)
		}
		if d.o.Company != "" {
			s += " company " + d.o.Company
		}
		return s
	}
	s := fmt.Sprintf("d365 %s project %q", d.o.Client.Environment(), d.o.DefinitionGroup)
	if d.o.LegalEntity != "" {
		s += " company " + d.o.LegalEntity
	}
	return s
}

// Put imports the package r holds. Without the job's metadata its execution
// id is made from the content alone.
func (d *Destination) Put(ctx context.Context, name string, r io.Reader, size int64) (string, error) {
	return d.PutMeta(ctx, name, r, size, nil)
}

// PutMeta imports the package r holds (see the package comment) and returns
// the execution's location, "<environment>/executions/<id>", or in
// recurring mode the message's, "<environment>/messages/<message ID>".
func (d *Destination) PutMeta(ctx context.Context, name string, r io.Reader, size int64, meta map[string]string) (string, error) {
	pkg, err := readPackage(r, size)
	if err != nil {
		return "", err
	}
	sum := meta[outbox.MetaSHA256]
	if sum == "" {
		h := sha256.Sum256(pkg)
		sum = hex.EncodeToString(h[:])
	}
	id := executionID(meta[outbox.MetaJob], sum)
	if d.o.Mode == ModeRecurring {
		return d.putRecurring(ctx, meta[outbox.MetaJob], id, name, pkg)
	}
	loc := d.o.Client.Environment() + "/executions/" + id

	status, err := d.o.Client.Status(ctx, id)
	switch {
	case errors.Is(err, d365.ErrNotFound):
		asked, at := d.asked(id)
		if !asked {
			// One import into the project at a time from this erpipe, to
			// its end; D365 itself refuses a second (DMF2025).
			unlock, ok := d.tryLock()
			if !ok {
				return "", &waitingError{msg: fmt.Sprintf("another import into data project %q is running; %s waits for it", d.o.DefinitionGroup, name)}
			}
			defer unlock()
			if err := d.importPackage(ctx, id, name, pkg); err != nil {
				return "", err
			}
		} else if time.Since(at) > d.o.NotFoundGrace {
			return "", fmt.Errorf("d365: the import of %s was asked for at %s (execution %s) and D365 does not know it; look in Data management whether it ran, then retry the job", name, at.Format(time.RFC3339), id)
		}
		status = d365.StatusNotRun
	case err != nil:
		return "", err
	}
	err = d.await(ctx, func(first bool) (bool, string, error) {
		if !first {
			s, err := d.o.Client.Status(ctx, id)
			switch {
			case errors.Is(err, d365.ErrNotFound):
				s = d365.StatusNotRun // not there yet, just after the import
			case err != nil:
				return false, "", err
			}
			status = s
		}
		return status.Final(), fmt.Sprintf("D365 is importing execution %s (%s)", id, status), nil
	})
	if err != nil {
		return "", err
	}
	e := ending{
		ok: status == d365.StatusSucceeded, partial: status == d365.StatusPartiallySucceeded, loc: loc,
		what:     fmt.Sprintf("D365 execution %s of %s in project %q: %s", id, name, d.o.DefinitionGroup, status),
		execID:   id,
		entities: packageEntities(pkg, name),
		where:    "the execution in Data management",
	}
	if !e.ok {
		// The counts per entity, as the execution summary page shows them.
		if ens, err := d.o.Client.EntityStatuses(ctx, id); err == nil {
			_, e.detail = entityCounts(ens)
		}
	}
	return d.outcome(ctx, name, e)
}

// readPackage reads the package whole: packages are uploaded in one PUT
// and read again for their entities' names. A package's size is bounded
// by the job's output limits.
func readPackage(r io.Reader, size int64) ([]byte, error) {
	var b bytes.Buffer
	if size > 0 {
		b.Grow(int(min(size, 1<<30)))
	}
	n, err := io.Copy(&b, r)
	if err != nil {
		return nil, err
	}
	if size >= 0 && n != size {
		return nil, fmt.Errorf("d365: read %d bytes, want %d", n, size)
	}
	return b.Bytes(), nil
}

// executionID is the execution id of a package: the job's id and the
// package's SHA-256, so that a retry finds the execution it made.
func executionID(job, sum string) string {
	if job == "" {
		job = "put"
	}
	return "erpipe-" + job + "-" + sum[:min(16, len(sum))]
}

// groups keeps imports into one data project from running at once.
var groups sync.Map // environment + project → *sync.Mutex

func (d *Destination) tryLock() (unlock func(), ok bool) {
	m, _ := groups.LoadOrStore(d.o.Client.Environment()+"\x00"+strings.ToLower(d.o.DefinitionGroup), new(sync.Mutex))
	mu := m.(*sync.Mutex)
	if !mu.TryLock() {
		return nil, false
	}
	return mu.Unlock, true
}

// importPackage uploads pkg and asks D365 to import it as execution id,
// having recorded that it asks. An expired blob URL is asked for anew. A
// project busy with another execution (DMF2025, also one that another
// system started) is waited for.
func (d *Destination) importPackage(ctx context.Context, id, name string, pkg []byte) error {
	var blob string
	for try := 0; ; try++ {
		var err error
		if blob, err = d.o.Client.WriteURL(ctx, id); err != nil {
			return err
		}
		err = d.o.Client.Upload(ctx, blob, func() (io.Reader, error) { return bytes.NewReader(pkg), nil }, int64(len(pkg)))
		if err == nil {
			break
		}
		if !errors.Is(err, d365.ErrSASExpired) || try == 2 {
			return err
		}
	}
	if err := d.record(id); err != nil {
		return err
	}
	_, err := d.o.Client.ImportFromPackage(ctx, d365.Import{PackageURL: blob, DefinitionGroup: d.o.DefinitionGroup,
		ExecutionID: id, Execute: true, Overwrite: d.o.Overwrite, LegalEntity: d.o.LegalEntity})
	var e *d365.Error
	if errors.As(err, &e) && e.Status/100 == 4 && e.Status != 408 && e.Status != 429 {
		// Refused: nothing was imported, and a retry may ask again.
		os.Remove(filepath.Join(d.o.StateDir, id))
		if strings.Contains(e.Body, "DMF2025") {
			return &waitingError{msg: fmt.Sprintf("data project %q is busy with another execution (DMF2025); %s waits for it", d.o.DefinitionGroup, name)}
		}
	}
	if err != nil {
		return fmt.Errorf("import %s into project %q: %w", name, d.o.DefinitionGroup, err)
	}
	return nil
}

// record writes, durably, that the import of execution id is being asked
// for.
func (d *Destination) record(id string) error {
	return writeState(filepath.Join(d.o.StateDir, id), time.Now().UTC().Format(time.RFC3339)+"\n")
}

// writeState writes a state file durably and whole: a temporary file,
// synced, renamed over path, and the folder synced.
func writeState(path, content string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// asked reports whether the import of execution id was asked for, and when.
func (d *Destination) asked(id string) (bool, time.Time) {
	b, err := os.ReadFile(filepath.Join(d.o.StateDir, id))
	if err != nil {
		return false, time.Time{}
	}
	at, _ := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	return true, at
}

// waitingError is an import that runs or waits for the project: transient,
// so the job waits.
type waitingError struct{ msg string }

func (e *waitingError) Error() string   { return e.msg }
func (e *waitingError) Temporary() bool { return true }
func (e *waitingError) Busy() bool      { return true } // D365 works on it: not an outage

// await asks check until it says D365 is done, or Wait has passed: then a
// transient error says what check last said D365 is doing, and the job
// waits for it. The first call (first is true) comes at once, the others
// every Poll.
func (d *Destination) await(ctx context.Context, check func(first bool) (done bool, doing string, err error)) error {
	deadline := time.Now().Add(d.o.Wait)
	for first := true; ; first = false {
		done, doing, err := check(first)
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return &waitingError{msg: doing}
		}
		t := time.NewTimer(d.o.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ending is how D365 ended an import, in either mode.
type ending struct {
	ok, partial bool     // succeeded; delivered with errors (else failed)
	loc         string   // the output's location
	what        string   // the import and its outcome, as D365 said it
	execID      string   // the execution whose errors and error files to fetch
	entities    []string // the entities whose staging error files to fetch
	detail      []string // what D365 said besides the execution's errors (counts per entity)
	log         []string // D365's log, said when the execution's errors say nothing
	where       string   // where in D365 to look when it said nothing
}

// outcome turns an ended import into the Put's result: its location, a
// PartialError with D365's errors and the error files fetched, or an
// error saying why it failed.
func (d *Destination) outcome(ctx context.Context, name string, e ending) (string, error) {
	if e.ok {
		return e.loc, nil
	}
	problems := append([]string(nil), e.detail...)
	var msgs []string
	if e.execID != "" {
		var err error
		if msgs, err = d.o.Client.ExecutionErrors(ctx, e.execID); err != nil {
			problems = append(problems, "the execution's errors could not be read: "+err.Error())
		}
	}
	if len(msgs) == 0 {
		msgs = e.log
	}
	problems = append(problems, msgs...)
	if e.execID != "" {
		problems = append(problems, d.errorFiles(ctx, e.execID, name, e.entities)...)
	}
	if e.partial {
		return e.loc, &outbox.PartialError{Location: e.loc, Problems: append([]string{e.what}, problems...)}
	}
	if len(problems) == 0 {
		problems = []string{"D365 gave no error message; see " + e.where}
	}
	return "", fmt.Errorf("%s: %s", e.what, strings.Join(problems, "; "))
}

// packageEntities are the names of the entities of a package, none when
// it cannot be read.
func packageEntities(pkg []byte, name string) []string {
	p, err := dmf.OpenReader(bytes.NewReader(pkg), int64(len(pkg)), name)
	if err != nil {
		return nil
	}
	defer p.Close()
	var out []string
	for _, e := range p.Entities {
		out = append(out, e.Name)
	}
	return out
}

// errorFiles fetches, for each entity of execution id, the staging error
// file (the rows that did not reach staging) and the target error keys
// file (the keys of the rows that went no further than staging) into
// ErrorDir, and says where each went.
func (d *Destination) errorFiles(ctx context.Context, id, name string, entities []string) []string {
	if d.o.ErrorDir == "" {
		return nil
	}
	var out []string
	base := filepath.Join(d.o.ErrorDir, strings.TrimSuffix(name, filepath.Ext(name)))
	for _, entity := range entities {
		if u, err := d.o.Client.StagingErrorFileURL(ctx, id, entity); err == nil && u != "" {
			path := base + "." + safe(entity) + ".staging-errors.csv"
			if err := d.download(ctx, u, path); err != nil {
				out = append(out, fmt.Sprintf("%s: the staging error file could not be fetched: %v", entity, err))
			} else {
				out = append(out, fmt.Sprintf("%s: rows D365 refused are in %s", entity, path))
			}
		}
		u, err := d.targetKeysURL(ctx, id, entity)
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("%s: the target error keys file could not be had: %v", entity, err))
		case u != "":
			path := base + "." + safe(entity) + ".target-error-keys.csv"
			if err := d.download(ctx, u, path); err != nil {
				out = append(out, fmt.Sprintf("%s: the target error keys file could not be fetched: %v", entity, err))
			} else {
				out = append(out, fmt.Sprintf("%s: the keys of rows that reached staging but not the target are in %s", entity, path))
			}
		}
	}
	return out
}

// targetKeysURL asks D365 to write the target error keys file of entity
// (GenerateImportTargetErrorKeysFile) and waits, at most KeysWait, for
// its URL (GetImportTargetErrorKeysFileUrl answers "" while it is being
// written). It returns "" when the entity has no target errors.
func (d *Destination) targetKeysURL(ctx context.Context, id, entity string) (string, error) {
	exist, err := d.o.Client.GenerateTargetErrorKeys(ctx, id, entity)
	if err != nil || !exist {
		return "", err
	}
	deadline := time.Now().Add(d.o.KeysWait)
	for {
		u, err := d.o.Client.TargetErrorKeysFileURL(ctx, id, entity)
		if err != nil || u != "" {
			return u, err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("D365 did not write it within %s; get it from the execution's page in Data management", d.o.KeysWait)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(min(d.o.Poll, time.Second)):
		}
	}
}

func (d *Destination) download(ctx context.Context, u, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := d.o.Client.Download(ctx, u, f, 256<<20); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// safe makes an entity label a file name part.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, s)
}
