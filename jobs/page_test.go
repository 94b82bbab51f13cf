package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Paging through the journal newest first gives every job once, in
// order, with the filters, scopes and search done by the journal.
func TestPage(t *testing.T) {
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 257 {
		job := &Job{ID: fmt.Sprintf("j%03d", i), Pipeline: []string{"a", "b", "c"}[i%3], Input: fmt.Sprintf("in-%03d.csv", i),
			Status: Processed, Created: start.Add(time.Duration(i/2) * time.Second)} // two jobs a second: ties broken by ID
		if i%10 == 4 {
			job.Status, job.Errors = Failed, []string{fmt.Sprintf("row %d: Fix: fill in \"Name\"", i)}
		}
		if err := j.Put(ctx, job); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	slices.Reverse(ids)
	all := func(q PageQuery) ([]string, int) {
		t.Helper()
		var got []string
		total := -1
		for pages := 0; ; pages++ {
			p, err := j.Page(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if total >= 0 && p.Total != total {
				t.Fatalf("the total changed from %d to %d between pages", total, p.Total)
			}
			total = p.Total
			for _, job := range p.Jobs {
				got = append(got, job.ID)
			}
			if p.Next == "" {
				return got, total
			}
			if len(p.Jobs) != q.Size || pages > 300 {
				t.Fatalf("a page of %d jobs, not the last, for a size of %d", len(p.Jobs), q.Size)
			}
			q.After = p.Next
		}
	}
	if got, total := all(PageQuery{Size: 10}); !slices.Equal(got, ids) || total != 257 {
		t.Errorf("every job, newest first: %d jobs of %d, total %d", len(got), len(ids), total)
	}
	if got, total := all(PageQuery{Size: 7, Filter: Filter{Status: Failed, Pipeline: "b"}}); len(got) != total || total != 9 {
		t.Errorf("failed jobs of b: %v, total %d", got, total)
	}
	if got, _ := all(PageQuery{Size: 50, Pipelines: []string{"a", "c"}}); len(got) != 171 {
		t.Errorf("the jobs of pipelines a and c: %d", len(got))
	}
	// The search looks at the ID, the input and the record (errors), in
	// any case; LIKE's wildcards are taken as they are.
	for _, c := range []struct {
		search string
		want   int
	}{{"IN-01", 10}, {"j25", 7}, {"fill in \"name\"", 26}, {"row 14:", 1}, {"%", 0}, {`\`, 0}} {
		if got, total := all(PageQuery{Size: 4, Search: c.search}); len(got) != c.want || total != c.want {
			t.Errorf("search %q: %d jobs (total %d), want %d", c.search, len(got), total, c.want)
		}
	}
	if _, err := j.Page(ctx, PageQuery{After: "not-a-cursor"}); err != ErrBadCursor {
		t.Errorf("a made-up cursor: %v", err)
	}
}
