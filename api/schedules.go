package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
)

// The schedules' endpoints: each schedule with what its periods came to
// (produced, failed, due, running), a schedule's periods with every
// version, running a period now, and a correction with its reason (the
// --force path of erpipe schedule run).

type scheduleView struct {
	Name       string         `json:"name"`
	Template   string         `json:"template"`
	Version    string         `json:"template_version,omitempty"`
	Cron       string         `json:"cron"`
	Location   string         `json:"location"`
	Rule       string         `json:"period_rule"`
	Period     string         `json:"current_period"` // the period a run now covers
	NextRun    time.Time      `json:"next_run"`
	NextPeriod string         `json:"next_period"`
	Counts     map[string]int `json:"counts"` // periods by the status of their latest version: Produced, Failed, Due, Running
	Last       *runView       `json:"last,omitempty"`
	Run        string         `json:"run"`     // URL to POST to run a period
	Periods    string         `json:"periods"` // URL of its periods
}

// runView is one version of a period.
type runView struct {
	Period       string     `json:"period"`
	Start        string     `json:"start"`
	Version      int        `json:"version"`
	Status       string     `json:"status"` // Due, Running, Produced or Failed
	Attempts     int        `json:"attempts"`
	Job          string     `json:"job,omitempty"`
	CorrectionOf string     `json:"correction_of,omitempty"`
	Error        string     `json:"error,omitempty"`
	Due          *time.Time `json:"due,omitempty"`
	NextAttempt  *time.Time `json:"next_attempt,omitempty"`
	Updated      time.Time  `json:"updated"`
	Receipt      string     `json:"receipt,omitempty"` // URL of its receipt.json, once produced
}

// periodView is a period: its latest version, and every version.
type periodView struct {
	runView
	Versions []runView `json:"versions"`
}

func viewRun(run *jobs.Run) runView {
	v := runView{Period: run.Period, Start: run.Start, Version: run.Version, Status: string(run.Status), Attempts: run.Attempts,
		Job: run.Job, CorrectionOf: run.CorrectionOf, Error: run.Error, Updated: run.Updated}
	if !run.Due.IsZero() {
		v.Due = &run.Due
	}
	if !run.NextAttempt.IsZero() {
		v.NextAttempt = &run.NextAttempt
	}
	if run.Status == jobs.RunProduced && run.Job != "" {
		v.Receipt = "/api/v1/jobs/" + url.PathEscape(run.Job) + "/receipt"
	}
	return v
}

func (a *API) viewSchedule(s *schedule.Schedule, runs []*jobs.Run, now time.Time) scheduleView {
	base := "/api/v1/schedules/" + url.PathEscape(s.Name)
	v := scheduleView{Name: s.Name, Template: s.Template.Name, Version: s.Template.Version, Cron: s.CronText, Location: s.Location.String(),
		Rule: string(s.Rule), Period: s.PeriodAt(now).Name, NextRun: s.Next(now), Counts: map[string]int{},
		Run: base + "/run", Periods: base}
	v.NextPeriod = s.PeriodAt(v.NextRun).Name
	for _, st := range []jobs.RunStatus{jobs.RunProduced, jobs.RunFailed, jobs.RunDue, jobs.RunRunning} {
		v.Counts[string(st)] = 0
	}
	var last *jobs.Run
	for _, p := range periods(runs) {
		latest := p[len(p)-1]
		v.Counts[string(latest.Status)]++
		if latest.Status != jobs.RunDue && (last == nil || latest.Updated.After(last.Updated)) {
			last = latest
		}
	}
	if last != nil {
		lv := viewRun(last)
		v.Last = &lv
	}
	return v
}

// periods groups a schedule's runs by period, in the order given (oldest
// period first), each period's versions ascending.
func periods(runs []*jobs.Run) [][]*jobs.Run {
	var out [][]*jobs.Run
	at := map[string]int{}
	for _, r := range runs {
		i, ok := at[r.Period]
		if !ok {
			i = len(out)
			at[r.Period] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	for _, p := range out {
		for i := 1; i < len(p); i++ { // by version: few, and nearly sorted
			for k := i; k > 0 && p[k].Version < p[k-1].Version; k-- {
				p[k], p[k-1] = p[k-1], p[k]
			}
		}
	}
	return out
}

func (a *API) listSchedules(w http.ResponseWriter, r *http.Request, c *caller) {
	out := []scheduleView{}
	if a.runner != nil {
		now := a.runner.Now()
		for _, s := range a.runner.Schedules() {
			runs, err := a.runner.Runs(r.Context(), s.Name)
			if err != nil {
				a.internalError(w, r, err)
				return
			}
			out = append(out, a.viewSchedule(s, runs, now))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedules": out})
}

// getSchedule serves a schedule with its periods, the newest first.
func (a *API) getSchedule(w http.ResponseWriter, r *http.Request, c *caller) {
	s, ok := a.findSchedule(w, r)
	if !ok {
		return
	}
	runs, err := a.runner.Runs(r.Context(), s.Name)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	ps := []periodView{}
	grouped := periods(runs)
	for i := len(grouped) - 1; i >= 0; i-- {
		p := grouped[i]
		pv := periodView{runView: viewRun(p[len(p)-1]), Versions: []runView{}}
		for _, run := range p {
			pv.Versions = append(pv.Versions, viewRun(run))
		}
		ps = append(ps, pv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedule": a.viewSchedule(s, runs, a.runner.Now()), "periods": ps})
}

func (a *API) findSchedule(w http.ResponseWriter, r *http.Request) (*schedule.Schedule, bool) {
	if a.runner == nil {
		writeError(w, http.StatusNotFound, "no_schedule", "this erpipe runs no schedules (schedules: in erpipe.yaml)")
		return nil, false
	}
	s, err := schedule.Find(a.runner.Schedules(), r.PathValue("name"))
	if err != nil {
		writeError(w, http.StatusNotFound, "no_schedule", err.Error())
		return nil, false
	}
	return s, true
}

// runSchedule produces a period now: ?period= (default: the one a run
// now covers); force=true makes a correction of a produced period, or
// runs one that has not ended, and needs a reason (?reason= or the
// form's reason), kept in the job's audit trail and receipt.
func (a *API) runSchedule(w http.ResponseWriter, r *http.Request, c *caller) {
	if len(c.pipelines) > 0 {
		writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("%s is limited to pipelines %v and may not run schedules", c.who(), c.pipelines))
		return
	}
	s, ok := a.findSchedule(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	force := q.Get("force") == "true"
	reason := strings.TrimSpace(q.Get("reason"))
	if len(reason) > 1000 {
		writeError(w, http.StatusBadRequest, "bad_reason", "the reason is longer than 1000 characters; say it in a sentence or two")
		return
	}
	if force && reason == "" {
		writeError(w, http.StatusBadRequest, "reason_required", fmt.Sprintf("schedule %s: a correction (force=true) needs a reason, kept in its audit trail and receipt: add reason=...", s.Name))
		return
	}
	now := a.runner.Now()
	p := s.PeriodAt(now)
	if period := q.Get("period"); period != "" {
		var err error
		if p, err = s.Rule.Parse(period); err != nil {
			writeError(w, http.StatusBadRequest, "bad_period", fmt.Sprintf("schedule %s: %v", s.Name, err))
			return
		}
	}
	if err := s.CheckEnded(p, now); err != nil && !force {
		writeError(w, http.StatusConflict, "not_ended", err.Error()+" with force=true and a reason")
		return
	}
	by := c.who()
	if c.name == "" {
		by = "the console on this machine (open API)"
	}
	job, err := a.runner.ProduceFor(context.WithoutCancel(r.Context()), s, p, force, schedule.Request{By: by, Reason: reason})
	a.answerProduced(w, r, job, err)
}

// jobReceipt serves a scheduled job's receipt.json.
func (a *API) jobReceipt(w http.ResponseWriter, r *http.Request, c *caller) {
	j, ok := a.job(w, r, c)
	if !ok {
		return
	}
	if j.Submission == nil || j.Submission.Receipt == "" {
		writeError(w, http.StatusNotFound, "no_receipt", fmt.Sprintf("job %s has no receipt: receipts are written for the periods schedules produced", j.ID))
		return
	}
	serveFile(w, r, j.Submission.Receipt, "application/json")
}
