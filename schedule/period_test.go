package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleRuleAt(t *testing.T) {
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		rule             Rule
		at               time.Time
		name, start, end string
	}{
		{PreviousMonth, time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC), "2026-10", "2026-10-01", "2026-10-31"},
		{PreviousMonth, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2025-12", "2025-12-01", "2025-12-31"},
		{PreviousMonth, time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC), "2024-02", "2024-02-01", "2024-02-29"},
		// 23:30 UTC on 31 October is already 1 November in Oslo.
		{PreviousMonth, time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC).In(oslo), "2026-10", "2026-10-01", "2026-10-31"},
		{PreviousQuarter, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), "2026-Q3", "2026-07-01", "2026-09-30"},
		{PreviousQuarter, time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), "2025-Q4", "2025-10-01", "2025-12-31"},
		{PreviousYear, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2025", "2025-01-01", "2025-12-31"},
		{PreviousDay, time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC), "2026-02-28", "2026-02-28", "2026-02-28"},
		{CurrentMonthToDate, time.Date(2026, 11, 3, 6, 0, 0, 0, time.UTC), "2026-11-03", "2026-11-01", "2026-11-03"},
		{BiMonthly, time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC), "2026-T5", "2026-09-01", "2026-10-31"},
		{BiMonthly, time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), "2025-T6", "2025-11-01", "2025-12-31"},
		{BiMonthly, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "2026-T1", "2026-01-01", "2026-02-28"},
	}
	for _, c := range cases {
		p := c.rule.At(c.at)
		if p.Name != c.name || p.StartDate() != c.start || p.EndDate() != c.end {
			t.Errorf("%s at %s = %s, want %s (%s to %s)", c.rule, c.at, p, c.name, c.start, c.end)
		}
		// The name reads back as the same period.
		back, err := c.rule.Parse(p.Name)
		if err != nil || back != p {
			t.Errorf("%s: Parse(%q) = %v, %v; want %v", c.rule, p.Name, back, err, p)
		}
	}
}

func TestScheduleRuleNext(t *testing.T) {
	cases := []struct {
		rule       Rule
		from, want string
	}{
		{PreviousMonth, "2026-12", "2027-01"},
		{PreviousQuarter, "2026-Q4", "2027-Q1"},
		{PreviousYear, "2025", "2026"},
		{PreviousDay, "2026-02-28", "2026-03-01"},
		{CurrentMonthToDate, "2026-10-31", "2026-11-01"},
		{BiMonthly, "2026-T6", "2027-T1"},
	}
	for _, c := range cases {
		p, err := c.rule.Parse(c.from)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.rule.Next(p).Name; got != c.want {
			t.Errorf("%s: Next(%s) = %s, want %s", c.rule, c.from, got, c.want)
		}
	}
}

func TestScheduleRuleParseErrors(t *testing.T) {
	cases := []struct {
		rule Rule
		name string
		want string
	}{
		{PreviousMonth, "2026-13", "a month as yyyy-MM, like 2026-10"},
		{PreviousMonth, "October", "a month as yyyy-MM"},
		{PreviousQuarter, "2026-Q5", "yyyy-Qn"},
		{PreviousYear, "26", "a year as yyyy"},
		{PreviousDay, "2026-02-30", "a day as yyyy-MM-dd"},
		{CurrentMonthToDate, "2026-11", "the last day as yyyy-MM-dd"},
		{BiMonthly, "2026-T7", "yyyy-Tn"},
	}
	for _, c := range cases {
		_, err := c.rule.Parse(c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Parse(%q) = %v, want an error saying %q", c.rule, c.name, err, c.want)
		}
	}
	if _, err := ParseRule("monthly"); err == nil || !strings.Contains(err.Error(), "previous-month") {
		t.Errorf("ParseRule(monthly) = %v, want an error listing the rules", err)
	}
}
