package jobs

import (
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status, pipeline, since string
		limit                   int
		want                    Filter
		err                     string
	}{
		{"", "", "", 0, Filter{}, ""},
		{"failed", "p", "", 5, Filter{Status: Failed, Pipeline: "p", Limit: 5}, ""},
		{"PROCESSEDWITHERRORS", "", "24h", 0, Filter{Status: ProcessedWithErrors, Since: now.Add(-24 * time.Hour)}, ""},
		{"", "", "2026-11-01T08:00:00Z", 0, Filter{Since: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)}, ""},
		{"done", "", "", 0, Filter{}, "is not a job status"},
		{"", "", "yesterday", 0, Filter{}, "write a date like"},
		{"", "", "", -1, Filter{}, "1 or more"},
	} {
		f, err := ParseFilter(tc.status, tc.pipeline, tc.since, tc.limit, now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseFilter(%q, %q, %q, %d): %v, want an error with %q", tc.status, tc.pipeline, tc.since, tc.limit, err, tc.err)
			}
			continue
		}
		if err != nil || f.Status != tc.want.Status || f.Pipeline != tc.want.Pipeline || f.Limit != tc.want.Limit || !f.Since.Equal(tc.want.Since) {
			t.Errorf("ParseFilter(%q, %q, %q, %d) = %+v, %v; want %+v", tc.status, tc.pipeline, tc.since, tc.limit, f, err, tc.want)
		}
	}
}
