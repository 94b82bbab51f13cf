// Package schedule runs scheduled regulatory submissions: a template run on
// a timetable (cron, in a time zone) over the data of one reporting period,
// each period produced exactly once and recorded with an audit trail.
//
// The period is handed to the template as the parameters period.start and
// period.end (yyyy-MM-dd, both included; declared with type: date they are
// dates) and period.name (2026-10, 2026-Q3, 2026-T5...), for those of them
// the template declares: its filter keeps the period's records, and its
// output.file_name can name the file after the period. Templates written
// before dotted parameter names existed may declare period_start,
// period_end and period_name instead; they are set the same way. Each (schedule, period) has one row in the
// journal's schedule tables (jobs.Runs); each attempt is a job whose
// Submission holds the audit trail, also written as receipt.json beside
// the output in archive/<schedule>/<period>/<job id>/.
package schedule

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
)

// The parameters the schedule sets on templates that declare them.
const (
	ParamStart = "period.start"
	ParamEnd   = "period.end"
	ParamName  = "period.name"
)

// legacyParams are the names of the period parameters before dotted names
// existed, still set on templates that declare them.
var legacyParams = map[string]string{"period_start": ParamStart, "period_end": ParamEnd, "period_name": ParamName}

// periodParams returns the period's parameters, under the current and the
// legacy names.
func periodParams(p Period) map[string]string {
	out := map[string]string{ParamStart: p.StartDate(), ParamEnd: p.EndDate(), ParamName: p.Name}
	for old, cur := range legacyParams {
		out[old] = out[cur]
	}
	return out
}

// On-empty choices.
const (
	EmptyFail   = "fail"
	EmptySubmit = "submit"
)

// Schedule is a checked schedule of erpipe.yaml.
type Schedule struct {
	Name         string
	Template     *transform.Template
	CronText     string
	Cron         cron.Schedule
	Location     *time.Location
	Rule         Rule
	From         *Period // first period to make up, or nil
	Files        string  // absolute pattern, or ""
	Pipeline     string  // pipeline whose archive is read, or ""
	D365         *Export // a D365 export run for each period, or nil
	OnEmpty      string
	Parameters   map[string]string
	Attempts     int
	Delay        time.Duration
	Destinations []outbox.Destination
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Load checks the schedules of ws's erpipe.yaml and prepares them. Every
// problem is reported, each naming the schedule and what to write
// instead.
func Load(ws *workspace.Workspace) ([]*Schedule, error) {
	var errs []error
	var out []*Schedule
	seen := map[string]bool{}
	for i, sc := range ws.Config.Schedules {
		s, err := load(ws, sc)
		if err != nil {
			label := fmt.Sprintf("schedule %q", sc.Name)
			if sc.Name == "" {
				label = fmt.Sprintf("schedule %d", i+1)
			}
			errs = append(errs, fmt.Errorf("%s: %s: %w", workspace.ConfigFile, label, err))
			continue
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%s: schedule %q is listed twice", workspace.ConfigFile, s.Name))
			continue
		}
		seen[s.Name] = true
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func load(ws *workspace.Workspace, sc workspace.ScheduleConfig) (*Schedule, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &Schedule{Name: sc.Name, CronText: sc.Cron, Parameters: sc.Parameters, OnEmpty: sc.OnEmpty,
		Attempts: sc.Retry.Attempts, Delay: time.Duration(sc.Retry.Delay)}
	if sc.Name == "" || strings.ContainsAny(sc.Name, `/\ `) || sc.Name[0] == '.' {
		return nil, errors.New("give the schedule a name, a plain folder name such as saft-monthly")
	}
	if ws.Pipeline(sc.Name) != nil {
		bad("the name is also a pipeline's; their archives would mix: name the schedule otherwise, e.g. %s-monthly", sc.Name)
	}
	if sc.Template == "" {
		bad("say which template it runs (template: saft-no)")
	} else if t, err := ws.LoadTemplate(sc.Template); err != nil {
		bad("template: %w", err)
	} else if t.Status != "completed" && !sc.AllowDraft {
		bad("template %s %s is a %s; set status: completed in the template when it is ready, or allow_draft: true on the schedule to try it", t.Name, t.Version, t.Status)
	} else {
		s.Template = t
	}
	s.Location = time.UTC
	if sc.TimeZone != "" {
		loc, err := time.LoadLocation(sc.TimeZone)
		if err != nil {
			bad("time_zone %q is not a time zone; write an IANA name such as Europe/Oslo or UTC", sc.TimeZone)
		} else {
			s.Location = loc
		}
	}
	if sc.Cron == "" {
		bad(`say when it runs: cron: "0 6 1 * *" (five fields: minute hour day-of-month month day-of-week) or a descriptor such as @monthly`)
	} else if strings.HasPrefix(sc.Cron, "TZ=") || strings.HasPrefix(sc.Cron, "CRON_TZ=") {
		bad("cron %q: give the time zone in time_zone, not in the expression", sc.Cron)
	} else if c, err := cronParser.Parse(sc.Cron); err != nil {
		bad("cron %q is not a cron expression (%v); write five fields, minute hour day-of-month month day-of-week, such as \"0 6 1 * *\", or a descriptor such as @monthly or @daily", sc.Cron, err)
	} else {
		s.Cron = c
	}
	if sc.Period == "" {
		bad("say which period a run covers: period: previous-month (or %s)", strings.Join(ruleNames()[1:], ", "))
	} else if r, err := ParseRule(sc.Period); err != nil {
		bad("%w", err)
	} else {
		s.Rule = r
		if sc.From != "" {
			p, err := r.Parse(sc.From)
			if err != nil {
				bad("from: %w", err)
			} else {
				s.From = &p
			}
		}
	}
	switch {
	case (sc.Input.Files != "") && (sc.Input.Pipeline != "") || (sc.Input.Files != "" || sc.Input.Pipeline != "") && sc.Input.D365 != nil:
		bad("input: give one of files, pipeline and d365")
	case sc.Input.D365 != nil:
		if err := sc.Input.Validate(); err != nil {
			bad("input: %w", err)
			break
		}
		c, err := sc.Input.D365.Client(ws.Root)
		if err != nil {
			bad("input: %w", err)
			break
		}
		s.D365 = &Export{Source: *sc.Input.D365, client: c}
	case sc.Input.Files != "":
		pattern := sc.Input.Files
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(ws.Root, pattern)
		}
		if _, err := filepath.Match(pattern, ""); err != nil {
			bad("input: files %q is not a file pattern (%v); write it like data/ledger/*.csv", sc.Input.Files, err)
		}
		s.Files = pattern
	case sc.Input.Pipeline != "":
		if ws.Pipeline(sc.Input.Pipeline) == nil {
			bad("input: there is no pipeline %q whose archive to read", sc.Input.Pipeline)
		}
		s.Pipeline = sc.Input.Pipeline
	default:
		bad("say where its data comes from: input: {files: data/ledger/*.csv}, input: {pipeline: NAME} (the files the pipeline archived during the period) or input: {d365: {...}} (an export data project of Dynamics 365)")
	}
	switch s.OnEmpty {
	case "":
		s.OnEmpty = EmptyFail
	case EmptyFail, EmptySubmit:
	default:
		bad("on_empty %q: write fail (a period with no data fails loudly) or submit (an empty submission is produced)", sc.OnEmpty)
	}
	if s.Template != nil {
		for name := range sc.Parameters {
			if name == ParamStart || name == ParamEnd || name == ParamName || legacyParams[name] != "" {
				bad("parameters: %s is set by the schedule from the period; leave it out", name)
			}
		}
		if _, err := s.Template.WithParameters(sc.Parameters); err != nil {
			bad("parameters: %w", err)
		}
	}
	if s.Attempts == 0 {
		s.Attempts = 3
	} else if s.Attempts < 0 {
		bad("retry: attempts %d: give a number of attempts, 1 or more", s.Attempts)
	}
	if s.Delay == 0 {
		s.Delay = 5 * time.Minute
	} else if s.Delay < 0 {
		bad("retry: delay must be positive, like 5m")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	ds, err := jobs.Destinations(ws, s.Name, sc.Destinations)
	if err != nil {
		return nil, err
	}
	s.Destinations = ds
	return s, nil
}

func ruleNames() []string {
	out := make([]string, len(Rules))
	for i, r := range Rules {
		out[i] = string(r)
	}
	return out
}

// Next returns the schedule's first run time after t.
func (s *Schedule) Next(t time.Time) time.Time { return s.Cron.Next(t.In(s.Location)) }

// PeriodAt returns the period a run at t covers.
func (s *Schedule) PeriodAt(t time.Time) Period { return s.Rule.At(t.In(s.Location)) }

// Find returns the schedule called name, or an error listing the names.
func Find(list []*Schedule, name string) (*Schedule, error) {
	var names []string
	for _, s := range list {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("there is no schedule %q: %s has no schedules", name, workspace.ConfigFile)
	}
	return nil, fmt.Errorf("there is no schedule %q; the schedules are %s", name, strings.Join(names, ", "))
}
