// Package servicetest makes a real daemon (jobs.Service) on a temporary
// workspace, for the tests of the packages that serve it (api, console).
package servicetest

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

// New makes a workspace in a temporary folder with yaml as its
// erpipe.yaml, opens its journal and makes the service, logging nowhere.
// It returns the folder, the service and the logger; the journal is
// closed when the test ends, after the cleanups the caller registers
// later (stopping the service).
func New(t testing.TB, yaml string) (string, *jobs.Service, *slog.Logger) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "erpipe.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.MakeState(); err != nil {
		t.Fatal(err)
	}
	j, err := jobs.OpenJournal(ws.JournalPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := jobs.NewService(ws, j, log)
	if err != nil {
		t.Fatal(err)
	}
	return dir, svc, log
}
