package jobs

import (
	"context"
	"os"
	"path/filepath"

	"github.com/erpipe/erpipe/outbox"
)

// Recover finishes what a crash left behind: jobs that had not ended are
// run again (or, when their input had already been filed away, closed), and
// claimed files that never got a record get one.
func (s *Service) Recover(ctx context.Context) error {
	s.sweep(ctx)
	jobs, err := s.recoverable(ctx)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		if err := s.resume(ctx, job); err != nil {
			s.log.Error("could not resume job", "job", job.ID, "err", err)
		}
	}
	return nil
}

// sweep removes what interrupted work left behind: temporary files in the
// destinations and the work folder. Nothing may be running.
func (s *Service) sweep(ctx context.Context) {
	// A node of a cluster leaves the destinations alone: their
	// temporary files and uploads may be another node's live work. Its
	// work folder is its own (workspace.SetNode).
	for _, ds := range s.current().dests {
		if s.cluster != nil {
			break
		}
		for _, d := range ds {
			if sw, ok := d.(outbox.Sweeper); ok {
				if err := sw.Sweep(ctx); err != nil {
					s.log.Warn("could not clean up after interrupted deliveries", "destination", d.String(), "err", err)
				}
			}
		}
	}
	if err := os.RemoveAll(s.ws.Work()); err != nil {
		s.log.Warn("could not empty the work folder", "err", err)
	}
	if err := os.MkdirAll(s.ws.Work(), 0o755); err != nil {
		s.log.Warn("could not make the work folder", "err", err)
	}
}

// recoverable returns the jobs a previous run left unfinished, oldest
// first, giving a record to claimed files that never got one (the crash
// came between the claim and the first journal write).
func (s *Service) recoverable(ctx context.Context) ([]*Job, error) {
	jobs, err := s.journal.Unfinished(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, job := range jobs {
		known[job.ClaimedPath] = true
	}
	// Claimed files sit in claimed/<pipeline>/<job id>/<name>.
	pipes, _ := os.ReadDir(s.ws.Claimed())
	for _, pd := range pipes {
		if !pd.IsDir() || s.current().ws.Pipeline(pd.Name()) == nil {
			continue
		}
		jobDirs, _ := os.ReadDir(filepath.Join(s.ws.Claimed(), pd.Name()))
		for _, jd := range jobDirs {
			dir := filepath.Join(s.ws.Claimed(), pd.Name(), jd.Name())
			files, _ := os.ReadDir(dir)
			if len(files) == 0 {
				os.Remove(dir) // the crash came between mkdir and rename
				continue
			}
			path := filepath.Join(dir, files[0].Name())
			if known[path] {
				continue
			}
			if _, err := s.journal.Get(ctx, jd.Name()); err == nil {
				continue // recorded and ended
			}
			job := &Job{ID: jd.Name(), Pipeline: pd.Name(), Input: files[0].Name(), Status: Enqueued, Created: s.Now(), ClaimedPath: path}
			s.log.Warn("found a claimed file with no job record; processing it", "job", job.ID, "file", job.Input)
			if err := s.record(ctx, job); err != nil {
				return nil, err
			}
			jobs = append(jobs, job)
		}
	}
	return jobs, nil
}

func (s *Service) resume(ctx context.Context, job *Job) error {
	if job.ClaimedPath == "" {
		// A damaged record: the claimed input is where every claim puts it.
		job.ClaimedPath = filepath.Join(s.ws.Claimed(), job.Pipeline, job.ID, job.Input)
	}
	_, claimedErr := os.Stat(job.ClaimedPath)
	if job.FinalStatus != "" {
		// The job had ended but its input was not filed away yet: finish
		// the move; never process it again.
		if claimedErr == nil {
			s.log.Info("filing away the input of a job interrupted at its end", "job", job.ID)
			return s.fileAway(ctx, job)
		}
		if _, err := os.Stat(job.FinalPath); err == nil {
			job.Status, job.Finished = job.FinalStatus, s.Now()
			os.Remove(filepath.Dir(job.ClaimedPath))
			s.log.Info("closed job interrupted after filing its input", "job", job.ID, "status", job.Status)
			return s.record(ctx, job, nonNil(endEvent(s.setupOf(job).ws, job, job.Finished))...)
		}
	}
	if claimedErr != nil {
		job.Status, job.Finished = Failed, s.Now()
		job.Errors = append(job.Errors, "the claimed input was not found after a restart: "+job.ClaimedPath)
		s.log.Error("claimed input missing after restart", "job", job.ID, "path", job.ClaimedPath)
		return s.record(ctx, job, nonNil(endEvent(s.setupOf(job).ws, job, job.Finished))...)
	}
	s.log.Info("resuming job interrupted by a stop or crash", "job", job.ID, "file", job.Input)
	return s.process(ctx, job)
}
