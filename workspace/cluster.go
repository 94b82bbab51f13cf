package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/inbox"
)

// ClusterConfig is cluster: in erpipe.yaml: several erpipe run nodes share
// one job engine, PostgreSQL through River (docs/cluster.md). Without it
// (Database empty) the journal is the embedded SQLite database in
// .erpipe/, as it always was.
type ClusterConfig struct {
	// Database is the PostgreSQL URL every node uses
	// (postgres://user@host/db); the journal and River's queue live there.
	Database string `yaml:"database"`
	// Node names this node in the journal (default: the host's name; erpipe
	// run --node, or ERPIPE_NODE, overrides it). Two nodes running at once
	// must have different names.
	Node string `yaml:"node"`
	// RescueAfter is how long a job may run on a node that stopped
	// answering before another node takes it over (default job_timeout +
	// 1m; at least job_timeout).
	RescueAfter Duration `yaml:"rescue_after"`
}

// Enabled reports whether the workspace runs as a node of a cluster.
func (c ClusterConfig) Enabled() bool { return c.Database != "" }

// NodeName is the node's name: override, else Node, else the host name.
func (c ClusterConfig) NodeName(override string) string {
	if override != "" {
		return override
	}
	if v := os.Getenv("ERPIPE_NODE"); v != "" {
		return v
	}
	if c.Node != "" {
		return c.Node
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node"
	}
	return h
}

// Rescue is how long a running job may go unfinished before another node
// takes it over: rescue_after, or the job timeout plus a minute.
func (c Config) Rescue() time.Duration {
	if c.Cluster.RescueAfter > 0 {
		return time.Duration(c.Cluster.RescueAfter)
	}
	return c.JobTimeout() + time.Minute
}

// CheckCluster refuses a cluster: section that cannot be safe: a database
// that is not PostgreSQL, a rescue time shorter than the job timeout, and,
// for inboxes on a network file system, settle readiness (a size seen
// from another machine lies while a writer is still writing).
func (w *Workspace) CheckCluster() error {
	c := w.Config.Cluster
	if !c.Enabled() {
		if c.Node != "" || c.RescueAfter != 0 {
			return fmt.Errorf("%s: cluster: has node or rescue_after but no database", ConfigFile)
		}
		return nil
	}
	u, err := url.Parse(c.Database)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("%s: cluster: database must be a PostgreSQL URL (postgres://user@host/db)", ConfigFile)
	}
	if c.RescueAfter > 0 && time.Duration(c.RescueAfter) <= w.Config.JobTimeout() {
		return fmt.Errorf("%s: cluster: rescue_after (%v) must be longer than job_timeout (%v): a job still running would be taken over and run twice at once",
			ConfigFile, time.Duration(c.RescueAfter), w.Config.JobTimeout())
	}
	var errs []error
	for _, p := range w.Pipelines {
		if p.Inbox.Readiness != "" && p.Inbox.Readiness != inbox.ReadySettle {
			continue
		}
		if nfs, kind := NetworkFS(w.Inbox(p.Name)); nfs {
			errs = append(errs, fmt.Errorf("%s: pipeline %q: its inbox is on a network file system (%s), where settle readiness cannot see writers on other machines; "+
				"in a cluster use inbox: readiness: marker or rename", ConfigFile, p.Name, kind))
		}
	}
	return errors.Join(errs...)
}

// ConfigHash sums what every node of a cluster must agree on: the
// configuration (but the node's own name) and each pipeline's template.
// Nodes whose sums differ refuse to run together.
func (w *Workspace) ConfigHash() string {
	c := w.Config
	c.Cluster.Node = ""
	b, _ := yaml.Marshal(c)
	h := sha256.New()
	h.Write(b)
	for _, p := range w.Pipelines {
		fmt.Fprintf(h, "\x00%s\x00%s", p.Name, p.Template.Hash)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// SetNode gives the workspace's node its own work and temporary folders
// (.erpipe/nodes/<node>/), so that a node's start, which empties them,
// never touches another node's work on a shared workspace.
func (w *Workspace) SetNode(name string) { w.node = name }

// Node is the name SetNode gave, or "".
func (w *Workspace) Node() string { return w.node }

// NodeState is the folder of the node's own state (its work, temporary
// files and status) in a cluster, or the workspace's .erpipe alone.
func (w *Workspace) NodeState() string { return w.nodeState() }

// nodeState is the folder of the node's own state, or the workspace's.
func (w *Workspace) nodeState() string {
	if w.node == "" {
		return w.State()
	}
	return filepath.Join(w.State(), "nodes", safeName(w.node))
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == '.' && len(s) <= 2 {
			return '_'
		}
		return r
	}, s)
}

// ReadCluster reads the cluster: section alone of the configuration of
// the workspace at root (configPath, or its erpipe.yaml), for commands
// that read the journal without loading the configuration (erpipe jobs):
// the rest of the file may be broken. No file is no cluster.
func ReadCluster(root, configPath string) (ClusterConfig, error) {
	if configPath == "" {
		configPath = filepath.Join(root, ConfigFile)
	}
	data, err := os.ReadFile(configPath)
	if errors.Is(err, os.ErrNotExist) {
		return ClusterConfig{}, nil
	}
	if err != nil {
		return ClusterConfig{}, err
	}
	var c struct {
		Cluster ClusterConfig `yaml:"cluster"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		// A file broken elsewhere may still name the cluster: the
		// section alone is looked for.
		var raw map[string]yaml.Node
		if yaml.Unmarshal(data, &raw) != nil {
			return ClusterConfig{}, nil
		}
		if n, ok := raw["cluster"]; ok {
			_ = n.Decode(&c.Cluster)
		}
	}
	return c.Cluster, nil
}
