package schedule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/erpipe/erpipe/d365"
	d365src "github.com/erpipe/erpipe/inbox/d365"
	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

// Export is a schedule's input from Dynamics 365: an export data project
// run once for each period's run.
type Export struct {
	Source workspace.D365Source
	client *d365.Client
}

// exportInput runs the export of one attempt at period p into work and
// returns its file (none when D365 exported no rows of the entity) and a
// description of where it came from. The execution id is the job's, so
// that a run asks for its own export and no other.
func (r *Runner) exportInput(ctx context.Context, s *Schedule, p Period, job *jobs.Job, work string) ([]string, string, error) {
	src := s.D365.Source
	o := d365src.ExportOptions{Client: s.D365.client, DefinitionGroup: src.DefinitionGroup, LegalEntity: src.LegalEntity,
		ExecutionID: "erpipe-" + job.ID, Entity: src.Entity, Wait: time.Duration(src.Wait), Log: r.log}
	from := fmt.Sprintf("D365 export %s of data project %q (%s) at %s", o.ExecutionID, src.DefinitionGroup, src.LegalEntity, src.Environment)
	if src.Entity != "" {
		from = fmt.Sprintf("entity %q of the %s", src.Entity, from)
	}
	dir := filepath.Join(work, "export")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, from, err
	}
	path, err := d365src.Export(ctx, o, dir, s.Name+"-"+p.Name)
	switch {
	case errors.Is(err, d365src.ErrNoRows):
		return nil, from, nil
	case err != nil:
		return nil, from, err
	}
	r.log.Info("d365: export taken", "schedule", s.Name, "period", p.Name, "execution", o.ExecutionID, "file", filepath.Base(path))
	return []string{path}, from, nil
}

// exportedName is how a receipt names an input exported from D365.
func exportedName(s *Schedule, job *jobs.Job, path string) string {
	return fmt.Sprintf("d365:%s/erpipe-%s/%s", s.D365.Source.DefinitionGroup, job.ID, filepath.Base(path))
}
