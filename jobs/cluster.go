package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/erpipe/erpipe/inbox"
	"github.com/erpipe/erpipe/outbox"
)

// A cluster (docs/cluster.md) is several erpipe run nodes sharing a
// workspace folder (inbox/, archive/, errors/, outbox/, .erpipe/claimed/)
// and one PostgreSQL database, which holds the journal and River's job
// queue. The database, not the file system, decides who owns a file:
//
//   - Claiming (Cluster.claim): a node that finds a ready file inserts its
//     claim row (inbox_claims, unique on pipeline, path and version), and
//     only if that row is new, the job's record and its River job, in one
//     transaction.
//   - Running (fileWorker): River hands the job to one node. Its attempt
//     number is the job's fencing token: the attempt first raises
//     jobs.attempt, and every later write of the job's record is made
//     WHERE attempt = that attempt, so that a node that was paused or cut
//     off, and whose job River gave to another node, changes nothing when
//     it wakes (ErrFenced). The node moves the input from the inbox into
//     claimed/<pipeline>/<job>/ (idempotent: a moved input is done), then
//     runs the same code as a node alone (Service.resume, process).
//   - Ending: the job's final record, the claim's end and River's
//     completion of the job (JobCompleteTx) are one transaction
//     (putFenced).
//
// A node that dies mid-job leaves its River job running; River's rescuer
// makes it available again after rescue_after, and another node resumes it
// from what the journal says, as a restarted node alone would. Outputs are
// deterministic per job and deliveries idempotent, so a job run twice
// delivers the same bytes once.
//
// Embedded mode (no cluster:) keeps today's dispatcher: the service's own
// workers and the SQLite journal. Both take a ready file through the same
// step (Service.takeReady) and run jobs through the same code.

// ClusterOptions configure a node of a cluster.
type ClusterOptions struct {
	Database    string        // the PostgreSQL URL
	Node        string        // this node's name, unique among the running nodes
	ConfigHash  string        // what every node's configuration must sum to (workspace.ConfigHash)
	RescueAfter time.Duration // a job running longer is taken over by another node
	// JobTimeout is erpipe's job timeout (job_timeout), shorter than
	// RescueAfter: an attempt still running halfway between the two is
	// cancelled and retried (its node may be cut off from the database).
	JobTimeout time.Duration
	Workers    int // jobs run at once on this node
	// PollInterval is how often the node asks the database for work
	// besides what it inserts itself (default 200ms).
	PollInterval time.Duration
	// Logger receives River's own warnings and errors.
	Logger *slog.Logger
}

// Cluster is a node's connection to the cluster's database and River.
type Cluster struct {
	opts    ClusterOptions
	journal *Journal
	client  *river.Client[*sql.Tx]
	workers *river.Workers
	worker  *fileWorker
	hold    *sql.Conn // holds the node's name (an advisory lock) while it runs
}

// processFile is the River job of one claimed file: its job id.
type processFile struct {
	Job string `json:"job"`
}

// Kind names processFile's jobs in River's table.
func (processFile) Kind() string { return "erpipe.process_file" }

// maxRiverAttempts is high: erpipe sets a job aside after MaxAttempts runs
// that ended its node (process), and River's attempts also count fenced
// and handed-back runs.
const maxRiverAttempts = 1000

// OpenCluster connects to the cluster's database, creating erpipe's and
// River's tables if needed, and returns the node with its journal.
func OpenCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.Node == "" {
		return nil, errors.New("cluster: the node has no name")
	}
	j, err := OpenPostgresJournal(ctx, o.Database)
	if err != nil {
		return nil, err
	}
	driver := riverdatabasesql.New(j.db)
	migrator, err := rivermigrate.New(driver, nil)
	if err == nil {
		// Each of River's versions is a transaction of its own (one adds
		// an enum value that the next uses); nodes starting together
		// take turns.
		var conn *sql.Conn
		if conn, err = j.db.Conn(ctx); err == nil {
			if _, err = conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(schemaLock)); err == nil {
				_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
				_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(schemaLock))
			}
			conn.Close()
		}
	}
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("cluster: create River's tables: %w", err)
	}
	c := &Cluster{opts: o, journal: j, workers: river.NewWorkers()}
	c.worker = &fileWorker{c: c}
	river.AddWorker(c.workers, c.worker)
	return c, nil
}

// Journal is the cluster's journal, in PostgreSQL.
func (c *Cluster) Journal() *Journal { return c.journal }

// Close closes the database.
func (c *Cluster) Close() error { return c.journal.Close() }

// UseCluster makes s a node of c: Run then claims files into c's
// database and runs the jobs River hands it. The service's journal must
// be c's.
func (s *Service) UseCluster(c *Cluster) {
	s.cluster = c
	c.worker.s = s
}

// join registers the node: it refuses a name another running node holds,
// and a configuration that differs from that of the nodes seen running.
func (c *Cluster) join(ctx context.Context, now time.Time) error {
	conn, err := c.journal.db.Conn(ctx)
	if err != nil {
		return err
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 1))`, "node/"+c.opts.Node).Scan(&got); err != nil {
		conn.Close()
		return err
	}
	if !got {
		conn.Close()
		return fmt.Errorf("cluster: another running node is named %q; give each node its own name (cluster: node, erpipe run --node, or ERPIPE_NODE)", c.opts.Node)
	}
	c.hold = conn
	rows, err := c.journal.db.QueryContext(ctx, `SELECT name, config FROM nodes WHERE name != ? AND seen > ? AND config != ?`,
		c.opts.Node, dbTime(now.Add(-nodeLive)), c.opts.ConfigHash)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, hash string
		if err := rows.Scan(&name, &hash); err != nil {
			return err
		}
		return fmt.Errorf("cluster: node %q runs another configuration (%s, this node's is %s): every node must have the same erpipe.yaml and templates; "+
			"stop the nodes with the old one first", name, hash, c.opts.ConfigHash)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = c.journal.db.ExecContext(ctx, `INSERT INTO nodes(name, config, pid, started, seen) VALUES(?,?,?,?,?)
		ON CONFLICT(name) DO UPDATE SET config = excluded.config, pid = excluded.pid, started = excluded.started, seen = excluded.seen`,
		c.opts.Node, c.opts.ConfigHash, os.Getpid(), dbTime(now), dbTime(now))
	return err
}

// nodeLive is how recently a node must have said it runs to count as
// running; nodes say so every nodeLive/3.
const nodeLive = 30 * time.Second

// heartbeat says that the node runs, until ctx is done.
func (c *Cluster) heartbeat(ctx context.Context, now func() time.Time) {
	t := time.NewTicker(nodeLive / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = c.journal.db.ExecContext(ctx, `UPDATE nodes SET seen = ? WHERE name = ?`, dbTime(now()), c.opts.Node)
		}
	}
}

// start makes and starts the node's River client.
func (c *Cluster) start(ctx context.Context) error {
	log := c.opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := river.NewClient(riverdatabasesql.New(c.journal.db), &river.Config{
		ID:      c.opts.Node,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(c.opts.Workers, 1)}},
		Workers: c.workers,
		// River's rescuer takes over only jobs that have a timeout:
		// an attempt ends halfway between erpipe's job timeout (which
		// bounds a template's run, RunGuarded) and the rescue.
		JobTimeout:           riverTimeout(c.opts.JobTimeout, c.opts.RescueAfter),
		RescueStuckJobsAfter: c.opts.RescueAfter,
		FetchCooldown:        20 * time.Millisecond,
		FetchPollInterval:    cmpOr(c.opts.PollInterval, 200*time.Millisecond),
		MaxAttempts:          maxRiverAttempts,
		Logger:               slog.New(warnOnly{log.Handler()}),
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.client = client
	return client.Start(ctx)
}

// stop stops the River client: running jobs get grace to end, then are
// cancelled (their River jobs are retried, by this node or another).
func (c *Cluster) stop(grace time.Duration) {
	if c.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := c.client.Stop(ctx); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.client.StopAndCancel(ctx)
	}
	if c.hold != nil {
		c.hold.Close()
	}
}

// claim takes the ready file f for a job, if no node took this version of
// it before: the claim row, the job's record and its River job are
// inserted in one transaction. It returns the job, or nil when the file
// was taken before or is gone.
func (c *Cluster) claim(ctx context.Context, s *Service, f inbox.File) (*Job, error) {
	fi, err := os.Lstat(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !f.Same(fi) {
		return nil, nil // changed since it was found ready: found again when ready
	}
	version := fileVersion(fi)
	now := s.Now()
	id, err := c.journal.NewJobID(ctx, now)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(f.Path)
	job := &Job{ID: id, Pipeline: f.Key, Input: name, Status: Enqueued, Created: now,
		ClaimedPath: filepath.Join(s.ws.Claimed(), f.Key, id, name),
		InboxPath:   f.Path, InboxVersion: version, Marker: f.Marker, Node: c.opts.Node}
	body, err := jobBody(job)
	if err != nil {
		return nil, err
	}
	tx, err := c.journal.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO inbox_claims(pipeline, key, version, job, node, created) VALUES(?,?,?,?,?,?)
		ON CONFLICT DO NOTHING`, f.Key, f.Name, version, id, c.opts.Node, dbTime(now))
	if err != nil {
		return nil, fmt.Errorf("cluster: claim %s: %w", f.Path, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil // this version of the file is another job's
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO jobs(id, pipeline, input, input_sha256, status, final_status, created, body, node)
		VALUES(?,?,?,?,?,?,?,?,?)`, job.ID, job.Pipeline, job.Input, "", string(job.Status), "", dbTime(job.Created), string(body), c.opts.Node); err != nil {
		return nil, fmt.Errorf("cluster: record job %s: %w", id, err)
	}
	if _, err := c.client.InsertTx(ctx, tx, processFile{Job: id}, &river.InsertOpts{MaxAttempts: maxRiverAttempts}); err != nil {
		return nil, fmt.Errorf("cluster: queue job %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("cluster: claim %s: %w", f.Path, err)
	}
	return job, nil
}

// fileVersion tells versions of a file at one path apart: a file dropped
// again under the same name is a new version (a new inode, or another
// size or time).
func fileVersion(fi fs.FileInfo) string {
	return fmt.Sprintf("%d:%d:%d", inodeOf(fi), fi.Size(), fi.ModTime().UnixNano())
}

// moveIn moves the input of job from the inbox into its claimed place.
// It is idempotent: an input already moved is done. It returns errGone when
// the input is in neither place, or when the inbox holds another version
// of the file than the one claimed.
func moveIn(job *Job) error {
	if _, err := os.Lstat(job.ClaimedPath); err == nil {
		return nil
	}
	fi, err := os.Lstat(job.InboxPath)
	if err != nil || fileVersion(fi) != job.InboxVersion {
		if _, err := os.Lstat(job.ClaimedPath); err == nil {
			return nil // moved meanwhile by another attempt
		}
		return errGone
	}
	if err := os.MkdirAll(filepath.Dir(job.ClaimedPath), 0o755); err != nil {
		return err
	}
	if err := os.Rename(job.InboxPath, job.ClaimedPath); err != nil {
		if _, serr := os.Lstat(job.ClaimedPath); serr == nil {
			return nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return errGone
		}
		return err
	}
	if job.Marker != "" {
		if err := os.Remove(job.Marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil // the marker alone is harmless: it has no file
		}
	}
	return nil
}

// fileWorker runs a claimed file's job on the node River gave it to.
type fileWorker struct {
	river.WorkerDefaults[processFile]
	c *Cluster
	s *Service
}

// NextRetry retries a job whose attempt failed (a node's stop, a lost
// race, a fenced zombie) soon, on any node; River's default waits
// attempt⁴ seconds.
func (w *fileWorker) NextRetry(j *river.Job[processFile]) time.Time {
	return time.Now().Add(min(time.Duration(j.Attempt)*time.Second, 30*time.Second))
}

// Work runs one attempt of the job.
func (w *fileWorker) Work(ctx context.Context, rj *river.Job[processFile]) error {
	s, c := w.s, w.c
	id := rj.Args.Job
	if err := c.journal.startAttempt(ctx, id, rj.Attempt, c.opts.Node); err != nil {
		return err
	}
	f := &fence{job: id, attempt: rj.Attempt, node: c.opts.Node}
	f.final = func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE inbox_claims SET state = 'done', ended = ? WHERE job = ?`, dbTime(s.Now()), id); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, rj)
		return err
	}
	ctx = withFence(ctx, f)
	job, err := c.journal.Get(ctx, id)
	if err != nil {
		return err
	}
	job.Node = c.opts.Node
	if job.Status.Final() {
		// Ended, and its River job was completed in the same
		// transaction: only a retry of a lost completion comes here.
		return nil
	}
	job.setup = s.current()
	if job.FinalStatus == "" {
		switch err := moveIn(job); {
		case errors.Is(err, errGone):
			// resume records it Failed: the input is in neither place.
		case err != nil:
			return err
		}
	}
	return s.resume(ctx, job)
}

// takeReady is what becomes of a ready file: alone, it is claimed by
// rename and processed by the calling worker (take); in a cluster, it is
// claimed in the database and queued, for whichever node River gives it
// to.
func (s *Service) takeReady(ctx context.Context, f inbox.File) error {
	if s.cluster == nil {
		_, err := s.take(ctx, f)
		return err
	}
	job, err := s.cluster.claim(ctx, s, f)
	if err != nil || job == nil {
		return err
	}
	s.log.Info("claimed", "job", job.ID, "pipeline", job.Pipeline, "file", job.Input, "node", job.Node)
	if err := moveIn(job); err != nil && !errors.Is(err, errGone) {
		// The node that runs the job moves it.
		s.log.Warn("could not move the claimed input yet", "job", job.ID, "err", err)
	}
	return nil
}

// runCluster is Run for a node of a cluster: it joins the cluster, starts
// River's client, and claims the inboxes' ready files into the database
// until ctx is done; River hands the jobs to the nodes' workers.
func (s *Service) runCluster(ctx context.Context) error {
	c := s.cluster
	if err := s.ws.MakeState(); err != nil { // .erpipe 0700, as a node alone's Lock makes it
		return err
	}
	if err := s.takeTempDir(); err != nil {
		return err
	}
	if err := c.join(ctx, s.Now()); err != nil {
		return err
	}
	s.stop = ctx.Done()
	s.status.update(func(st *DaemonStatus) {
		*st = DaemonStatus{PID: os.Getpid(), Started: s.Now(), Config: configStatus(s.current())}
	})
	s.writeStatus()
	s.sweep(ctx)                   // this node's work folder only
	w, err := s.watchInboxes(true) // other machines' writes send no events
	if err != nil {
		return err
	}

	var background sync.WaitGroup
	bgCtx, cancelBackground := context.WithCancel(ctx)
	defer background.Wait()
	defer cancelBackground()
	for _, task := range s.Background {
		background.Go(func() {
			if err := task(bgCtx); err != nil {
				s.log.Error("a background task stopped", "err", err)
			}
		})
	}
	background.Go(func() { c.heartbeat(bgCtx, s.Now) })
	background.Go(func() { s.sweepAged(bgCtx, c.opts.RescueAfter) })
	// River's workers outlive ctx by Grace (stop), so that a stop
	// finishes what it can.
	if err := c.start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer c.stop(s.Grace)
	s.log.Info("watching inboxes as a node of a cluster", "workspace", s.ws.Root, "node", c.opts.Node,
		"pipelines", len(s.current().ws.Pipelines))
	ready := make(chan inbox.File)
	claimed := make(chan struct{})
	go func() {
		defer close(claimed)
		for f := range ready {
			if err := s.takeReady(ctx, f); err != nil && ctx.Err() == nil {
				s.log.Error("could not claim a file", "pipeline", f.Key, "file", f.Name, "err", err)
			}
		}
	}()
	err = w.Run(ctx, ready)
	close(ready)
	<-claimed
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// sweepAged removes, every age/2, what puts interrupted by a node's end
// left in the destinations, once it is older than age (rescue_after): an
// attempt never runs that long (riverTimeout), so no live put is that old.
func (s *Service) sweepAged(ctx context.Context, age time.Duration) {
	t := time.NewTicker(max(age/2, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, ds := range s.current().dests {
			for _, d := range ds {
				if sw, ok := d.(outbox.AgedSweeper); ok {
					if err := sw.SweepOlder(ctx, time.Now().Add(-age)); err != nil && ctx.Err() == nil {
						s.log.Warn("could not clean up after interrupted deliveries", "destination", d.String(), "err", err)
					}
				}
			}
		}
	}
}

// ScheduleOwner is how the node names itself as the owner of a scheduled
// run it produces: node:<name>:<pid>.
func (c *Cluster) ScheduleOwner() string {
	return fmt.Sprintf("node:%s:%d", c.opts.Node, os.Getpid())
}

// OwnerAlive reports whether the owner of a scheduled run (ScheduleOwner)
// still runs: its node holds its name's lock, and is the same process
// (not restarted since). An owner of another form (a node alone's, before
// a migration) is not alive. When the database cannot say, the owner is
// taken as alive: nothing is taken over on a doubt.
func (c *Cluster) OwnerAlive(owner string) bool {
	rest, ok := strings.CutPrefix(owner, "node:")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return false
	}
	name, pid := rest[:i], rest[i+1:]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var nodePID string
	err := c.journal.db.QueryRowContext(ctx, `SELECT pid::text FROM nodes WHERE name = $1`, name).Scan(&nodePID)
	if errors.Is(err, sql.ErrNoRows) {
		return false
	}
	if err != nil {
		return true
	}
	if nodePID != pid {
		return false // the node was restarted: its runs of before are orphans
	}
	var held bool
	err = c.journal.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
		AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 1))`, "node/"+name).Scan(&held)
	if err != nil {
		return true
	}
	return held
}

// NodeStatus is one node of a cluster as the database knows it.
type NodeStatus struct {
	Name    string    `json:"name"`
	PID     int       `json:"pid"`
	Config  string    `json:"config"` // the configuration's hash (workspace.ConfigHash)
	Started time.Time `json:"started"`
	Seen    time.Time `json:"seen"` // when it last said it runs (every 10s)
	Running bool      `json:"running"`
}

// Nodes lists the nodes that ever ran on the cluster's journal j, with
// whether each runs now (holds its name's lock).
func Nodes(ctx context.Context, j *Journal) ([]NodeStatus, error) {
	if !j.pg {
		return nil, errors.New("not a cluster's journal")
	}
	rows, err := j.db.QueryContext(ctx, `SELECT n.name, n.pid, n.config, n.started, n.seen, EXISTS (SELECT 1 FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('node/' || n.name, 1)) FROM nodes n ORDER BY n.name`)
	if err != nil {
		return nil, j.dbError(err)
	}
	defer rows.Close()
	var out []NodeStatus
	for rows.Next() {
		var n NodeStatus
		var started, seen string
		if err := rows.Scan(&n.Name, &n.PID, &n.Config, &started, &seen, &n.Running); err != nil {
			return nil, j.dbError(err)
		}
		n.Started, n.Seen = parseDBTime(started), parseDBTime(seen)
		out = append(out, n)
	}
	return out, rows.Err()
}

// riverTimeout is how long one attempt may run: halfway between the job
// timeout and the rescue (which River wants longer than it).
func riverTimeout(job, rescue time.Duration) time.Duration {
	if job <= 0 || rescue <= job {
		return max(rescue/2, time.Second)
	}
	return job + (rescue-job)/2
}

// warnOnly passes on River's warnings and errors, not its chatter.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
