package keytemplate

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAndExpand(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 12, 7, 23, 30, 0, 0, time.FixedZone("CET", 3600)) }
	ok := func(string) error { return nil }
	for _, c := range []struct {
		tmpl string
		v    Values
		want string // or the error's text
	}{
		{"{prefix}{name}", Values{Prefix: "d365/", Name: "c.zip"}, "d365/c.zip"},
		{"{prefix}{date}/{job}-{name}", Values{Prefix: "p/", Name: "c.zip", Job: "J1"}, "p/2026-12-07/J1-c.zip"},
		{"{date}/{name}", Values{Name: "c.zip", Date: "2026-01-31"}, "2026-01-31/c.zip"},
		{"{date}/{name}", Values{Name: "c.zip", Date: "31.01.2026"}, `error: metadata "date": "31.01.2026" is not a date`},
		{"{job}/{name}", Values{Name: "c.zip"}, "error: the key template uses {job} but the put has no job id"},
		{"{prefix}", Values{}, "error: has no {name}"},
		{"{nam}", Values{}, "error: unknown placeholder {nam} at byte 1"},
		{"a}{name}", Values{}, "error: '}' at byte 2 has no '{'"},
		{"{name", Values{}, "error: '{' at byte 1 is not closed by '}'"},
	} {
		tm, err := Parse(c.tmpl)
		got := ""
		if err == nil {
			got, err = tm.Expand(c.v, now, ok)
		}
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%q with %+v: %q, want %q", c.tmpl, c.v, got, c.want)
		}
	}
	tm, _ := Parse("{job}/{name}")
	if _, err := tm.Expand(Values{Name: "n", Job: "../x"}, now, func(string) error { return errors.New("bad") }); err == nil || !strings.Contains(err.Error(), `metadata "job": bad`) {
		t.Errorf("a job id checkJob refuses: %v", err)
	}
}
