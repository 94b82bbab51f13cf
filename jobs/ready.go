package jobs

import "errors"

// Ready says whether the daemon takes new work: nil once Run watches the
// inboxes, while the journal can be written; otherwise what keeps it from
// taking work (for /readyz).
func (s *Service) Ready() error {
	if s.watcher.Load() == nil {
		return errors.New("the daemon is starting: it does not watch the inboxes yet")
	}
	if s.full.Load() {
		return errors.New("the job journal cannot be written: its disk is full")
	}
	return nil
}
