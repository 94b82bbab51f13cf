// Package workspace is the folder erpipe works in: its layout, its optional
// erpipe.yaml, and the pipelines that join an inbox, a template and
// destinations.
//
//	erpipe.yaml                  optional configuration
//	inbox/<pipeline>/            drop files here
//	outbox/<pipeline>/           results appear here
//	archive/<pipeline>/<date>/   inputs that were processed
//	errors/<pipeline>/           inputs that failed, with .error.txt and .error.json;
//	                             the reports and rejected rows of files with rows left out
//	templates/                   the workspace's own templates
//	.erpipe/                     state: journal, claimed files, work folders
package workspace

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/inbox"
	"github.com/erpipe/erpipe/templates"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
)

// ConfigFile is the name of the workspace configuration file.
const ConfigFile = "erpipe.yaml"

// Workspace is an opened workspace folder.
type Workspace struct {
	Root string
	// ConfigPath is the configuration file given to Open, "" for the
	// workspace's own erpipe.yaml (whether or not it exists).
	ConfigPath string
	Config     Config
	Pipelines  []*Pipeline
	Notes      []string // things worth telling the operator, such as templates not served

	node string // the cluster node's name, which has its own work folders (SetNode)
}

// Config is erpipe.yaml.
type Config struct {
	// Settle is how long a dropped file's size and time must stay unchanged
	// before it is taken (default 2s).
	Settle Duration `yaml:"settle"`
	// Rescan is how often the inboxes are scanned in full, in case a
	// file-system event was missed (default 5s).
	Rescan Duration `yaml:"rescan"`
	// Workers is how many files are processed at once (default 2).
	Workers int `yaml:"workers"`
	// Poll turns file-system events off: inboxes are found by rescans
	// alone (for network shares, where events do not arrive).
	Poll bool `yaml:"poll"`
	// MaxSettle is how long a file may keep changing (or wait for its
	// marker) before it is reported as stuck (default 1h).
	MaxSettle Duration `yaml:"max_settle"`
	// Timeout is the longest one job may run before it is stopped and
	// its input set aside in errors/ (default 30m).
	Timeout Duration `yaml:"job_timeout"`
	// AllowDrafts serves draft templates as pipelines too (default false:
	// only completed templates are served, unless a pipeline says
	// allow_draft).
	AllowDrafts bool `yaml:"allow_drafts"`
	// BuiltinPipelines serves every built-in template as a pipeline of the
	// same name, besides the pipelines listed (default true).
	BuiltinPipelines *bool `yaml:"builtin_pipelines"`
	// FollowSymlinks lets the workspace's folders (inbox/<pipeline>,
	// outbox, archive, errors) be symbolic links (default false: such a
	// folder is refused, since whoever can replace a folder by a link
	// could make erpipe take, or write, the files of another folder).
	FollowSymlinks bool `yaml:"follow_symlinks"`
	// Limits bound what one input may make erpipe hold in memory; a
	// pipeline's own limits: replace them for its inputs.
	Limits LimitsConfig `yaml:"limits"`
	// LegacyEncoding is how a CSV input without a BOM that is not UTF-8
	// is read (windows-1252, iso-8859-1, iso-8859-15...), for templates
	// that sniff the encoding; empty refuses such a file whole. A
	// pipeline's own legacy_encoding replaces it.
	LegacyEncoding string `yaml:"legacy_encoding"`
	// Pipelines are the workspace's own pipelines. One with the name of a
	// built-in replaces it.
	Pipelines []PipelineConfig `yaml:"pipelines"`
	// Schedules are scheduled submissions (schedules.go).
	Schedules []ScheduleConfig `yaml:"schedules"`
	// HTTP is erpipe run's HTTP server and API (http.go).
	HTTP HTTPConfig `yaml:"http"`
	// Webhooks receive business events: jobs ended or failed, periods
	// produced or failed, destinations waited for (webhooks.go).
	Webhooks []WebhookConfig `yaml:"webhooks"`
	// Cluster makes this workspace one node of several sharing a job
	// engine on PostgreSQL (cluster.go); absent, erpipe runs alone.
	Cluster ClusterConfig `yaml:"cluster"`
}

// PipelineConfig is one pipeline in erpipe.yaml.
type PipelineConfig struct {
	Name     string `yaml:"name"`
	Template string `yaml:"template"` // a built-in name, or a path relative to the workspace
	// AllowDraft lets the pipeline use a template whose status is draft;
	// without it only completed templates run.
	AllowDraft bool `yaml:"allow_draft"`
	// Inbox says when a file in the pipeline's inbox is ready to take.
	Inbox InboxConfig `yaml:"inbox"`
	// AllowDuplicates processes a file again even when the same content
	// was processed before in this pipeline (default false: such a file
	// is archived as a Duplicate job).
	AllowDuplicates bool                `yaml:"allow_duplicates"`
	Destinations    []DestinationConfig `yaml:"destinations"`
	// Source is where files come from besides people and programs
	// dropping them: a recurring export job of Dynamics 365.
	Source SourceConfig `yaml:"source"`
	// Limits replace the workspace's limits for this pipeline's inputs,
	// key by key.
	Limits LimitsConfig `yaml:"limits"`
	// LegacyEncoding replaces the workspace's legacy_encoding.
	LegacyEncoding string `yaml:"legacy_encoding"`
}

// LimitsConfig is limits: in erpipe.yaml. Zero keeps the default.
type LimitsConfig struct {
	RecordBytes        ByteSize `yaml:"record_bytes"`         // a CSV row, an XML text or tag (16MiB)
	ValueBytes         ByteSize `yaml:"value_bytes"`          // one value, an XML name (1MiB)
	SharedStrings      int64    `yaml:"shared_strings"`       // how many shared strings a workbook may hold (4000000)
	SharedStringsBytes ByteSize `yaml:"shared_strings_bytes"` // a workbook's shared strings, unpacked (256MiB)
	SheetBytes         ByteSize `yaml:"sheet_bytes"`          // a workbook's sheet, unpacked (2GiB)
	Depth              int      `yaml:"depth"`                // XML nesting (256)
	MergedCells        int64    `yaml:"merged_cells"`         // how many merged ranges a sheet may have (1000000)
}

// over returns c with the keys o sets replaced.
func (c LimitsConfig) over(o LimitsConfig) LimitsConfig {
	c.RecordBytes = cmp.Or(o.RecordBytes, c.RecordBytes)
	c.SharedStringsBytes = cmp.Or(o.SharedStringsBytes, c.SharedStringsBytes)
	c.SheetBytes = cmp.Or(o.SheetBytes, c.SheetBytes)
	c.ValueBytes = cmp.Or(o.ValueBytes, c.ValueBytes)
	c.SharedStrings = cmp.Or(o.SharedStrings, c.SharedStrings)
	c.Depth = cmp.Or(o.Depth, c.Depth)
	c.MergedCells = cmp.Or(o.MergedCells, c.MergedCells)
	return c
}

// limits converts the configuration for the readers.
func (c LimitsConfig) limits() formats.Limits {
	return formats.Limits{RecordBytes: int64(c.RecordBytes), SharedStringsBytes: int64(c.SharedStringsBytes),
		SheetBytes: int64(c.SheetBytes), Depth: c.Depth, ValueBytes: int64(c.ValueBytes), SharedStrings: c.SharedStrings,
		MergedCells: c.MergedCells}
}

// ByteSize is a size in erpipe.yaml: a number of bytes, or one with a unit
// (KiB, MiB, GiB; KB, MB, GB are taken as the same).
type ByteSize int64

// UnmarshalYAML parses a size such as 16MiB.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > (1<<50)/mult {
		return fmt.Errorf("line %d: %q is not a size; write it like 16MiB or 1048576", n.Line, n.Value)
	}
	*b = ByteSize(v * mult)
	return nil
}

// InboxConfig says when a dropped file is ready to take.
type InboxConfig struct {
	// Readiness is settle (the default: size and time unchanged for the
	// settle window, and no process writing to it), marker (taken when
	// <name>.done appears; the marker is removed with it) or rename
	// (writers drop *.tmp and rename; final names are taken at once).
	Readiness string `yaml:"readiness"`
	// MarkerSuffix is the marker's suffix in marker mode (default .done).
	MarkerSuffix string `yaml:"marker_suffix"`
	// Temp are extra glob patterns of temporary names never taken.
	Temp []string `yaml:"temp"`
	// Subfolders is ignore (the default) or include.
	Subfolders string `yaml:"subfolders"`
	// Settle overrides the workspace's settle window for this inbox.
	Settle Duration `yaml:"settle"`
	// Patterns are the names of the files the inbox takes (globs such as
	// "*.csv"); by default those the pipeline's template can read. Other
	// files are left where they are and logged once.
	Patterns []string `yaml:"patterns"`
}

// options converts the configuration for the inbox package.
func (c InboxConfig) options() inbox.FolderOptions {
	return inbox.FolderOptions{Readiness: inbox.Readiness(c.Readiness), MarkerSuffix: c.MarkerSuffix,
		Temp: c.Temp, Subfolders: inbox.Subfolders(c.Subfolders), Settle: time.Duration(c.Settle), Patterns: c.Patterns}
}

// DestinationConfig is one destination of a pipeline. Exactly one field is
// set.
type DestinationConfig struct {
	Folder *FolderConfig `yaml:"folder"`
	S3     *S3Config     `yaml:"s3"`
	AzBlob *AzBlobConfig `yaml:"azblob"`
	D365   *D365Config   `yaml:"d365"`
}

// AzBlobConfig is an Azure Blob Storage destination. Secrets are never
// written here: the account key, SAS token or connection string comes
// from the environment (AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN,
// AZURE_STORAGE_CONNECTION_STRING, or the variable secret_env names) or
// from secret_file; Entra ID from the Azure SDK's environment variables,
// workload or managed identity.
type AzBlobConfig struct {
	Account   string `yaml:"account"` // default: AZURE_STORAGE_ACCOUNT, or the connection string's
	Container string `yaml:"container"`
	Prefix    string `yaml:"prefix"`
	Endpoint  string `yaml:"endpoint"` // the blob service URL, for Azurite, sovereign clouds, private endpoints
	// Credential is shared-key, sas, entra or connection-string.
	Credential               string `yaml:"credential"`
	SecretEnv                string `yaml:"secret_env"`
	SecretFile               string `yaml:"secret_file"`
	DisableInstanceDiscovery bool   `yaml:"disable_instance_discovery"`
	Audience                 string `yaml:"audience"` // entra: the account's blob endpoint in a sovereign cloud
	CAFile                   string `yaml:"ca_file"`
	Overwrite                string `yaml:"overwrite"`   // fail (default), rename or replace
	AccessTier               string `yaml:"access_tier"` // Hot, Cool, Cold or Archive
	// KeyTemplate makes the blob name: {prefix}, {name}, {job}, {date}.
	KeyTemplate string `yaml:"key_template"`
}

// S3Config is an S3-compatible object storage destination. Credentials are
// never written here: they come from the standard AWS chain (environment,
// shared config and profile, web identity, instance metadata).
type S3Config struct {
	Bucket       string `yaml:"bucket"`
	Prefix       string `yaml:"prefix"`
	Endpoint     string `yaml:"endpoint"`   // empty for AWS; e.g. https://minio.example.com:9000
	Region       string `yaml:"region"`     // default: the AWS chain's, else us-east-1
	PathStyle    *bool  `yaml:"path_style"` // default: true with an endpoint
	Profile      string `yaml:"profile"`
	CAFile       string `yaml:"ca_file"`
	StorageClass string `yaml:"storage_class"`
	SSE          string `yaml:"sse"` // "", AES256 or aws:kms
	SSEKMSKeyID  string `yaml:"sse_kms_key_id"`
	// KeyTemplate makes the object key: {prefix}, {name}, {job}, {date}.
	KeyTemplate string `yaml:"key_template"`
	// ChecksumMode is when_supported or when_required (default:
	// when_required for a custom endpoint, when_supported for AWS).
	ChecksumMode string `yaml:"checksum_mode"`
}

// FolderConfig is a folder destination.
type FolderConfig struct {
	Path      string `yaml:"path"`      // relative to the workspace; default outbox/<pipeline>
	Overwrite string `yaml:"overwrite"` // rename (default), fail or replace
}

// Duration is a time.Duration written as "2s", "500ms".
type Duration time.Duration

// UnmarshalYAML parses a duration such as "2s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration; write it like 2s or 500ms", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Pipeline joins an inbox folder, a template and destinations.
type Pipeline struct {
	Name            string
	Template        *transform.Template
	Destinations    []DestinationConfig
	AllowDuplicates bool
	Inbox           inbox.FolderOptions
	Source          *D365Source // a recurring export job feeding the inbox, or nil
}

// Paths of the workspace layout.
func (w *Workspace) Inbox(pipeline string) string  { return filepath.Join(w.Root, "inbox", pipeline) }
func (w *Workspace) Outbox(pipeline string) string { return filepath.Join(w.Root, "outbox", pipeline) }
func (w *Workspace) Errors(pipeline string) string { return filepath.Join(w.Root, "errors", pipeline) }
func (w *Workspace) Archive(pipeline string, day time.Time) string {
	return filepath.Join(w.Root, "archive", pipeline, day.Format("2006-01-02"))
}
func (w *Workspace) State() string       { return filepath.Join(w.Root, ".erpipe") }
func (w *Workspace) JournalPath() string { return filepath.Join(w.State(), "journal.db") }
func (w *Workspace) Claimed() string     { return filepath.Join(w.State(), "claimed") }
func (w *Workspace) Work() string        { return filepath.Join(w.nodeState(), "work") }
func (w *Workspace) Temp() string        { return filepath.Join(w.nodeState(), "tmp") }

// MakeState makes the state folder .erpipe (the journal, claimed inputs,
// work in progress) readable by its owner only, as it is, or is made.
func (w *Workspace) MakeState() error {
	if err := os.MkdirAll(w.State(), 0o700); err != nil {
		return err
	}
	return os.Chmod(w.State(), 0o700)
}

// CheckFolder refuses a folder of the workspace (dir, below Root) that is,
// or lies below, a symbolic link, unless erpipe.yaml sets
// follow_symlinks: whoever can replace a folder by a link could make
// erpipe take or write the files of another folder.
func (w *Workspace) CheckFolder(dir string) error {
	if w.Config.FollowSymlinks {
		return nil
	}
	rel, err := filepath.Rel(w.Root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil // not the workspace's own folder: configured by its owner
	}
	p := w.Root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return &LinkedFolderError{Path: p}
		}
	}
	return nil
}

// LinkedFolderError is a workspace folder that is a symbolic link, which
// erpipe does not follow unless erpipe.yaml says follow_symlinks: true.
type LinkedFolderError struct{ Path string }

func (e *LinkedFolderError) Error() string {
	return fmt.Sprintf("%s is a symbolic link, which erpipe does not follow; make it a real folder, or set follow_symlinks: true in %s if the link is yours", e.Path, ConfigFile)
}

// Pipeline returns the pipeline called name, or nil.
func (w *Workspace) Pipeline(name string) *Pipeline {
	for _, p := range w.Pipelines {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// At is the workspace at root as a folder, its configuration not read
// (Config is zero, there are no Pipelines): for reading its state, its
// journal and its status, whatever its configuration says.
func At(root string) (*Workspace, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	return &Workspace{Root: abs}, nil
}

// Open reads the workspace at root: erpipe.yaml when it exists (or the file
// at configPath, when given), and the templates of its pipelines. It creates
// no folders; see Create.
func Open(root, configPath string) (*Workspace, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	w := &Workspace{Root: abs, ConfigPath: configPath}
	if configPath == "" {
		configPath = filepath.Join(abs, ConfigFile)
		if _, err := os.Stat(configPath); errors.Is(err, fs.ErrNotExist) {
			configPath = ""
		}
	}
	if configPath != "" {
		data, err := os.ReadFile(configPath)
		if err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&w.Config); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", configPath, err)
		}
	}
	if err := w.Config.HTTP.Validate(); err != nil {
		return nil, err
	}
	if err := w.loadPipelines(); err != nil {
		return nil, err
	}
	if err := w.CheckHTTP(); err != nil {
		return nil, err
	}
	if err := w.CheckWebhooks(false); err != nil {
		return nil, err
	}
	if err := w.CheckCluster(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Workspace) loadPipelines() error {
	var errs []error
	if enc := w.Config.LegacyEncoding; enc != "" && !slices.Contains(template.LegacyEncodings, enc) {
		return fmt.Errorf("%s: legacy_encoding %q is not known; use one of %s", ConfigFile, enc, strings.Join(template.LegacyEncodings, ", "))
	}
	seen := map[string]bool{}
	for _, pc := range w.Config.Pipelines {
		if pc.Name == "" || strings.ContainsAny(pc.Name, `/\`) || pc.Name[0] == '.' {
			errs = append(errs, fmt.Errorf("%s: pipeline name %q: give each pipeline a plain folder name", ConfigFile, pc.Name))
			continue
		}
		if seen[pc.Name] {
			errs = append(errs, fmt.Errorf("%s: pipeline %q is listed twice", ConfigFile, pc.Name))
			continue
		}
		seen[pc.Name] = true
		name := pc.Template
		if name == "" {
			name = pc.Name
		}
		t, err := w.LoadTemplate(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("pipeline %q: %w", pc.Name, err))
			continue
		}
		if t.Status != "completed" && !pc.AllowDraft {
			errs = append(errs, fmt.Errorf("%s: pipeline %q: template %s %s is a %s; set status: completed in the template when it is ready, or allow_draft: true on the pipeline to try it", ConfigFile, pc.Name, t.Name, t.Version, t.Status))
			continue
		}
		opts := pc.Inbox.options()
		if err := opts.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: pipeline %q: inbox: %w", ConfigFile, pc.Name, err))
			continue
		}
		opts.FollowLink = w.Config.FollowSymlinks
		if len(opts.Patterns) == 0 {
			opts.Patterns = t.FilePatterns()
		}
		t = t.WithLimits(w.Config.Limits.over(pc.Limits).limits())
		enc := cmp.Or(pc.LegacyEncoding, w.Config.LegacyEncoding)
		if !slices.Contains(append(template.LegacyEncodings, ""), enc) {
			errs = append(errs, fmt.Errorf("%s: pipeline %q: legacy_encoding %q is not known; use one of %s", ConfigFile, pc.Name, enc, strings.Join(template.LegacyEncodings, ", ")))
			continue
		}
		t = t.WithLegacyEncoding(enc)
		if d := pc.Source.D365; d != nil {
			if err := d.validate(false); err != nil {
				errs = append(errs, fmt.Errorf("%s: pipeline %q: source: %w", ConfigFile, pc.Name, err))
				continue
			}
		}
		w.Pipelines = append(w.Pipelines, &Pipeline{Name: pc.Name, Template: t, Destinations: pc.Destinations,
			AllowDuplicates: pc.AllowDuplicates, Inbox: opts, Source: pc.Source.D365})
	}
	if w.Config.BuiltinPipelines == nil || *w.Config.BuiltinPipelines {
		for _, name := range w.TemplateNames() {
			if seen[name] {
				continue
			}
			t, err := w.LoadTemplate(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if t.Status != "completed" && !w.Config.AllowDrafts {
				w.Notes = append(w.Notes, fmt.Sprintf("template %s %s is a %s, so it is not served as a pipeline; "+
					"set status: completed when it is ready, or allow_drafts: true in %s to try it", t.Name, t.Version, t.Status, ConfigFile))
				continue
			}
			t = t.WithLimits(w.Config.Limits.limits()).WithLegacyEncoding(w.Config.LegacyEncoding)
			w.Pipelines = append(w.Pipelines, &Pipeline{Name: name, Template: t,
				Inbox: inbox.FolderOptions{FollowLink: w.Config.FollowSymlinks, Patterns: t.FilePatterns()}})
		}
	}
	sort.Slice(w.Pipelines, func(i, j int) bool { return w.Pipelines[i].Name < w.Pipelines[j].Name })
	return errors.Join(errs...)
}

// TemplateNames returns the built-in templates and the workspace's own
// (templates/<name>.yaml or templates/<name>/template.yaml), sorted.
func (w *Workspace) TemplateNames() []string {
	set := map[string]bool{}
	for _, n := range templates.Names() {
		set[n] = true
	}
	entries, _ := os.ReadDir(filepath.Join(w.Root, "templates"))
	for _, e := range entries {
		switch {
		case e.IsDir():
			if _, err := os.Stat(filepath.Join(w.Root, "templates", e.Name(), "template.yaml")); err == nil {
				set[e.Name()] = true
			}
		case strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml"):
			set[strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".yaml"), ".yml")] = true
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadTemplate loads a template by name or path: a path to a file (absolute,
// or relative to the workspace), a workspace template, or a built-in, in
// that order.
func (w *Workspace) LoadTemplate(name string) (*transform.Template, error) {
	if p := w.TemplateFile(name); p != "" {
		return transform.Load(p)
	}
	return templates.Load(name)
}

// TemplateFile returns the file that template name is loaded from, or ""
// for a built-in.
func (w *Workspace) TemplateFile(name string) string {
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.ContainsAny(name, `/\`) {
		if filepath.IsAbs(name) {
			return name
		}
		return filepath.Join(w.Root, name)
	}
	for _, p := range []string{
		filepath.Join(w.Root, "templates", name+".yaml"),
		filepath.Join(w.Root, "templates", name+".yml"),
		filepath.Join(w.Root, "templates", name, "template.yaml"),
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Create makes the workspace folders, and the inbox, outbox and errors
// folder of every pipeline.
func (w *Workspace) Create() error {
	dirs := []string{filepath.Join(w.Root, "archive"), filepath.Join(w.Root, "errors"), w.State(), w.Claimed(), w.Work()}
	for _, p := range w.Pipelines {
		dirs = append(dirs, w.Inbox(p.Name), w.Outbox(p.Name))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// SettleWindow returns the configured settle window (0: the inbox
// package's default, 2s).
func (c Config) SettleWindow() time.Duration { return time.Duration(c.Settle) }

// RescanInterval returns the configured rescan interval (0: the inbox
// package's default, 5s).
func (c Config) RescanInterval() time.Duration { return time.Duration(c.Rescan) }

// MaxSettleWindow returns the configured stuck-file limit (0: the
// inbox package's default).
func (c Config) MaxSettleWindow() time.Duration { return time.Duration(c.MaxSettle) }

// JobTimeout returns the configured job timeout.
func (c Config) JobTimeout() time.Duration {
	if c.Timeout > 0 {
		return time.Duration(c.Timeout)
	}
	return 30 * time.Minute
}

// WorkerCount returns the configured number of workers.
func (c Config) WorkerCount() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return 2
}
