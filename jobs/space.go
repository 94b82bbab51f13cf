package jobs

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/erpipe/erpipe/events"
)

// A full disk is not the files' fault, and it passes: erpipe waits for
// space instead of failing jobs or losing track of them. The work folder
// (process) and destinations (keepDelivering) wait on their own; the
// journal, which every step of a job writes, waits here: a record that
// cannot be written is retried with back-off until it can, and while the
// journal cannot be written no new file is claimed (so that no file sits
// in claimed/ without a record), until a write succeeds again.

// noSpace reports whether err is a full disk or quota, as the system or
// SQLite ("database or disk is full") says it.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		err != nil && strings.Contains(err.Error(), "database or disk is full")
}

// record writes job to the journal, with the events of its change
// (events.go) in the same transaction, waiting for space when the disk is
// full: it returns nil once written, or the error of a failure that is not
// a full disk, or when the service stops meanwhile.
func (s *Service) record(ctx context.Context, job *Job, evs ...*events.Event) error {
	for delay := s.RetryMin; ; delay = min(2*delay, s.RetryMax) {
		err := s.journal.Put(ctx, job, evs...)
		if !noSpace(err) {
			if err == nil {
				s.journalFull(false, nil)
			}
			return err
		}
		s.journalFull(true, err)
		if err := s.pause(ctx, delay); err != nil {
			return err
		}
	}
}

// claimable waits until the journal can be written, if a write found it
// full: a file is claimed only when its record can be written.
func (s *Service) claimable(ctx context.Context) error {
	for delay := s.RetryMin; s.full.Load(); delay = min(2*delay, s.RetryMax) {
		if err := s.journal.Probe(ctx); !noSpace(err) {
			if err == nil {
				s.journalFull(false, nil)
			}
			return err
		}
		if err := s.pause(ctx, delay); err != nil {
			return err
		}
	}
	return nil
}

// journalFull records whether the journal's disk is full, logging each
// change once.
func (s *Service) journalFull(full bool, err error) {
	if s.full.Swap(full) == full {
		return
	}
	if full {
		s.log.Error("the job journal cannot be written: the disk is full; jobs wait, and no new file is taken until there is space",
			"journal", s.journal.path, "err", err)
	} else {
		s.log.Info("the job journal can be written again; jobs go on", "journal", s.journal.path)
	}
}

// pause waits d (with jitter), or until ctx is done or the service stops.
func (s *Service) pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return errHandedBack
	case <-time.After(jitter(d)):
		return nil
	}
}
