package schedule

import (
	"fmt"
	"time"
)

// CheckEnded refuses a period that has not ended at now (its data may be
// incomplete), unless the schedule's rule is month-to-date: erpipe
// schedule run and the API produce such a period only when forced.
func (s *Schedule) CheckEnded(p Period, now time.Time) error {
	today := now.In(s.Location).Format("2006-01-02")
	if s.Rule != CurrentMonthToDate && p.EndDate() >= today {
		return fmt.Errorf("schedule %s: period %s has not ended (it ends %s); its data may be incomplete: wait, or force it", s.Name, p.Name, p.EndDate())
	}
	return nil
}
