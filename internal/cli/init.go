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

# How many files are processed at the same time.
workers: 2

# Serve every built-in template as a pipeline too (true by default).
builtin_pipelines: true

# Your own pipelines. A pipeline joins an inbox folder (inbox/<name>/), a
# template (a built-in name, or a file under templates/) and destinations.
# A pipeline with the name of a built-in replaces it.
pipelines:
  - name: customers-import
    template: customers-v3
    destinations:
      - folder:
          path: outbox/customers-import
          # What to do when a different result of the same name exists:
          # rename (store as "name (2).zip"; the default), fail, or replace.
          overwrite: rename
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
