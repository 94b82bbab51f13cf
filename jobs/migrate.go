package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Migrated counts what MigrateJournal copied (rows new to the cluster's
// journal; a row it already had is left as it is).
type Migrated struct {
	Jobs, Allowances, Periods, Schedules int
}

// MigrateJournal copies the journal of a node alone (from, SQLite) into a
// cluster's (to, PostgreSQL), in one transaction of the cluster's
// database: every job (so that content processed before is still a
// duplicate, and erpipe jobs shows the history), the allowances of erpipe
// retry, and the schedules' periods and checks (so that no period is
// produced again). It refuses a journal with jobs that have not ended:
// their inputs sit in the node's claimed folder, which a cluster does not
// resume; stop the node once its jobs have ended. Running it again copies
// nothing twice.
func MigrateJournal(ctx context.Context, from, to *Journal) (Migrated, error) {
	var m Migrated
	if from.pg || !to.pg {
		return m, errors.New("migrate: from a node's SQLite journal into a cluster's PostgreSQL journal only")
	}
	open, err := from.Unfinished(ctx)
	if err != nil {
		return m, err
	}
	if len(open) > 0 {
		return m, fmt.Errorf("migrate: %d jobs have not ended (the first: %s, %s); let the node finish them (erpipe run, then stop it) before moving its journal",
			len(open), open[0].ID, open[0].Status)
	}
	if _, err := from.Runs(ctx); err != nil { // the schedules' tables, empty if it never had schedules
		return m, err
	}
	if err := from.allowanceJobs(ctx); err != nil {
		return m, err
	}
	if _, err := to.db.ExecContext(ctx, runsSchema); err != nil {
		return m, fmt.Errorf("migrate: %w", err)
	}
	tx, err := to.db.BeginTx(ctx, nil)
	if err != nil {
		return m, err
	}
	defer tx.Rollback()
	copyRows := func(n *int, sel, ins string, cols int) error {
		rows, err := from.db.QueryContext(ctx, sel)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			vals := make([]any, cols)
			ptrs := make([]any, cols)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			res, err := tx.ExecContext(ctx, ins, vals...)
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			k, _ := res.RowsAffected()
			*n += int(k)
		}
		return rows.Err()
	}
	steps := []struct {
		n        *int
		sel, ins string
		cols     int
	}{
		{&m.Jobs, `SELECT id, pipeline, input, input_sha256, status, final_status, created, body FROM jobs`,
			`INSERT INTO jobs(id, pipeline, input, input_sha256, status, final_status, created, body) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`, 8},
		{&m.Periods, `SELECT ` + runColumns + ` FROM schedule_runs`,
			`INSERT INTO schedule_runs(` + runColumns + `) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`, 13},
		{&m.Schedules, `SELECT schedule, checked FROM schedule_state`,
			`INSERT INTO schedule_state(schedule, checked) VALUES(?,?) ON CONFLICT DO NOTHING`, 2},
	}
	for _, s := range steps {
		if err := copyRows(s.n, s.sel, s.ins, s.cols); err != nil {
			return m, err
		}
	}
	// Allowances have no key: those of a content the cluster has none
	// of are copied.
	rows, err := from.db.QueryContext(ctx, `SELECT pipeline, input_sha256, created, job FROM allowances`)
	if err != nil {
		return m, fmt.Errorf("migrate: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, sha, created, job string
		if err := rows.Scan(&p, &sha, &created, &job); err != nil {
			return m, fmt.Errorf("migrate: %w", err)
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM allowances WHERE pipeline = ? AND input_sha256 = ? AND created = ?`, p, sha, created).Scan(&have); err != nil {
			return m, fmt.Errorf("migrate: %w", err)
		}
		if have > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO allowances(pipeline, input_sha256, created, job) VALUES(?,?,?,?)`, p, sha, created, job); err != nil {
			return m, fmt.Errorf("migrate: %w", err)
		}
		m.Allowances++
	}
	if err := rows.Err(); err != nil {
		return m, err
	}
	if err := tx.Commit(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return m, fmt.Errorf("migrate: %w", err)
	}
	return m, nil
}
