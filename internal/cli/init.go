package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/templates"
	"github.com/erpipe/erpipe/workspace"
)

// exampleConfig is the erpipe.yaml that init writes.
const exampleConfig = `# erpipe workspace configuration.
#
# Everything here is optional: without this file erpipe serves every
# built-in template as a pipeline of the same name, with its inbox in
# inbox/<pipeline>/ and its results in outbox/<pipeline>/.

# How long a dropped file's size and modification time must stay the same
# before erpipe takes it (so a file still being copied is never taken).
settle: 2s

# How often the inboxes are scanned in full, in case a file-system event was
# missed (network shares often send none).
rescan: 5s

# Rely on those scans alone, with no file-system events: for network
# shares and bind mounts where events never arrive.
poll: false

# A file that keeps changing (or waits for its marker) this long is
# reported in the log as stuck.
max_settle: 1h

# How many files are processed at the same time.
workers: 2

# The longest one job may run; a file that hangs its job is stopped and
# set aside in errors/.
job_timeout: 30m

# Serve every built-in template as a pipeline too (true by default).
builtin_pipelines: true

# Serve draft templates as pipelines too (false: only completed ones).
allow_drafts: false

# Let inbox/, outbox/, archive/ and errors/ folders be symbolic links.
# false (the default) refuses such a folder: whoever can replace a folder
# by a link could make erpipe take, or write, another folder's files.
follow_symlinks: false

# How a CSV file without a BOM that is not UTF-8 is read, for templates
# that sniff the encoding: windows-1252 (what Excel's "CSV (Comma
# delimited)" writes in Western Europe), iso-8859-1, iso-8859-15,
# windows-1250 or windows-1251. Empty refuses such a file whole, with one
# message. A pipeline may set its own legacy_encoding.
# legacy_encoding: windows-1252

# What one input may make erpipe hold in memory, so that a small file made
# to expand cannot take the daemon down. Past a limit the file fails with a
# report naming it. A pipeline may set its own limits: (key by key).
limits:
  record_bytes: 16MiB           # a CSV row; an XML text or tag
  value_bytes: 1MiB             # one value; an XML element's name
  shared_strings: 4000000       # how many shared strings a workbook may hold
  shared_strings_bytes: 256MiB  # a workbook's shared strings, unpacked
  sheet_bytes: 2GiB             # a workbook's sheet, unpacked (read as a stream)
  merged_cells: 1000000         # how many merged ranges a workbook's sheet may have
  depth: 256                    # how deep XML elements may nest

# Your own pipelines. A pipeline joins an inbox folder (inbox/<name>/), a
# template (a built-in name, or a file under templates/) and destinations.
# A pipeline with the name of a built-in replaces it.
pipelines:
  - name: customers-import
    template: customers-v3
    # When is a dropped file ready? settle (the default: unchanged for the
    # settle window, and no process writing it), marker (when a file
    # <name>.done appears; the marker is removed with it), or rename
    # (writers drop *.tmp and rename it; final names are taken at once).
    inbox:
      readiness: settle
      # The files it takes; by default those its template can read
      # (customers-v3: *.csv, *.txt, *.xlsx). Others are left and logged.
      # patterns: ["*.csv"]
    # The same content dropped again is archived as a Duplicate job and
    # not processed, unless this is true (erpipe retry ID also lets a
    # file through once).
    allow_duplicates: false
    # Files can also come from a recurring export job of Dynamics 365: the
    # daemon dequeues each into the inbox and acks it once it is there
    # (docs/d365.md).
    # source:
    #   d365: {environment: "https://contoso.operations.dynamics.com", tenant: "...", client_id: "...",
    #          activity_id: "{00000000-0000-0000-0000-000000000000}"}
    destinations:
      - folder:
          path: outbox/customers-import
          # What to do when a different result of the same name exists:
          # rename (store as "name (2).zip"; the default), fail, or replace.
          overwrite: rename
      # Object storage too: AWS S3 or any S3-compatible store. Credentials
      # come from the standard AWS chain (AWS_ACCESS_KEY_ID and
      # AWS_SECRET_ACCESS_KEY, a profile, web identity, instance role),
      # never from this file. A result is Processed only when every
      # destination has it; a store that is down is retried.
      # - s3:
      #     bucket: erp-results
      #     prefix: d365/customers
      #     endpoint: https://minio.example.com:9000   # leave out for AWS
      #     region: eu-north-1
      # Azure Blob Storage: results are committed whole (never half a
      # blob), never replace other content by accident, and an account that
      # is down or throttling is waited for. The secret never goes into
      # this file: credential shared-key reads the account key from
      # AZURE_STORAGE_KEY, sas a SAS token (sp=rcw) from
      # AZURE_STORAGE_SAS_TOKEN, connection-string reads
      # AZURE_STORAGE_CONNECTION_STRING (secret_env names another
      # variable, secret_file a file holding it), and entra signs in to
      # Microsoft Entra ID with AZURE_TENANT_ID, AZURE_CLIENT_ID and
      # AZURE_CLIENT_SECRET, a workload or managed identity, or az login
      # (the identity needs Storage Blob Data Contributor on the container).
      # - azblob:
      #     account: erpresults
      #     container: d365
      #     prefix: customers
      #     credential: entra          # or shared-key, sas, connection-string
      #     # secret_file: /run/secrets/azure-sas
      #     # endpoint: http://127.0.0.1:10000/devstoreaccount1   # Azurite, a sovereign cloud
      #     # overwrite: fail          # other content under a taken name: fail, rename or replace
      #     # key_template: "{prefix}{date}/{name}"
      # - d365:                        # import into Dynamics 365 (docs/d365.md)
      #     environment: https://contoso.operations.dynamics.com
      #     tenant: 00000000-0000-0000-0000-000000000000     # Directory (tenant) ID
      #     client_id: 00000000-0000-0000-0000-000000000000  # Application (client) ID
      #     definition_group: erpipe-customers              # the data project
      #     legal_entity: USMF
      #     # secret_env: ERPIPE_D365_CLIENT_SECRET         # the client secret's variable (or secret_file)
      #     # certificate_file: secrets/erpipe-app.pem      # or sign in with a certificate and its key
      #     # overwrite: false         # let the package's manifest replace the project's definition
      #     # wait: 2m                 # how long one try waits for a running import
      #     # Or enqueue to a recurring data job instead of a data project
      #     # (in place of definition_group and overwrite):
      #     # mode: recurring
      #     # activity_id: "{00000000-0000-0000-0000-000000000000}"   # on Manage scheduled data jobs
      #     # entity: Customers V3     # for a File job only; leave out for a Data package job
      #     # company: USMF            # default legal_entity

# Webhooks: other systems told of what happens (docs/events.md). Each
# event (job.ended, job.failed, destination.waiting, period.produced,
# period.failed) is a JSON POST signed with HMAC-SHA256 in the
# Erpipe-Signature header, kept in the journal until the receiver answers
# 2xx, and sent again with back-off, also after a restart. The signing
# secret never goes into this file: it is read from ERPIPE_WEBHOOK_SECRET
# (secret_env names another variable, secret_file a file holding it).
# Remove the # in front of the lines below to try it.
#webhooks:
#  - name: erp-events
#    url: https://hooks.example.com/erpipe
#    events: [job.failed, destination.waiting]   # default: every event
#    pipelines: [customers-v3]       # and schedules: [...]; when neither is given, all
#    # secret_env: ERPIPE_WEBHOOK_SECRET
#    # timeout: 10s
#    # retry: {delay: 10s, max_delay: 1h, give_up_after: 72h}

# The HTTP API (docs/api.md): erpipe run serves it on this address (or
# with --listen): submit files, follow jobs, download outputs, and D365's
# recurring-integrations calls (enqueue, dequeue, ack, jobstatus) for the
# activity IDs mapped below. Clients are registered with the hash of their
# token (make one with erpipe tokens new NAME); without clients the API
# answers only requests from this machine. Remove the # in front of the
# lines below to try it.
#http:
#  listen: 127.0.0.1:8780
#  # cert_file: tls/erpipe.crt      # HTTPS, with key_file: before listening beyond loopback
#  # key_file: tls/erpipe.key
#  # max_upload: 1GiB
#  clients:
#    - name: ris-prod
#      token_sha256: 9faf09372c4993c1e3b046a1f4ad727838a46d5b7e2259a50aebaef87c1bfe02   # replace by what erpipe tokens new prints
#      priority: high                # high, medium or low: low is refused first under load (429)
#      role: operator                # viewer (reads), operator (default: also uploads, retries, runs schedules), author (also edits templates) or admin
#      pipelines: [customers-v3]     # default: every pipeline
#  users:                            # who signs in to the web console (/console/) with a password
#    - name: alice
#      password_hash: "$2a$12$..."   # replace by what erpipe users hash alice prints
#      role: operator
#  # limits: {concurrent: 32, queued: 100, rate: 50, burst: 100}
#  activities:                       # the recurring-integrations facade
#    - id: "{6D31E09F-0249-459F-94F0-AAD9C2C47B64}"
#      pipeline: customers-v3
#  # visibility_timeout: 30m         # an un-acked dequeued file comes back after it

# Scheduled submissions: a template run on a timetable over the data of one
# reporting period, each period produced exactly once and recorded with an
# audit trail (erpipe schedule list; erpipe jobs show ID; receipt.json
# beside the file in archive/<schedule>/<period>/). Remove the # in front
# of the lines below to make the Norwegian SAF-T file of every month from
# the ledger exports you keep in data/ledger/ (saft-no's table with a
# Record column: see samples/saft-no/). The files may hold lines of any
# months: each month's file lists that month's transactions, and the lines
# before it count into the opening balances.
#schedules:
#  - name: saft-monthly
#    template: saft-no              # gets period.start, period.end and period.name
#    cron: "0 6 1 * *"              # 06:00 on the 1st of every month (or @monthly)
#    time_zone: Europe/Oslo
#    period: previous-month         # or previous-quarter, previous-year, bi-monthly...
#    input:
#      files: data/ledger/*.csv
#      # Or run an export data project of Dynamics 365 for each period
#      # (docs/d365.md), in place of files:
#      # d365: {environment: "https://contoso.operations.dynamics.com", tenant: "...", client_id: "...",
#      #        definition_group: SAF-T ledger export, legal_entity: NO01, entity: SAF-T ledger}
#    on_empty: fail                 # no ledger file: the run fails loudly (submit: an empty file)
#    retry: {attempts: 3, delay: 5m}
#    # The file goes to outbox/saft-monthly/ (add destinations: to send it on).
`

func initCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a workspace with an example erpipe.yaml and sample inputs",
		Long: `Init creates a workspace in DIR (default: the current folder): the inbox,
outbox, archive and errors folders, a commented example erpipe.yaml, and under
samples/ a sample input for every built-in template. An existing erpipe.yaml
is kept.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := g.workspace
			if len(args) == 1 {
				dir = args[0]
			}
			ws, err := initWorkspace(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Workspace ready in %s\n", ws.Root)
			fmt.Fprintf(g.stdout, "Next: erpipe run --workspace %s, then drop a file from samples/ into inbox/<template>/\n", ws.Root)
			return nil
		},
	}
}

// initWorkspace scaffolds a workspace in dir and returns it opened.
func initWorkspace(dir string) (*workspace.Workspace, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, failed(err)
	}
	cfg := filepath.Join(dir, workspace.ConfigFile)
	if _, err := os.Stat(cfg); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(cfg, []byte(exampleConfig), 0o644); err != nil {
			return nil, failed(err)
		}
	}
	for _, name := range templates.Names() {
		for _, s := range templates.Samples(name) {
			dst := filepath.Join(dir, "samples", name, path.Base(s))
			if err := copyFromFS(templates.FS(), s, dst); err != nil {
				return nil, failed(err)
			}
		}
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		return nil, usage(err)
	}
	if err := ws.Create(); err != nil {
		return nil, failed(err)
	}
	return ws, nil
}

// copyFromFS copies file name of fsys to dst, creating folders.
func copyFromFS(fsys fs.FS, name, dst string) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
