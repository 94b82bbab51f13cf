package events

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Dispatcher delivers the outbox's pending deliveries to their webhooks:
// each at least once, oldest first per webhook, signed, retried with
// capped exponential back-off (Webhook.Backoff, with jitter) until the
// webhook answers 2xx or the delivery is older than its give-up time.
// Its state is the outbox's, so a restart goes on where it stopped; a
// delivery that was in flight at a crash is sent again, with the same
// event id.
type Dispatcher struct {
	Store *Store
	// Hooks returns the webhooks configured now (they change with the
	// configuration).
	Hooks func() []Webhook
	// Client sends the requests (nil: one that follows no redirects).
	Client *http.Client
	Log    *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Poll is how often the outbox is looked at when nothing wakes the
	// dispatcher (default 5s): for events added by another process.
	Poll time.Duration
	// Batch is how many due deliveries one round takes (default 100).
	Batch int

	mu      sync.Mutex
	clients map[string]*http.Client // by CA file
}

// Run delivers until ctx is done. Each webhook has a goroutine of its
// own while it has pending deliveries, so that a webhook that is down or
// slow holds up only its own.
func (d *Dispatcher) Run(ctx context.Context) error {
	lanes := map[string]*lane{}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		names, err := d.Store.PendingWebhooks(ctx)
		if err != nil && ctx.Err() == nil {
			d.log().Error("events: could not read the outbox; trying again", "err", err)
		}
		for _, name := range names {
			if l := lanes[name]; l != nil && !l.done.Load() {
				l.wakeUp()
				continue
			}
			l := &lane{name: name, wake: make(chan struct{}, 1)}
			lanes[name] = l
			wg.Go(func() { d.runLane(ctx, l) })
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.Store.wake:
		case <-time.After(d.poll()):
		}
	}
}

// lane is the goroutine of one webhook's deliveries.
type lane struct {
	name string
	wake chan struct{}
	done atomic.Bool // it found nothing pending and ended
}

func (l *lane) wakeUp() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// runLane attempts the webhook's due deliveries, oldest first, then waits
// for the next one to come due, until none is pending or ctx is done.
func (d *Dispatcher) runLane(ctx context.Context, l *lane) {
	defer l.done.Store(true)
	for ctx.Err() == nil {
		due, err := d.Store.DueFor(ctx, l.name, d.now(), cmpInt(d.Batch, 100))
		if err == nil {
			hook := d.hook(l.name)
			for _, dl := range due {
				if ctx.Err() != nil {
					return
				}
				d.attempt(ctx, hook, dl)
			}
		}
		next, pending, nerr := d.Store.NextDue(ctx, l.name)
		if err == nil && nerr == nil && !pending {
			return
		}
		wait := d.poll()
		if pending {
			wait = min(max(next.Sub(d.now()), 0), wait)
		}
		if err == nil && len(due) == cmpInt(d.Batch, 100) {
			wait = 0 // a full batch: there may be more
		}
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		case <-time.After(wait):
		}
	}
}

// hook is the configured webhook named name, or nil.
func (d *Dispatcher) hook(name string) *Webhook {
	for _, h := range d.Hooks() {
		if h.Name == name {
			return &h
		}
	}
	return nil
}

func (d *Dispatcher) poll() time.Duration { return durOr(d.Poll, 5*time.Second) }

// Round attempts every delivery due now (up to Batch), each webhook's in
// order on a goroutine of its own, and returns how many it attempted.
func (d *Dispatcher) Round(ctx context.Context) (int, error) {
	due, err := d.Store.Due(ctx, d.now(), cmpInt(d.Batch, 100))
	if err != nil {
		return 0, err
	}
	hooks := map[string]*Webhook{}
	for _, h := range d.Hooks() {
		hooks[h.Name] = &h
	}
	byHook := map[string][]*Delivery{}
	var order []string
	for _, dl := range due {
		if byHook[dl.Webhook] == nil {
			order = append(order, dl.Webhook)
		}
		byHook[dl.Webhook] = append(byHook[dl.Webhook], dl)
	}
	var wg sync.WaitGroup
	for _, name := range order {
		wg.Go(func() {
			for _, dl := range byHook[name] {
				if ctx.Err() != nil {
					return
				}
				d.attempt(ctx, hooks[name], dl)
			}
		})
	}
	wg.Wait()
	return len(due), nil
}

// attempt sends dl to hook (nil: no longer configured) and records the
// outcome.
func (d *Dispatcher) attempt(ctx context.Context, hook *Webhook, dl *Delivery) {
	now := d.now()
	if hook == nil {
		dl.Status, dl.LastError, dl.NextAttempt = Dropped, "the webhook "+dl.Webhook+" is no longer in erpipe.yaml; the event was not delivered", time.Time{}
		d.record(ctx, dl)
		return
	}
	dl.Attempts++
	dl.LastAttempt = now
	code, err := d.send(ctx, hook, dl)
	if ctx.Err() != nil && err != nil {
		return // stopped mid-request: the delivery stays as it was, and is sent at the next start
	}
	dl.LastCode = code
	switch {
	case err == nil:
		dl.Status, dl.LastError, dl.Delivered, dl.NextAttempt = Delivered, "", d.now(), time.Time{}
		d.log().Info("events: delivered", "event", dl.EventID, "type", dl.Type, "webhook", dl.Webhook, "attempts", dl.Attempts)
	case now.Sub(dl.Created) >= hook.giveUp():
		dl.Status, dl.LastError, dl.NextAttempt = GivenUp, err.Error(), time.Time{}
		d.log().Error("events: delivery given up", "event", dl.EventID, "webhook", dl.Webhook, "attempts", dl.Attempts,
			"give_up_after", hook.giveUp(), "err", err)
	default:
		wait := jitter(hook.Backoff(dl.Attempts))
		dl.LastError, dl.NextAttempt = err.Error(), now.Add(wait)
		d.log().Warn("events: webhook did not take the event; it is sent again later", "event", dl.EventID, "webhook", dl.Webhook,
			"attempts", dl.Attempts, "retry_in", wait.Round(time.Millisecond), "err", err)
	}
	d.record(ctx, dl)
}

func (d *Dispatcher) record(ctx context.Context, dl *Delivery) {
	if err := d.Store.Result(context.WithoutCancel(ctx), dl); err != nil {
		d.log().Error("events: could not record a delivery; it may be sent again", "event", dl.EventID, "err", err)
	}
}

// send posts dl's body to hook, signed, and returns the HTTP status.
func (d *Dispatcher) send(ctx context.Context, hook *Webhook, dl *Delivery) (int, error) {
	secret, err := hook.Secret()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, hook.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return 0, fmt.Errorf("webhook %s: %s", hook.Name, redactErr(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "erpipe-webhooks/1")
	req.Header.Set(HeaderEventID, dl.EventID)
	req.Header.Set(HeaderEventType, string(dl.Type))
	req.Header.Set(HeaderAttempt, strconv.Itoa(dl.Attempts))
	req.Header.Set(HeaderSignature, Sign(secret, dl.Body, d.now()))
	client, err := d.clientFor(hook)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %s", Redact(hook.URL), redactErr(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("POST %s answered %s", Redact(hook.URL), resp.Status)
	}
	return resp.StatusCode, nil
}

// redactErr is err's text without the URL's query and user information.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// clientFor is the client for hook: Client, else one that follows no
// redirects (a webhook that moved says so in its answer, and a signed body
// is not handed on to another host) and trusts hook's CAFile besides the
// system's certificates.
func (d *Dispatcher) clientFor(hook *Webhook) (*http.Client, error) {
	if d.Client != nil {
		return d.Client, nil
	}
	if hook.CAFile == "" {
		return defaultClient, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clients[hook.CAFile]; ok {
		return c, nil
	}
	pem, err := os.ReadFile(hook.CAFile)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: ca_file: %w", hook.Name, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("webhook %s: ca_file %s has no PEM certificate", hook.Name, hook.CAFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c := &http.Client{Transport: tr, CheckRedirect: noRedirects}
	if d.clients == nil {
		d.clients = map[string]*http.Client{}
	}
	d.clients[hook.CAFile] = c
	return c, nil
}

var defaultClient = &http.Client{CheckRedirect: noRedirects}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// jitter spreads d over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)))
}

func cmpInt(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}
