package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/erpipe/erpipe/events"
)

// WebhookConfig is one webhook in erpipe.yaml: a receiver of business
// events (package events). Its signing secret is never written here: it
// comes from the environment variable secret_env names (default
// ERPIPE_WEBHOOK_SECRET) or from secret_file.
//
//	webhooks:
//	  - name: erp-events
//	    url: https://hooks.example.com/erpipe
//	    events: [job.failed, period.failed]   # default: every type
//	    pipelines: [customers-v3]             # with schedules; default: all
//	    secret_env: ERPIPE_WEBHOOK_SECRET
//	    retry: {delay: 10s, max_delay: 1h, give_up_after: 72h}
type WebhookConfig struct {
	Name       string   `yaml:"name"`
	URL        string   `yaml:"url"`
	Events     []string `yaml:"events"`
	Pipelines  []string `yaml:"pipelines"`
	Schedules  []string `yaml:"schedules"`
	SecretEnv  string   `yaml:"secret_env"`
	SecretFile string   `yaml:"secret_file"` // relative to the workspace
	// CAFile is a PEM file of certificates to trust for the URL besides
	// the system's, relative to the workspace.
	CAFile string `yaml:"ca_file"`
	// Timeout bounds one request (default 10s).
	Timeout Duration           `yaml:"timeout"`
	Retry   WebhookRetryConfig `yaml:"retry"`
}

// WebhookRetryConfig is how an event the webhook did not take is sent
// again: after delay, doubled after each attempt up to max_delay, until
// give_up_after has passed since the event.
type WebhookRetryConfig struct {
	Delay       Duration `yaml:"delay"`         // default 10s
	MaxDelay    Duration `yaml:"max_delay"`     // default 1h
	GiveUpAfter Duration `yaml:"give_up_after"` // default 72h
}

// Webhooks returns the webhooks of erpipe.yaml as package events takes
// them, file names made absolute.
func (w *Workspace) Webhooks() []events.Webhook {
	out := make([]events.Webhook, 0, len(w.Config.Webhooks))
	for _, c := range w.Config.Webhooks {
		rel := func(file string) string {
			if file != "" && !filepath.IsAbs(file) {
				return filepath.Join(w.Root, file)
			}
			return file
		}
		h := events.Webhook{Name: c.Name, URL: c.URL, Pipelines: c.Pipelines, Schedules: c.Schedules,
			SecretEnv: c.SecretEnv, SecretFile: rel(c.SecretFile), CAFile: rel(c.CAFile), Timeout: time.Duration(c.Timeout),
			RetryMin: time.Duration(c.Retry.Delay), RetryMax: time.Duration(c.Retry.MaxDelay), GiveUp: time.Duration(c.Retry.GiveUpAfter)}
		for _, e := range c.Events {
			h.Events = append(h.Events, events.Type(e))
		}
		out = append(out, h)
	}
	return out
}

// CheckWebhooks says what is wrong with the webhooks: their settings,
// event types, the pipelines and schedules they name, and (with secrets)
// whether their signing secrets can be read.
func (w *Workspace) CheckWebhooks(secrets bool) error {
	hooks := w.Webhooks()
	errs := []error{events.CheckAll(hooks)}
	for i, c := range w.Config.Webhooks {
		for _, e := range c.Events {
			if _, err := events.ParseType(e); err != nil {
				errs = append(errs, fmt.Errorf("webhook %s: events: %w", c.Name, err))
			}
		}
		for _, p := range c.Pipelines {
			if w.Pipeline(p) == nil {
				errs = append(errs, fmt.Errorf("webhook %s: pipelines: there is no pipeline %q", c.Name, p))
			}
		}
		for _, s := range c.Schedules {
			if !slices.ContainsFunc(w.Config.Schedules, func(sc ScheduleConfig) bool { return sc.Name == s }) {
				errs = append(errs, fmt.Errorf("webhook %s: schedules: there is no schedule %q", c.Name, s))
			}
		}
		if secrets {
			if _, err := hooks[i].Secret(); err != nil {
				errs = append(errs, err)
			}
			if f := hooks[i].CAFile; f != "" {
				if _, err := os.Stat(f); err != nil {
					errs = append(errs, fmt.Errorf("webhook %s: ca_file: %w", c.Name, err))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return nil
}
