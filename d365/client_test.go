package d365

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		header string
		def    time.Duration
		want   time.Duration
	}{
		{"", 30 * time.Second, 30 * time.Second},
		{"7", 0, 7 * time.Second},
		{" 0 ", time.Second, 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 0, 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, 0}, // a date gone by: at once
		{"soon", 5 * time.Second, 5 * time.Second},
		{"-3", 5 * time.Second, 5 * time.Second},
	} {
		if got := retryAfter(c.header, now, c.def); got != c.want {
			t.Errorf("retryAfter(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

// TestMessages: GetExecutionErrors is answered as a list of strings, a
// list of objects, or a string holding a list, depending on the version.
func TestMessages(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{`["a","b"]`, []string{"a", "b"}},
		{`"[\"a\",\"b\"]"`, []string{"a", "b"}},
		{`[{"message":"m1"},{"ErrorMessage":"m2"}]`, []string{"m1", "m2"}},
		{`"one message"`, []string{"one message"}},
		{`""`, nil},
		{`[]`, nil},
	} {
		if got := messages(json.RawMessage(c.raw)); !slices.Equal(got, c.want) {
			t.Errorf("messages(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	for _, cfg := range []Config{
		{Environment: "http://contoso.operations.dynamics.com", Tenant: "t", ClientID: "c", Secret: "s"},
		{Environment: "contoso", Tenant: "t", ClientID: "c", Secret: "s"},
		{Environment: "https://contoso.operations.dynamics.com", Tenant: "t", ClientID: "c"},
		{Environment: "https://contoso.operations.dynamics.com", Tenant: "t", ClientID: "c", Secret: "s", CAFile: "/nonexistent.pem"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
