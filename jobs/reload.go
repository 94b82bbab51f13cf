package jobs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/erpipe/erpipe/d365"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/workspace"
)

// A running daemon follows its configuration: erpipe.yaml and the
// templates under templates/ are watched (by a fingerprint of names,
// sizes and times, so that editors that save by renaming are seen too),
// and read again once they stop changing, or at once on Reload (SIGHUP).
// A change is taken only when all of it is valid: every pipeline's
// template loads, every destination can be made, every Reloader (the
// schedules) accepts it. Then it is taken at once, between jobs: a job
// runs to its end by the configuration that was current when it was
// claimed, and its record names the template version it ran. An invalid
// change is logged, kept in the daemon's status (erpipe status, erpipe
// jobs) until it is mended, and the old configuration goes on serving.

// setup is one version of the workspace's configuration, as the daemon
// serves it.
type setup struct {
	ws          *workspace.Workspace
	dests       map[string][]outbox.Destination
	sources     map[string]*d365.Client // of the pipelines with a source (sources.go)
	fingerprint string                  // of the files it was read from
	loaded      time.Time               // when it was taken
}

// newSetup makes the destinations of every pipeline of ws: a setup, or
// the first destination that cannot be made.
func newSetup(ws *workspace.Workspace, fingerprint string, now time.Time) (*setup, error) {
	st := &setup{ws: ws, dests: map[string][]outbox.Destination{}, fingerprint: fingerprint, loaded: now}
	for _, p := range ws.Pipelines {
		ds, err := destinations(ws, p)
		if err != nil {
			return nil, fmt.Errorf("pipeline %q: %w", p.Name, err)
		}
		st.dests[p.Name] = ds
	}
	var err error
	if st.sources, err = sourceClients(ws); err != nil {
		return nil, err
	}
	if err := ws.CheckWebhooks(true); err != nil { // their secrets can be read
		return nil, err
	}
	return st, nil
}

// CheckDestinations makes the destinations of every pipeline of ws, as the
// daemon would, and returns the first that cannot be made (an unknown
// overwrite policy, an S3 destination without a bucket...). Folder
// destinations' folders are created.
func CheckDestinations(ws *workspace.Workspace) error {
	_, err := newSetup(ws, "", time.Time{})
	return err
}

// current is the configuration new jobs are claimed by.
func (s *Service) current() *setup { return s.live.Load() }

// setupOf is the configuration job runs by: the one current when it was
// claimed, or, for a job resumed or recovered, the current one.
func (s *Service) setupOf(job *Job) *setup {
	if job.setup == nil {
		job.setup = s.current()
	}
	return job.setup
}

// A Reloader checks a new configuration, for a part of the daemon that
// the jobs package does not know (the schedules): it returns how to take
// it, called only once every part has accepted it, or why it is refused.
type Reloader func(ws *workspace.Workspace) (take func(), err error)

// ReloadError is a configuration change that was not taken.
type ReloadError struct {
	At  time.Time // when it was read
	Err error
}

func (e *ReloadError) Error() string {
	return "the changed configuration was not taken; erpipe goes on with the one it had: " + e.Err.Error()
}

func (e *ReloadError) Unwrap() error { return e.Err }

// RequestReload asks a running daemon to read its configuration again
// now (SIGHUP), whether or not its files look changed.
func (s *Service) RequestReload() {
	select {
	case s.reloadNow <- struct{}{}:
	default:
	}
}

// Reload reads the workspace's configuration and templates again and
// takes them if they are valid (see the comment at the top of this file).
// It returns a *ReloadError when the change was refused.
func (s *Service) Reload(ctx context.Context) error {
	s.reloading.Lock()
	defer s.reloading.Unlock()
	old := s.current()
	fp := workspace.Fingerprint(s.ws.Root, s.ws.ConfigPath)
	now := s.Now()
	ws, err := workspace.Open(s.ws.Root, s.ws.ConfigPath)
	var next *setup
	if err == nil {
		next, err = newSetup(ws, fp, now)
	}
	var takes []func()
	for _, check := range s.Reloaders {
		if err != nil {
			break
		}
		var take func()
		if take, err = check(ws); take != nil {
			takes = append(takes, take)
		}
	}
	if err != nil {
		return s.refused(fp, now, err)
	}
	s.live.Store(next)
	for _, take := range takes {
		take()
	}
	s.followInboxes(old.ws, ws)
	s.followSources(next)
	s.logChanges(old.ws, ws)
	s.status.update(func(st *DaemonStatus) {
		st.Config = configStatus(next)
		st.ConfigError = nil
	})
	s.writeStatus()
	return nil
}

// refused records a configuration change that was not taken: logged once
// per state of the files, and kept in the status until mended.
func (s *Service) refused(fp string, now time.Time, err error) error {
	rerr := &ReloadError{At: now, Err: err}
	// The old configuration goes on; what is wrong is said loudly, once
	// for each version of the files.
	s.status.update(func(st *DaemonStatus) {
		if st.ConfigError != nil && st.ConfigError.Fingerprint == fp {
			return
		}
		st.ConfigError = &ConfigError{At: now, Fingerprint: fp, Message: err.Error()}
		s.log.Error("the workspace's configuration changed and is not valid; erpipe goes on with the configuration it had until it is mended",
			"err", err, "check", "erpipe check")
	})
	s.writeStatus()
	return rerr
}

// followInboxes starts and stops watching inbox folders as pipelines come
// and go, and watches again, with their new options, the folders of
// pipelines whose inbox options changed.
func (s *Service) followInboxes(old, ws *workspace.Workspace) {
	w := s.watcher.Load()
	if w == nil {
		return // Run has not started watching: it watches what is current
	}
	for _, p := range old.Pipelines {
		if q := ws.Pipeline(p.Name); q == nil || !reflect.DeepEqual(p.Inbox, q.Inbox) {
			w.RemoveFolder(p.Name)
		}
	}
	for _, q := range ws.Pipelines {
		if p := old.Pipeline(q.Name); p == nil || !reflect.DeepEqual(p.Inbox, q.Inbox) {
			if err := w.AddFolder(q.Name, ws.Inbox(q.Name), q.Inbox); err != nil {
				s.log.Error("could not watch the inbox of a pipeline", "pipeline", q.Name, "err", err)
			}
		}
	}
}

// logChanges says what a taken configuration changed: pipelines added and
// removed, templates of another version or content, and settings that
// only a restart takes.
func (s *Service) logChanges(old, ws *workspace.Workspace) {
	var added, removed, changed []string
	for _, p := range old.Pipelines {
		if ws.Pipeline(p.Name) == nil {
			removed = append(removed, p.Name)
		}
	}
	for _, q := range ws.Pipelines {
		p := old.Pipeline(q.Name)
		switch {
		case p == nil:
			added = append(added, q.Name)
		case p.Template.Hash != q.Template.Hash || p.Template.Version != q.Template.Version ||
			!reflect.DeepEqual(p.Destinations, q.Destinations) || p.AllowDuplicates != q.AllowDuplicates:
			changed = append(changed, fmt.Sprintf("%s (template %s %s)", q.Name, q.Template.Name, q.Template.Version))
		}
	}
	s.log.Info("configuration reloaded; new jobs use it, jobs in flight finish with the one they started with",
		"pipelines", len(ws.Pipelines), "added", strings.Join(added, ", "), "removed", strings.Join(removed, ", "),
		"changed", strings.Join(changed, ", "))
	for _, n := range ws.Notes {
		if !slices.Contains(old.Notes, n) {
			s.log.Warn(n)
		}
	}
	if d := restartOnly(s.ws.Config, ws.Config); len(d) > 0 {
		s.log.Warn("some changed settings are taken only when erpipe run starts again", "settings", strings.Join(d, ", "))
	}
}

// restartOnly names the settings of erpipe.yaml that differ between a and
// b and that a running daemon does not take: its workers, its watcher's
// timings and mode, its limits on symbolic links and jobs' time.
func restartOnly(a, b workspace.Config) []string {
	var out []string
	for name, differs := range map[string]bool{
		"workers":         a.WorkerCount() != b.WorkerCount(),
		"settle":          a.SettleWindow() != b.SettleWindow(),
		"max_settle":      a.MaxSettleWindow() != b.MaxSettleWindow(),
		"rescan":          a.RescanInterval() != b.RescanInterval(),
		"poll":            a.Poll != b.Poll,
		"job_timeout":     a.JobTimeout() != b.JobTimeout(),
		"follow_symlinks": a.FollowSymlinks != b.FollowSymlinks,
		"http: listen, cert_file, key_file, read_header_timeout, idle_timeout, shutdown_grace": a.HTTP.Listen != b.HTTP.Listen || a.HTTP.CertFile != b.HTTP.CertFile ||
			a.HTTP.KeyFile != b.HTTP.KeyFile || a.HTTP.ReadHeaderTimeout != b.HTTP.ReadHeaderTimeout || a.HTTP.IdleTimeout != b.HTTP.IdleTimeout ||
			a.HTTP.ShutdownGrace != b.HTTP.ShutdownGrace,
	} {
		if differs {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// watchConfig reads the configuration again when its files have changed
// and then stayed unchanged for one more look (an editor may write a file
// in several steps), or when RequestReload asks, until ctx is done.
func (s *Service) watchConfig(ctx context.Context, every time.Duration) {
	seen := s.current().fingerprint
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.reloadNow:
			s.log.Info("reloading the configuration on request")
		case <-time.After(every):
			fp := workspace.Fingerprint(s.ws.Root, s.ws.ConfigPath)
			if fp == seen {
				continue
			}
			if fp != s.lastSeen { // still changing: look again once more
				s.lastSeen = fp
				continue
			}
		}
		err := s.Reload(ctx)
		var rerr *ReloadError
		if err != nil && !errors.As(err, &rerr) {
			s.log.Error("could not reload the configuration", "err", err)
		}
		// A refused version is not read again until the files change.
		seen = workspace.Fingerprint(s.ws.Root, s.ws.ConfigPath)
		s.lastSeen = seen
	}
}

// configStatus is what the status says of a setup.
func configStatus(st *setup) *ConfigStatus {
	cs := &ConfigStatus{Loaded: st.loaded, Fingerprint: st.fingerprint}
	for _, name := range slices.Sorted(maps.Keys(st.dests)) {
		p := st.ws.Pipeline(name)
		cs.Pipelines = append(cs.Pipelines, PipelineStatus{Name: name, Template: p.Template.Name,
			Version: p.Template.Version, Hash: p.Template.Hash})
	}
	return cs
}
