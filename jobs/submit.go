package jobs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/erpipe/erpipe/inbox"
	"github.com/erpipe/erpipe/workspace"
)

// Inputs sent over HTTP (package api) are not dropped into an inbox: the
// API streams each to a file of its own under UploadDir, on the same file
// system as claimed/, and Submit claims that file as the watcher's files
// are claimed (a rename into claimed/<pipeline>/<job>/), records its job,
// and hands it to the daemon's workers. From there it is a job like any
// other: the same duplicate check, template, destinations and filing.

// Upload is an input received over HTTP, complete on disk.
type Upload struct {
	Pipeline string
	// Path is the file, in a folder of its own under UploadDir, named as
	// the input is to be named (the client's file name, made safe).
	Path string
	// SHA256 is the body's, computed while it was received; with Key it
	// tells a retried upload from another body under the same key.
	SHA256 string
	// Client is who sent it ("" when the API is open), Key its
	// Idempotency-Key ("" none).
	Client, Key string
	// The recurring-integrations facade's: the message ID it answers,
	// the activity, entity, company and x-ms-dyn-externalidentifier.
	MessageID, Activity, Entity, Company, ExternalID string
}

// KeyConflictError is an Idempotency-Key sent again with another body.
type KeyConflictError struct {
	Key string
	Job string // the job of the first upload under the key
}

func (e *KeyConflictError) Error() string {
	return fmt.Sprintf("Idempotency-Key %q was used by job %s for a different body; send the same body to get that job, or use a new key for a new upload", e.Key, e.Job)
}

// ErrNoPipeline is a submission to a pipeline the workspace does not have.
var ErrNoPipeline = errors.New("no such pipeline")

// ErrNotRunning is a submission while the daemon does not take work (it
// starts or stops).
var ErrNotRunning = errors.New("the daemon is not taking work now (starting or stopping); try again shortly")

// UploadDir is where the API receives inputs before they are claimed.
func (s *Service) UploadDir() string { return filepath.Join(s.ws.State(), "uploads") }

// NewUploadFile makes a folder of its own under UploadDir for an upload
// to be named name and returns the file's path (not yet created).
func (s *Service) NewUploadFile(name string) (string, error) {
	if err := os.MkdirAll(s.UploadDir(), 0o700); err != nil {
		return "", err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	dir, err := os.MkdirTemp(s.UploadDir(), fmt.Sprintf("%x-", b))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// DiscardUpload removes an upload that will not be submitted, and its folder.
func (s *Service) DiscardUpload(path string) {
	os.Remove(path)
	os.Remove(filepath.Dir(path))
}

// Workspace is the configuration new jobs are claimed by now.
func (s *Service) Workspace() *workspace.Workspace { return s.current().ws }

// Journal is the service's journal.
func (s *Service) Journal() *Journal { return s.journal }

// Queued is how many submitted jobs wait for a worker.
func (s *Service) Queued() int { return int(s.queued.Load()) }

// Submit claims u's file as an input of u.Pipeline, records its job and
// how it came, and queues it for the daemon's workers; it returns the job
// as recorded (Enqueued). With a Key seen before from the same client it
// returns that upload's job and replayed (u's file is removed), or a
// *KeyConflictError when the body differs. A file that is not submitted
// is removed.
func (s *Service) Submit(ctx context.Context, u Upload) (job *Job, replayed bool, err error) {
	submitted := false
	defer func() {
		if !submitted {
			s.DiscardUpload(u.Path)
		}
	}()
	st := s.current()
	if st.ws.Pipeline(u.Pipeline) == nil {
		return nil, false, fmt.Errorf("%w %q", ErrNoPipeline, u.Pipeline)
	}
	if s.watcher.Load() == nil || s.stopped() {
		return nil, false, ErrNotRunning
	}
	if u.Key != "" {
		// One key's check, claim and record are one step; other keys, and
		// uploads without a key, need no such order (each claim has a
		// folder of its own).
		defer s.submitting.lock(u.Client + "\x00" + u.Key)()
		prev, err := s.journal.UploadByKey(ctx, u.Client, u.Key)
		if err != nil {
			return nil, false, err
		}
		if prev != nil {
			if prev.BodySHA256 != u.SHA256 {
				return nil, false, &KeyConflictError{Key: u.Key, Job: prev.Job}
			}
			job, err := s.journal.Get(ctx, prev.Job)
			return job, true, err
		}
	}
	job, _, err = s.claimRecorded(ctx, inbox.File{Key: u.Pipeline, Path: u.Path, Name: filepath.Base(u.Path)})
	if err != nil {
		return nil, false, err
	}
	submitted = true
	os.Remove(filepath.Dir(u.Path))
	job.setup = st
	// The upload's record: written after the job's, so a crash between
	// them leaves a job without its key, whose retried upload is then a
	// Duplicate job of the same content, never a second import.
	rec := &UploadRecord{Job: job.ID, Client: u.Client, Key: u.Key, BodySHA256: u.SHA256, MessageID: u.MessageID,
		Activity: u.Activity, Entity: u.Entity, Company: u.Company, ExternalID: u.ExternalID, Created: job.Created}
	if err := s.journal.putUpload(ctx, rec); err != nil {
		s.log.Error("the job's upload record could not be written; a retry with its Idempotency-Key makes a Duplicate job", "job", job.ID, "err", err)
	}
	s.log.Info("claimed", "job", job.ID, "pipeline", job.Pipeline, "file", job.Input, "via", "http", "client", u.Client)
	queued := job
	snapshot := *job // what is answered; the worker changes queued from here on
	snapshot.setup = nil
	s.queued.Add(1)
	go func() {
		select {
		case s.submitted <- queued:
		case <-s.stop:
			s.queued.Add(-1) // it resumes at the next start, as an unfinished job
		}
	}()
	return &snapshot, false, nil
}

// stopped reports whether Run was told to stop.
func (s *Service) stopped() bool {
	if s.stop == nil {
		return false
	}
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// keyLocks serialise the submissions of each Idempotency-Key.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
