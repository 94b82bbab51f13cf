package workspace

// ScheduleConfig is one scheduled submission in erpipe.yaml: a template
// run on a timetable over the data of one reporting period. Package
// schedule checks it and runs it.
//
//	schedules:
//	  - name: saft-monthly
//	    template: saft-no
//	    cron: "0 6 1 * *"            # 06:00 on the 1st of every month
//	    time_zone: Europe/Oslo
//	    period: previous-month
//	    input:
//	      files: data/ledger/*.csv
//	    on_empty: fail
type ScheduleConfig struct {
	Name     string `yaml:"name"`
	Template string `yaml:"template"` // a built-in name, or a path relative to the workspace
	// AllowDraft lets the schedule use a template whose status is draft.
	AllowDraft bool `yaml:"allow_draft"`
	// Cron is when it runs: five fields (minute hour day-of-month month
	// day-of-week) or a descriptor such as @monthly, @daily, @every 1h.
	Cron string `yaml:"cron"`
	// TimeZone is the IANA zone the cron expression and the periods are
	// read in, e.g. Europe/Oslo (default UTC).
	TimeZone string `yaml:"time_zone"`
	// Period is the period rule: previous-month, previous-quarter,
	// previous-year, previous-day, current-month-to-date or bi-monthly.
	Period string `yaml:"period"`
	// From is the first period to produce, e.g. 2026-09: every period
	// from it on that is due and was never produced is made up. Without
	// it, periods are made up from the first start of the schedule on.
	From string `yaml:"from"`
	// Input says where the period's data comes from.
	Input ScheduleInput `yaml:"input"`
	// OnEmpty is what a period with no data makes: fail (the default; the
	// run fails loudly) or submit (an empty submission is produced).
	OnEmpty string `yaml:"on_empty"`
	// Parameters set the template's parameters. period.start, period.end
	// (yyyy-MM-dd) and period.name are set by the schedule itself.
	Parameters map[string]string `yaml:"parameters"`
	// Retry is how a failed run is tried again.
	Retry        RetryConfig         `yaml:"retry"`
	Destinations []DestinationConfig `yaml:"destinations"`
}

// ScheduleInput is where a schedule's data comes from: files matching a
// pattern, or the files archived by a pipeline during the period.
type ScheduleInput struct {
	// Files is a pattern relative to the workspace, e.g. data/ledger/*.csv.
	Files string `yaml:"files"`
	// Pipeline takes the inputs archived in archive/<pipeline>/<date>/ on
	// the days of the period.
	Pipeline string `yaml:"pipeline"`
	// D365 exports a data project of Dynamics 365 for each period.
	D365 *D365Source `yaml:"d365"`
}

// Validate says what a schedule's d365 input lacks.
func (in ScheduleInput) Validate() error {
	if in.D365 == nil {
		return nil
	}
	return in.D365.validate(true)
}

// RetryConfig is the retry policy of a schedule.
type RetryConfig struct {
	// Attempts is how many times a period is tried in all before it waits
	// for someone to run it by hand (default 3).
	Attempts int `yaml:"attempts"`
	// Delay is the wait before the second attempt; it doubles after each
	// (default 5m).
	Delay Duration `yaml:"delay"`
}
