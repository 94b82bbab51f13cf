// Package d365 takes exports out of Dynamics 365 Finance & Operations, as
// files for erpipe's templates.
//
// Export runs an export data project with the data management package API
// (ExportToPackage, GetExecutionSummaryStatus until it ends,
// GetExportedPackageUrl) and writes the package, or one entity's data file
// from it, into a folder: a schedule's input for one period.
//
// A Poller reads the queue of a recurring export job (dequeue, download)
// into a pipeline's inbox folder, and acknowledges each file only once it
// is safely there (written, synced and renamed to its final name), so
// that a crash at any point loses nothing: a file not acknowledged comes
// back after D365's visibility timeout, and one taken before is known by
// its correlation id and only acknowledged again.
package d365

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/formats/dmf"
)

// MaxPackage is the largest export taken (16 GiB, dmf's limit).
const MaxPackage = 16 << 30

// ExportOptions say which export to run.
type ExportOptions struct {
	Client          *d365.Client
	DefinitionGroup string // the export data project
	LegalEntity     string
	// ExecutionID is the export's id, chosen by the caller: an export is
	// run once per id, and asked for again when it was already started
	// (a retry after a crash).
	ExecutionID string
	// Entity is the entity whose data file is wanted; "" keeps the package.
	Entity string
	Wait   time.Duration // how long the export may run (default 30m)
	Poll   time.Duration // how often its status is asked at most (default: from 250ms, doubling to 5s)
	Log    *slog.Logger
}

// ErrNoRows is an export whose entity has no data file: D365 leaves the
// files of entities without rows out of a package.
var ErrNoRows = errors.New("the export has no rows of the entity")

// Export runs the export and writes its package (name.zip), or the data
// file of o.Entity, into dir, and returns the file's path. An entity that
// D365 exported no rows of is ErrNoRows.
func Export(ctx context.Context, o ExportOptions, dir, name string) (string, error) {
	log := cmp.Or(o.Log, slog.New(slog.DiscardHandler))
	st, err := o.Client.Status(ctx, o.ExecutionID)
	switch {
	case errors.Is(err, d365.ErrNotFound):
		if _, err := o.Client.ExportToPackage(ctx, d365.Export{DefinitionGroup: o.DefinitionGroup, PackageName: name,
			ExecutionID: o.ExecutionID, LegalEntity: o.LegalEntity}); err != nil {
			return "", fmt.Errorf("export data project %q of %s: %w", o.DefinitionGroup, o.LegalEntity, err)
		}
		log.Info("d365: export started", "project", o.DefinitionGroup, "legal_entity", o.LegalEntity, "execution", o.ExecutionID)
	case err != nil:
		return "", fmt.Errorf("export %s: %w", o.ExecutionID, err)
	default:
		log.Info("d365: export already started; following it", "execution", o.ExecutionID, "status", st)
	}
	u, err := awaitPackage(ctx, o)
	if err != nil {
		return "", err
	}
	pkg := filepath.Join(dir, name+".zip")
	if err := download(ctx, o.Client, u, pkg); err != nil {
		return "", fmt.Errorf("download the package of export %s: %w", o.ExecutionID, err)
	}
	if o.Entity == "" {
		return pkg, nil
	}
	defer os.Remove(pkg)
	return extract(pkg, o.Entity, dir)
}

// awaitPackage polls the export until it ends and returns its package's
// URL.
func awaitPackage(ctx context.Context, o ExportOptions) (string, error) {
	poll, most := 250*time.Millisecond, 5*time.Second
	if o.Poll > 0 {
		poll, most = o.Poll, o.Poll
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(o.Wait, 30*time.Minute))
	defer cancel()
	var st d365.ExecutionStatus
	for {
		var err error
		st, err = o.Client.Status(ctx, o.ExecutionID)
		switch {
		case errors.Is(err, d365.ErrNotFound): // D365 says so for a while after the start
		case err != nil && ctx.Err() == nil:
			return "", fmt.Errorf("export %s: %w", o.ExecutionID, err)
		case err != nil: // the wait is over (below)
		case st == d365.StatusSucceeded || st == d365.StatusPartiallySucceeded:
			u, err := o.Client.ExportedPackageURL(ctx, o.ExecutionID)
			if err != nil {
				return "", fmt.Errorf("export %s: %w", o.ExecutionID, err)
			}
			if u != "" {
				return u, nil
			}
		case st.Final():
			msgs, _ := o.Client.ExecutionErrors(ctx, o.ExecutionID)
			detail := ""
			if len(msgs) > 0 {
				detail = ": " + strings.Join(msgs, "; ")
			}
			return "", fmt.Errorf("export %s of data project %q ended %s%s; see its execution in Data management > Job history", o.ExecutionID, o.DefinitionGroup, st, detail)
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return "", fmt.Errorf("export %s of data project %q did not end within %s (last status %q); it may still be running in D365", o.ExecutionID, o.DefinitionGroup, cmp.Or(o.Wait, 30*time.Minute), st)
			}
			return "", ctx.Err()
		case <-time.After(poll):
			poll = min(2*poll, most)
		}
	}
}

// download writes what u holds to path, through a temporary name that
// inboxes do not take (.part), synced before it is renamed.
func download(ctx context.Context, c *d365.Client, u, path string) error {
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := c.Download(ctx, u, f, MaxPackage); err != nil {
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
	return os.Rename(tmp, path)
}

// extract copies the data file of entity (by its name or its target
// entity, in any case) out of the package at pkg into dir.
func extract(pkg, entity, dir string) (string, error) {
	p, err := dmf.Open(pkg)
	if err != nil {
		return "", err
	}
	defer p.Close()
	var names []string
	for i, e := range p.Entities {
		if !strings.EqualFold(e.Name, entity) && !strings.EqualFold(e.Target, entity) {
			names = append(names, e.Name)
			continue
		}
		r, name, err := p.DataFile(i)
		if errors.Is(err, dmf.ErrNoDataFile) {
			return "", fmt.Errorf("%w %q (D365 leaves the data file of an entity without rows out of the package)", ErrNoRows, e.Name)
		}
		if err != nil {
			return "", err
		}
		defer r.Close()
		out := filepath.Join(dir, name)
		f, err := os.Create(out)
		if err != nil {
			return "", err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return "", fmt.Errorf("%s: %s: %w", filepath.Base(pkg), name, err)
		}
		return out, f.Close()
	}
	return "", fmt.Errorf("the exported package has no entity %q; it has %s: set entity to one of them", entity, strings.Join(quoted(names), ", "))
}

func quoted(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}
