package schedule

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Rule says which reporting period a run covers, given the moment it runs.
type Rule string

// The period rules.
const (
	PreviousMonth      Rule = "previous-month"        // the calendar month before the run: 2026-10
	PreviousQuarter    Rule = "previous-quarter"      // the calendar quarter before the run: 2026-Q3
	PreviousYear       Rule = "previous-year"         // the calendar year before the run: 2025
	PreviousDay        Rule = "previous-day"          // the day before the run: 2026-11-02
	CurrentMonthToDate Rule = "current-month-to-date" // the 1st of the run's month to the run's day: 2026-11-03
	BiMonthly          Rule = "bi-monthly"            // the two-month term before the run (Norway's VAT terms 1-6): 2026-T5
	dateLayout              = "2006-01-02"
)

// Rules lists every rule, for messages.
var Rules = []Rule{PreviousMonth, PreviousQuarter, PreviousYear, PreviousDay, CurrentMonthToDate, BiMonthly}

// ParseRule checks a rule name from erpipe.yaml.
func ParseRule(s string) (Rule, error) {
	for _, r := range Rules {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(Rules))
	for i, r := range Rules {
		names[i] = string(r)
	}
	return "", fmt.Errorf("period %q is not a period rule; use one of %s", s, strings.Join(names, ", "))
}

// Period is one reporting period: the days from Start to End, both
// included, and the name it goes by (in file names, in the journal, on the
// command line).
type Period struct {
	Name  string
	Start time.Time // midnight UTC of the first day
	End   time.Time // midnight UTC of the last day (included)
}

// StartDate and EndDate return the first and last day as yyyy-MM-dd.
func (p Period) StartDate() string { return p.Start.Format(dateLayout) }

// EndDate returns the last day of the period as yyyy-MM-dd.
func (p Period) EndDate() string { return p.End.Format(dateLayout) }

// Contains reports whether the day of t (read in UTC) falls in the period.
func (p Period) Contains(day time.Time) bool {
	d := date(day.Year(), day.Month(), day.Day())
	return !d.Before(p.Start) && !d.After(p.End)
}

func (p Period) String() string {
	return fmt.Sprintf("%s (%s to %s)", p.Name, p.StartDate(), p.EndDate())
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// At returns the period that a run at t covers. t is read in its own
// location: give it in the schedule's time zone.
func (r Rule) At(t time.Time) Period {
	y, m, d := t.Date()
	switch r {
	case PreviousMonth:
		return r.period(date(y, m-1, 1))
	case PreviousQuarter:
		q := (int(m) - 1) / 3 // this quarter, 0-based
		return r.period(date(y, time.Month(3*q+1)-3, 1))
	case PreviousYear:
		return r.period(date(y-1, 1, 1))
	case PreviousDay:
		return r.period(date(y, m, d-1))
	case CurrentMonthToDate:
		return Period{Name: date(y, m, d).Format(dateLayout), Start: date(y, m, 1), End: date(y, m, d)}
	case BiMonthly:
		term := (int(m) - 1) / 2 // this term, 0-based
		return r.period(date(y, time.Month(2*term+1)-2, 1))
	}
	panic("schedule: unknown rule " + string(r))
}

// period returns the period of rule r that starts on start (normalised).
func (r Rule) period(start time.Time) Period {
	y, m, _ := start.Date()
	switch r {
	case PreviousMonth:
		return Period{Name: start.Format("2006-01"), Start: start, End: start.AddDate(0, 1, -1)}
	case PreviousQuarter:
		return Period{Name: fmt.Sprintf("%d-Q%d", y, (int(m)-1)/3+1), Start: start, End: start.AddDate(0, 3, -1)}
	case PreviousYear:
		return Period{Name: strconv.Itoa(y), Start: start, End: start.AddDate(1, 0, -1)}
	case PreviousDay:
		return Period{Name: start.Format(dateLayout), Start: start, End: start}
	case BiMonthly:
		return Period{Name: fmt.Sprintf("%d-T%d", y, (int(m)-1)/2+1), Start: start, End: start.AddDate(0, 2, -1)}
	}
	panic("schedule: rule without fixed periods " + string(r))
}

// Next returns the period after p.
func (r Rule) Next(p Period) Period {
	if r == CurrentMonthToDate {
		return r.At(p.End.AddDate(0, 0, 1))
	}
	return r.period(p.End.AddDate(0, 0, 1))
}

var (
	monthRE   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	quarterRE = regexp.MustCompile(`^(\d{4})-Q([1-4])$`)
	yearRE    = regexp.MustCompile(`^(\d{4})$`)
	termRE    = regexp.MustCompile(`^(\d{4})-T([1-6])$`)
)

// Parse reads a period name as the rule writes it (2026-10, 2026-Q3, 2025,
// 2026-11-02, 2026-T5). The message of an error says what the rule expects.
func (r Rule) Parse(name string) (Period, error) {
	bad := func(example, what string) (Period, error) {
		return Period{}, fmt.Errorf("period %q is not a period of rule %s; write %s, like %s", name, r, what, example)
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	switch r {
	case PreviousMonth:
		m := monthRE.FindStringSubmatch(name)
		if m == nil || atoi(m[2]) < 1 || atoi(m[2]) > 12 {
			return bad("2026-10", "a month as yyyy-MM")
		}
		return r.period(date(atoi(m[1]), time.Month(atoi(m[2])), 1)), nil
	case PreviousQuarter:
		m := quarterRE.FindStringSubmatch(name)
		if m == nil {
			return bad("2026-Q3", "a quarter as yyyy-Qn (n from 1 to 4)")
		}
		return r.period(date(atoi(m[1]), time.Month(3*(atoi(m[2])-1)+1), 1)), nil
	case PreviousYear:
		m := yearRE.FindStringSubmatch(name)
		if m == nil {
			return bad("2025", "a year as yyyy")
		}
		return r.period(date(atoi(m[1]), 1, 1)), nil
	case PreviousDay, CurrentMonthToDate:
		d, err := time.Parse(dateLayout, name)
		if err != nil {
			if r == CurrentMonthToDate {
				return bad("2026-11-03", "the last day as yyyy-MM-dd (the period runs from the 1st of its month)")
			}
			return bad("2026-11-02", "a day as yyyy-MM-dd")
		}
		if r == CurrentMonthToDate {
			return r.At(d), nil
		}
		return r.period(d), nil
	case BiMonthly:
		m := termRE.FindStringSubmatch(name)
		if m == nil {
			return bad("2026-T5", "a two-month term as yyyy-Tn (n from 1, January-February, to 6, November-December)")
		}
		return r.period(date(atoi(m[1]), time.Month(2*(atoi(m[2])-1)+1), 1)), nil
	}
	return Period{}, fmt.Errorf("unknown period rule %q", r)
}
