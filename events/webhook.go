package events

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// DefaultSecretEnv is the environment variable a webhook's secret is read
// from when it names neither a variable nor a file.
const DefaultSecretEnv = "ERPIPE_WEBHOOK_SECRET"

// Webhook defaults.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultRetryMin = 10 * time.Second
	DefaultRetryMax = time.Hour
	DefaultGiveUp   = 72 * time.Hour
)

// Webhook is one receiver of events. The signing secret is never part of
// it: it comes from the environment variable SecretEnv or the file
// SecretFile (Secret).
type Webhook struct {
	Name string
	URL  string
	// Events are the types it takes; none means all.
	Events []Type
	// Pipelines and Schedules are the pipelines and schedules whose
	// events it takes; when both are empty, every one's.
	Pipelines, Schedules  []string
	SecretEnv, SecretFile string
	// CAFile is a PEM file of certificates to trust for the URL besides
	// the system's (a receiver with a certificate of a private CA).
	CAFile string
	// Timeout bounds one request; RetryMin is the wait after the first
	// failed attempt, doubled after each to RetryMax; GiveUp is how long
	// after the event a delivery is given up (zero: the defaults).
	Timeout, RetryMin, RetryMax, GiveUp time.Duration
}

// Wants reports whether w takes events of type t from pipeline or
// schedule.
func (w *Webhook) Wants(t Type, pipeline, schedule string) bool {
	if len(w.Events) > 0 && !slices.Contains(w.Events, t) {
		return false
	}
	if len(w.Pipelines) == 0 && len(w.Schedules) == 0 {
		return true
	}
	return pipeline != "" && slices.Contains(w.Pipelines, pipeline) ||
		schedule != "" && slices.Contains(w.Schedules, schedule)
}

// Route returns the names of the webhooks that take events of type t
// from pipeline or schedule.
func Route(hooks []Webhook, t Type, pipeline, schedule string) []string {
	var names []string
	for i := range hooks {
		if hooks[i].Wants(t, pipeline, schedule) {
			names = append(names, hooks[i].Name)
		}
	}
	return names
}

// Check says what is wrong with w, without reading its secret.
func (w *Webhook) Check() error {
	if w.Name == "" || strings.ContainsAny(w.Name, " \t\n/\\") {
		return fmt.Errorf("webhook %q: give each webhook a name without spaces or slashes", w.Name)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook %s: url %q: write an http:// or https:// URL", w.Name, Redact(w.URL))
	}
	if u.User != nil {
		return fmt.Errorf("webhook %s: url: leave credentials out of the URL; requests are signed with the secret from %s or secret_file", w.Name, cmpOr(w.SecretEnv, DefaultSecretEnv))
	}
	if w.SecretEnv != "" && w.SecretFile != "" {
		return fmt.Errorf("webhook %s: give secret_env or secret_file, not both", w.Name)
	}
	if w.RetryMin < 0 || w.RetryMax < 0 || w.Timeout < 0 || w.GiveUp < 0 || (w.RetryMax > 0 && w.RetryMax < w.RetryMin) {
		return fmt.Errorf("webhook %s: retry delays and timeouts are positive, and max_delay is at least delay", w.Name)
	}
	return nil
}

// CheckAll checks hooks and that their names are unique.
func CheckAll(hooks []Webhook) error {
	var errs []error
	seen := map[string]bool{}
	for i := range hooks {
		if err := hooks[i].Check(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[hooks[i].Name] {
			errs = append(errs, fmt.Errorf("webhook %s is listed twice", hooks[i].Name))
		}
		seen[hooks[i].Name] = true
	}
	return errors.Join(errs...)
}

// Secret reads the webhook's signing secret: from SecretFile when it is
// set (surrounding white space trimmed), else from the environment
// variable SecretEnv (default ERPIPE_WEBHOOK_SECRET). The error names
// where it looked, never the secret.
func (w *Webhook) Secret() ([]byte, error) {
	if w.SecretFile != "" {
		b, err := os.ReadFile(w.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: read its secret_file: %w", w.Name, err)
		}
		s := strings.TrimSpace(string(b))
		if len(s) < MinSecret {
			return nil, fmt.Errorf("webhook %s: the secret in %s is shorter than %d characters; make a longer one (openssl rand -hex 32)", w.Name, w.SecretFile, MinSecret)
		}
		return []byte(s), nil
	}
	env := cmpOr(w.SecretEnv, DefaultSecretEnv)
	s := os.Getenv(env)
	if s == "" {
		return nil, fmt.Errorf("webhook %s: set its signing secret in the environment variable %s (or name a secret_file); make one with openssl rand -hex 32", w.Name, env)
	}
	if len(s) < MinSecret {
		return nil, fmt.Errorf("webhook %s: the secret in %s is shorter than %d characters; make a longer one (openssl rand -hex 32)", w.Name, env, MinSecret)
	}
	return []byte(s), nil
}

// MinSecret is the shortest secret taken.
const MinSecret = 16

func (w *Webhook) timeout() time.Duration  { return durOr(w.Timeout, DefaultTimeout) }
func (w *Webhook) retryMin() time.Duration { return durOr(w.RetryMin, DefaultRetryMin) }
func (w *Webhook) retryMax() time.Duration {
	return max(durOr(w.RetryMax, DefaultRetryMax), w.retryMin())
}
func (w *Webhook) giveUp() time.Duration { return durOr(w.GiveUp, DefaultGiveUp) }

// Backoff is the wait after the given number of failed attempts (1 or
// more): RetryMin, doubled after each attempt, at most RetryMax.
func (w *Webhook) Backoff(attempts int) time.Duration {
	d, top := w.retryMin(), w.retryMax()
	for i := 1; i < attempts && d < top; i++ {
		d *= 2
	}
	return min(d, top)
}

// Redact returns a URL fit for logs and the journal: without user
// information, query or fragment, where webhook URLs of some services
// carry their token.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func durOr(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}
