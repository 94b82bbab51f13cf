// Package d365 is a destination that imports data packages into Dynamics
// 365 Finance & Operations through its data management package API:
// GetAzureWriteUrl, a PUT of the package to the blob it names,
// ImportFromPackage into a data project, then GetExecutionSummaryStatus
// until the execution ends, and its errors when it did not succeed.
//
// A package is imported once, also across crashes and retries. Its
// execution id is chosen by erpipe from the job and the package's SHA-256
// (D365 takes the id it is given), and written to the destination's state
// folder before ImportFromPackage is called; a Put asks D365 for that
// execution's status before anything else, and imports only when D365
// does not know it and no import was ever asked for. Imports into one data
// project never run at once from one erpipe, and one that D365 refuses
// because the project is busy (DMF2025) waits for it.
//
// While D365 runs the import, Put waits up to Options.Wait, then returns a
// transient error saying so: the job stays Processing with that as what it
// waits for, and the next try asks for the status again. A succeeded
// execution is a delivered output; a partly succeeded one is delivered
// with its errors (outbox.PartialError: the job ends ProcessedWithErrors);
// a failed, canceled or lost one fails the job with D365's errors. The
// staging error files of an execution with errors are written beside the
// job's report (Options.ErrorDir).
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

// Options configure a destination.
type Options struct {
	Client *d365.Client
	// DefinitionGroup is the data project the package is imported into.
	DefinitionGroup string
	// LegalEntity is the company (DataAreaId), e.g. USMF.
	LegalEntity string
	// Overwrite lets the package's manifest replace the project's
	// definition (D365's overwrite); leave it false for an existing project.
	Overwrite bool
	// StateDir keeps the imports asked for, so that a restart never asks
	// twice. Required.
	StateDir string
	// ErrorDir, when set, receives the staging error files of executions
	// with errors.
	ErrorDir string
	// Wait is how long a Put waits for a running import before it says
	// the job waits for D365 (default 2m); Poll how often it asks
	// meanwhile (default 5s).
	Wait, Poll time.Duration
	// NotFoundGrace is how long an execution D365 does not know yet, after
	// its import was asked for, is taken as not started rather than lost
	// (default 10m).
	NotFoundGrace time.Duration
}

// Destination imports packages into a D365 data project.
type Destination struct {
	o Options
}

// New makes a destination.
func New(o Options) (*Destination, error) {
	switch {
	case o.Client == nil:
		return nil, errors.New("d365 destination: no client")
	case o.DefinitionGroup == "":
		return nil, errors.New("d365 destination: say which data project to import into (definition_group)")
	case o.StateDir == "":
		return nil, errors.New("d365 destination: no state folder")
	}
	if o.Wait <= 0 {
		o.Wait = 2 * time.Minute
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

// String names the destination: the environment and the project.
func (d *Destination) String() string {
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
// the execution's location, "<environment>/executions/<id>".
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
	if status, err = d.await(ctx, id, status); err != nil {
		return "", err
	}
	return d.outcome(ctx, id, loc, name, pkg, status)
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
	f, err := os.OpenFile(filepath.Join(d.o.StateDir, id), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(time.Now().UTC().Format(time.RFC3339) + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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

// await polls the execution until it ends or Wait has passed.
func (d *Destination) await(ctx context.Context, id string, status d365.ExecutionStatus) (d365.ExecutionStatus, error) {
	deadline := time.Now().Add(d.o.Wait)
	for !status.Final() {
		if time.Now().After(deadline) {
			return status, &waitingError{msg: fmt.Sprintf("D365 is importing execution %s (%s)", id, status)}
		}
		t := time.NewTimer(d.o.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return status, ctx.Err()
		case <-t.C:
		}
		s, err := d.o.Client.Status(ctx, id)
		switch {
		case errors.Is(err, d365.ErrNotFound):
			s = d365.StatusNotRun // not there yet, just after the import
		case err != nil:
			return status, err
		}
		status = s
	}
	return status, nil
}

// outcome turns an ended execution into the Put's result.
func (d *Destination) outcome(ctx context.Context, id, loc, name string, pkg []byte, status d365.ExecutionStatus) (string, error) {
	if status == d365.StatusSucceeded {
		return loc, nil
	}
	var problems []string
	msgs, err := d.o.Client.ExecutionErrors(ctx, id)
	if err != nil {
		problems = append(problems, "the execution's errors could not be read: "+err.Error())
	}
	problems = append(problems, msgs...)
	problems = append(problems, d.errorFiles(ctx, id, name, pkg)...)
	what := fmt.Sprintf("D365 execution %s of %s in project %q: %s", id, name, d.o.DefinitionGroup, status)
	if status == d365.StatusPartiallySucceeded {
		return loc, &outbox.PartialError{Location: loc, Problems: append([]string{what}, problems...)}
	}
	if len(problems) == 0 {
		problems = []string{"D365 gave no error message; see the execution in Data management"}
	}
	return "", fmt.Errorf("%s: %s", what, strings.Join(problems, "; "))
}

// errorFiles fetches the staging error file of each entity of the package
// into ErrorDir, and says where each went.
func (d *Destination) errorFiles(ctx context.Context, id, name string, pkg []byte) []string {
	p, err := dmf.OpenReader(bytes.NewReader(pkg), int64(len(pkg)), name)
	if err != nil {
		return nil
	}
	defer p.Close()
	var out []string
	for _, e := range p.Entities {
		u, err := d.o.Client.StagingErrorFileURL(ctx, id, e.Name)
		if err != nil || u == "" || d.o.ErrorDir == "" {
			continue
		}
		path := filepath.Join(d.o.ErrorDir, strings.TrimSuffix(name, filepath.Ext(name))+"."+safe(e.Name)+".staging-errors.csv")
		if err := d.download(ctx, u, path); err != nil {
			out = append(out, fmt.Sprintf("%s: the staging error file could not be fetched: %v", e.Name, err))
			continue
		}
		out = append(out, fmt.Sprintf("%s: rows D365 refused are in %s", e.Name, path))
	}
	return out
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
