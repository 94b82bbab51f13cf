package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/erpipe/erpipe/workspace"
)

// DaemonStatus is what a running daemon says of itself, for erpipe status
// and erpipe jobs: the configuration it serves, a change of it that it
// refused, and the files in inbox/ that no pipeline takes. The daemon
// keeps it in .erpipe/status.json, rewritten whenever it changes.
type DaemonStatus struct {
	PID         int           `json:"pid"`
	Started     time.Time     `json:"started"`
	Updated     time.Time     `json:"updated"`
	Config      *ConfigStatus `json:"config,omitempty"`
	ConfigError *ConfigError  `json:"config_error,omitempty"`
	Strays      []string      `json:"strays,omitempty"` // paths in inbox/ that no pipeline takes
	// Running is whether the process that wrote it runs now (read, not
	// written).
	Running bool `json:"-"`
}

// ConfigStatus is the configuration a daemon serves.
type ConfigStatus struct {
	Loaded      time.Time        `json:"loaded"`
	Fingerprint string           `json:"fingerprint"`
	Pipelines   []PipelineStatus `json:"pipelines"`
}

// PipelineStatus is one pipeline served, with its template's version.
type PipelineStatus struct {
	Name     string `json:"name"`
	Template string `json:"template"`
	Version  string `json:"version"`
	Hash     string `json:"hash,omitempty"`
}

// ConfigError is a change of the configuration that was not taken.
type ConfigError struct {
	At          time.Time `json:"at"`
	Fingerprint string    `json:"fingerprint"`
	Message     string    `json:"message"`
}

// statusKeeper holds a daemon's status; update changes it under its lock.
type statusKeeper struct {
	mu sync.Mutex
	st DaemonStatus
}

func (k *statusKeeper) update(f func(*DaemonStatus)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f(&k.st)
}

// statusPath is where a workspace's daemon keeps its status.
// A node of a cluster keeps its own, beside its work folder: the nodes
// share the workspace folder.
func statusPath(ws *workspace.Workspace) string { return filepath.Join(ws.NodeState(), "status.json") }

// writeStatus writes the daemon's status, replacing the file whole (a
// reader never sees half of it). Failing to is logged, not fatal: the
// status is for people; the journal is the record.
func (s *Service) writeStatus() {
	s.status.mu.Lock()
	s.status.st.Updated = s.Now()
	data, err := json.MarshalIndent(s.status.st, "", "  ")
	s.status.mu.Unlock()
	if err == nil {
		path := statusPath(s.ws)
		tmp := path + ".tmp"
		if err = writeFileSync(tmp, append(data, '\n'), 0o600); err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		s.log.Warn("could not write the daemon's status", "file", statusPath(s.ws), "err", err)
	}
}

// setStrays records the strays in inbox/ in the status, when they changed.
func (s *Service) setStrays(paths []string) {
	slices.Sort(paths)
	changed := false
	s.status.update(func(st *DaemonStatus) {
		if !slices.Equal(st.Strays, paths) {
			st.Strays, changed = paths, true
		}
	})
	if changed {
		s.writeStatus()
	}
}

// ReadStatus reads the status the daemon of ws keeps, and whether that
// daemon runs now. A workspace whose daemon never ran has none
// (fs.ErrNotExist).
func ReadStatus(ws *workspace.Workspace) (*DaemonStatus, error) {
	data, err := os.ReadFile(statusPath(ws))
	if err != nil {
		return nil, err
	}
	var st DaemonStatus
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", statusPath(ws), err)
	}
	if pid, running := ws.Holder(); running && pid == st.PID {
		st.Running = true
	}
	return &st, nil
}

// IsNoStatus reports whether err is ReadStatus's for a workspace whose
// daemon never ran.
func IsNoStatus(err error) bool { return errors.Is(err, fs.ErrNotExist) }
