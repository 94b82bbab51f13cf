package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/erpipe/erpipe/jobs"
)

// progressView is how far a running job has read its input, as the
// journal records it about once a second.
type progressView struct {
	Rows       int       `json:"rows"`
	Bytes      int64     `json:"bytes,omitempty"`
	At         time.Time `json:"at"`
	RowsPerSec float64   `json:"rows_per_second,omitempty"`
	Percent    float64   `json:"percent,omitempty"` // of the input's bytes, when known
}

func viewProgress(j *jobs.Job) *progressView {
	p := j.Progress
	v := &progressView{Rows: p.Rows, Bytes: p.Bytes, At: p.At, RowsPerSec: math.Round(p.Rate(j.Started))}
	if p.Bytes > 0 && j.InputSize > 0 {
		v.Percent = math.Round(1000*float64(min(p.Bytes, j.InputSize))/float64(j.InputSize)) / 10
	}
	return v
}

// pageJobs serves GET /api/v1/jobs with page_size, cursor or q: a page of
// the jobs newest first, filtered and searched by the journal, with the
// cursor of the next page and the number of jobs that match.
func (a *API) pageJobs(w http.ResponseWriter, r *http.Request, c *caller, f jobs.Filter) {
	q := r.URL.Query()
	size := 50
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > jobs.MaxPage {
			writeError(w, http.StatusBadRequest, "bad_filter", fmt.Sprintf("page_size %q: give a number of jobs from 1 to %d", s, jobs.MaxPage))
			return
		}
		size = n
	}
	search := q.Get("q")
	if len(search) > 200 {
		writeError(w, http.StatusBadRequest, "bad_filter", "the search is longer than 200 characters")
		return
	}
	f.Limit = 0
	page, err := a.svc.Journal().Page(r.Context(), jobs.PageQuery{Filter: f, Search: search, Pipelines: c.pipelines, After: q.Get("cursor"), Size: size})
	if errors.Is(err, jobs.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "bad_cursor", err.Error())
		return
	}
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	out := []jobView{}
	for _, j := range page.Jobs {
		out = append(out, viewJob(j))
	}
	body := map[string]any{"jobs": out, "total": page.Total}
	if page.Next != "" {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", page.Next)
		next.Set("page_size", strconv.Itoa(size))
		body["next"] = "/api/v1/jobs?" + next.Encode()
		body["cursor"] = page.Next
	}
	writeJSON(w, http.StatusOK, body)
}
