package jobs

import (
	"fmt"
	"time"
)

// ParseSince reads a --since (or ?since=) value: a duration ago (24h), a
// date (2026-11-01) or a time (2026-11-01T08:00:00Z), local time when it
// names no zone.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("since %q: write a date like 2026-11-01, a time like 2026-11-01T08:00:00Z, or a duration like 24h", s)
}

// ParseFilter makes the filter of erpipe jobs (and GET /api/v1/jobs) from
// its words: a status in any letter case, a pipeline, since (ParseSince)
// and the newest limit jobs (0: all).
func ParseFilter(status, pipeline, since string, limit int, now time.Time) (Filter, error) {
	f := Filter{Pipeline: pipeline, Limit: limit}
	if limit < 0 {
		return f, fmt.Errorf("limit %d: give a number of jobs, 1 or more (0 or none for all)", limit)
	}
	if status != "" {
		st, err := ParseStatus(status)
		if err != nil {
			return f, err
		}
		f.Status = st
	}
	if since != "" {
		t, err := ParseSince(since, now)
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	return f, nil
}
