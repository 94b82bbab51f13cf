package jobs

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/erpipe/erpipe/transform/expression"
)

// Files dropped where no pipeline looks (inbox/stray.csv, or
// inbox/customer/x.csv for a pipeline called customers) produce no job;
// without a word, an operator waits for a result that never comes. The
// daemon looks at inbox/ itself as often as it rescans the inboxes, and
// logs each such file or folder once, with where it should go, and lists
// them in its status (erpipe status). It never touches them.

// watchStrays reports the strays in inbox/ until ctx is done.
func (s *Service) watchStrays(ctx context.Context, every time.Duration) {
	seen := map[string]bool{}
	for {
		s.reportStrays(seen)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// reportStrays logs, once each (seen holds the paths logged; a path that
// goes away may be logged again), the files in inbox/ and its folders that
// are no pipeline's.
func (s *Service) reportStrays(seen map[string]bool) {
	root := filepath.Join(s.ws.Root, "inbox")
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	ws := s.current().ws
	names := make([]string, len(ws.Pipelines))
	for i, p := range ws.Pipelines {
		names[i] = p.Name
	}
	now := map[string]bool{}
	for _, e := range entries {
		p := filepath.Join(root, e.Name())
		if ws.Pipeline(e.Name()) != nil || e.Name()[0] == '.' {
			continue
		}
		now[p] = true
		if seen[p] {
			continue
		}
		if e.IsDir() {
			s.log.Warn("a folder in inbox/ is no pipeline's inbox; the files in it are not taken",
				"folder", p, "hint", "move them into inbox/<pipeline>/"+expression.DidYouMean(e.Name(), names))
		} else {
			s.log.Warn("a file directly in inbox/ is not taken; put it in the inbox of its pipeline, inbox/<pipeline>/", "file", p)
		}
	}
	for p := range seen {
		if !now[p] {
			delete(seen, p)
		}
	}
	for p := range now {
		seen[p] = true
	}
	s.setStrays(slices.Collect(maps.Keys(now)))
}
