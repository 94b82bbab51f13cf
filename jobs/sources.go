package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/erpipe/erpipe/d365"
	d365src "github.com/erpipe/erpipe/inbox/d365"
	"github.com/erpipe/erpipe/workspace"
)

// Sources put files into pipelines' inboxes from elsewhere: a pipeline
// whose source is a recurring export job of Dynamics 365 has a poller
// that dequeues its files into the inbox, where they are taken like any
// dropped file. The pollers follow the configuration: a reload starts the
// pollers of new sources and stops those of sources removed or changed.

// sourceClients makes the D365 client of every pipeline of ws that has a
// source.
func sourceClients(ws *workspace.Workspace) (map[string]*d365.Client, error) {
	out := map[string]*d365.Client{}
	for _, p := range ws.Pipelines {
		if p.Source == nil {
			continue
		}
		c, err := p.Source.Client(ws.Root)
		if err != nil {
			return nil, fmt.Errorf("pipeline %q: source: %w", p.Name, err)
		}
		out[p.Name] = c
	}
	return out, nil
}

// sources are the running pollers.
type sources struct {
	mu      sync.Mutex
	ctx     context.Context // nil until Run starts them
	running map[string]*sourceRun
	wg      sync.WaitGroup
}

type sourceRun struct {
	cfg    workspace.D365Source
	cancel context.CancelFunc
}

// startSources runs the sources of the current configuration until ctx
// ends, and returns a function that waits for them to stop.
func (s *Service) startSources(ctx context.Context) (wait func()) {
	s.sources.mu.Lock()
	s.sources.ctx = ctx
	s.sources.running = map[string]*sourceRun{}
	s.sources.mu.Unlock()
	s.followSources(s.current())
	return s.sources.wg.Wait
}

// followSources starts and stops pollers so that those of st's pipelines
// run, each with its configuration.
func (s *Service) followSources(st *setup) {
	src := &s.sources
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.ctx == nil {
		return // Run has not started: it starts what is current
	}
	for name, run := range src.running {
		if p := st.ws.Pipeline(name); p == nil || p.Source == nil || !reflect.DeepEqual(*p.Source, run.cfg) {
			run.cancel()
			delete(src.running, name)
		}
	}
	for _, p := range st.ws.Pipelines {
		if p.Source == nil || src.running[p.Name] != nil {
			continue
		}
		ctx, cancel := context.WithCancel(src.ctx)
		poller := &d365src.Poller{Client: st.sources[p.Name], ActivityID: p.Source.ActivityID, Dir: st.ws.Inbox(p.Name),
			StateDir: filepath.Join(st.ws.State(), "d365-source", p.Name), Every: time.Duration(p.Source.Every),
			Log: s.log.With("pipeline", p.Name)}
		src.wg.Go(func() { poller.Run(ctx) })
		src.running[p.Name] = &sourceRun{cfg: *p.Source, cancel: cancel}
		s.log.Info("taking files from a recurring export job of D365", "pipeline", p.Name, "activity", p.Source.ActivityID, "environment", p.Source.Environment)
	}
}
