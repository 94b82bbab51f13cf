package pgtest_test

import (
	"database/sql"
	"os"
	"testing"

	"github.com/erpipe/erpipe/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestDSN: two tests' databases are apart, and each can be written.
func TestDSN(t *testing.T) {
	a, b := pgtest.DSN(t), pgtest.DSN(t)
	if a == b {
		t.Fatalf("two tests got the same database %s", a)
	}
	for _, dsn := range []string{a, b} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE x(id int PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRow(`SHOW server_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: PostgreSQL %s", dsn, v)
	}
}
