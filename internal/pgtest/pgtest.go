// Package pgtest gives tests a PostgreSQL server: the one
// ERPIPE_TEST_POSTGRES names (scripts/test.sh starts one), or else one it
// starts itself from Debian's PostgreSQL binaries, once per test binary,
// in a temporary folder, on 127.0.0.1 and a free port, as a user that is
// not root (initdb refuses root). Each test gets a database of its own.
//
// A package that uses it calls Main from its TestMain, which stops the
// server it started when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Without binaries and without ERPIPE_TEST_POSTGRES the tests that ask
// for a database skip, unless ERPIPE_REQUIRE_POSTGRES is set, which makes
// that a failure.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvDSN names a server to use instead of starting one: a URL whose user
// may create databases, such as postgres://erpipe@127.0.0.1:5432/postgres.
const EnvDSN = "ERPIPE_TEST_POSTGRES"

// EnvRequire, when set (to anything but "" or "0"), makes a missing
// server a failure instead of a skip.
const EnvRequire = "ERPIPE_REQUIRE_POSTGRES"

var (
	mu      sync.Mutex
	started *Server // the server this binary started, if any
	baseDSN string  // the admin DSN in use
	failure error   // why none could be had
)

// Main runs the tests of m and stops the server they started, if any.
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if started != nil {
		started.Stop()
		started = nil
	}
	return code
}

// admin returns the DSN of a server's maintenance database, starting a
// server if needed.
func admin() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if baseDSN != "" || failure != nil {
		return baseDSN, failure
	}
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		baseDSN = dsn
		return baseDSN, nil
	}
	srv, err := Start()
	if err != nil {
		failure = err
		return "", err
	}
	started, baseDSN = srv, srv.DSN("postgres")
	return baseDSN, nil
}

// DSN returns the URL of a new, empty database for t, dropped when t
// ends. It skips t when no server can be had, or fails it when
// ERPIPE_REQUIRE_POSTGRES is set.
func DSN(t testing.TB) string {
	t.Helper()
	base, err := admin()
	if err != nil {
		if v := os.Getenv(EnvRequire); v != "" && v != "0" {
			t.Fatalf("PostgreSQL is required (%s) but could not be had: %v", EnvRequire, err)
		}
		t.Skipf("no PostgreSQL (set %s, or install postgresql-15): %v", EnvDSN, err)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Server is a PostgreSQL server started by Start.
type Server struct {
	Dir  string // its data and socket folder
	Port int
	User string // the superuser's name
	cmd  *exec.Cmd
	done chan struct{}
}

// DSN is the URL of database db on s.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", s.User, s.Port, db)
}

// Stop stops s (a fast shutdown) and removes its folder.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.Dir)
}

// Bin finds the folder of PostgreSQL's server binaries: the newest of
// /usr/lib/postgresql/<version>/bin, or where initdb is on PATH.
func Bin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb) in /usr/lib/postgresql/*/bin or on PATH")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Start starts a new server in a temporary folder on 127.0.0.1 and a free
// port, with durability off (fsync) for speed: its data is thrown away.
// Run as root, the server runs as the user postgres, or nobody.
func Start() (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "erpipe-pg-")
	if err != nil {
		return nil, err
	}
	cred, err := serverUser(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "erpipe", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	var lastErr error
	for range 5 { // a free port may be taken between finding and listening
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		srv := &Server{Dir: dir, Port: port, User: "erpipe", done: make(chan struct{})}
		log, err := os.Create(filepath.Join(dir, "server.log"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		srv.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-h", "127.0.0.1",
			"-p", strconv.Itoa(port), "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB")
		srv.cmd.Stdout, srv.cmd.Stderr = log, log
		// The server ends with the test binary, even one that is killed.
		srv.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
		if err := srv.cmd.Start(); err != nil {
			log.Close()
			os.RemoveAll(dir)
			return nil, err
		}
		go func() { _ = srv.cmd.Wait(); log.Close(); close(srv.done) }()
		if lastErr = srv.ready(); lastErr == nil {
			return srv, nil
		}
		_ = srv.cmd.Process.Kill()
		<-srv.done
		b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		lastErr = fmt.Errorf("%v: %s", lastErr, tail(string(b)))
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("start postgres: %w", lastErr)
}

// ready waits until s accepts queries, or exits.
func (s *Server) ready() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("postgres exited")
		default:
		}
		db, err := sql.Open("pgx", s.DSN("postgres"))
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("postgres did not accept connections within 30s")
}

// serverUser is the user the server runs as: none but the current one
// when that is not root; else postgres, or nobody, given dir.
func serverUser(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root, and no user postgres or nobody to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}
