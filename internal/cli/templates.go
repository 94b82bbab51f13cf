package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
)

func templatesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "List and check templates (format configurations)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the built-in and workspace templates with version and status",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ws := bareWorkspace(g)
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tSTATUS\tSOURCE\tDESCRIPTION")
			var errs int
			for _, name := range ws.TemplateNames() {
				t, err := ws.LoadTemplate(name)
				if err != nil {
					fmt.Fprintf(tw, "%s\t-\tinvalid\t-\t%s\n", name, firstLine(err.Error()))
					errs++
					continue
				}
				source := "built-in"
				if p := ws.TemplateFile(name); p != "" {
					source = p
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, t.Version, t.Status, source, t.Description)
			}
			tw.Flush()
			if errs > 0 {
				return failed(fmt.Errorf("%d templates do not load; run erpipe templates validate on them", errs))
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE...",
		Short: "Check templates before any data: errors as file:line:col: message",
		Long: `Validate loads each template file (or template name) and reports every
problem it finds, one per line as file:line:col: message: unknown keys, wrong
types, expressions that don't compile, references to undefined fields or lookups.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ws := bareWorkspace(g)
			bad := 0
			for _, arg := range args {
				var t *transform.Template
				var err error
				if _, statErr := os.Stat(arg); statErr == nil {
					t, err = transform.Load(arg)
				} else {
					t, err = ws.LoadTemplate(arg)
				}
				if err != nil {
					fmt.Fprintln(g.stdout, err)
					bad++
					continue
				}
				fmt.Fprintf(g.stdout, "%s: ok (%s %s)\n", arg, t.Name, t.Version)
			}
			if bad > 0 {
				return failed(fmt.Errorf("%d of %d templates have errors", bad, len(args)))
			}
			return nil
		},
	})
	cmd.AddCommand(authoringCmds(g)...) // templates_authoring.go
	return cmd
}

// bareWorkspace is the workspace of the global flags without its
// configuration: enough to find templates. Opening the workspace would
// load (and compile the schemas of) every pipeline's template first, and a
// broken erpipe.yaml must not stop people from working on templates.
func bareWorkspace(g *globals) *workspace.Workspace {
	root, err := filepath.Abs(g.workspace)
	if err != nil {
		root = g.workspace
	}
	return &workspace.Workspace{Root: root}
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
