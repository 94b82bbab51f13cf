package cli

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/templates"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
	"github.com/erpipe/erpipe/transform/templatetest"
)

// authoringCmds are the template authoring commands under `templates`:
// test, preview, schema, show and diff.
func authoringCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{templatesTestCmd(g), templatesPreviewCmd(g), templatesSchemaCmd(g), templatesShowCmd(g), templatesDiffCmd(g)}
}

// templateRef is where a template named on the command line is.
type templateRef struct {
	fsys    fs.FS
	name    string // in fsys
	display string // for messages
	disk    string // the file on disk, "" for a built-in
}

// findTemplate resolves a file path, a workspace template or a built-in.
func findTemplate(g *globals, arg string) (templateRef, error) {
	if st, err := os.Stat(arg); err == nil {
		if st.IsDir() {
			arg = filepath.Join(arg, "template.yaml")
		}
		return templateRef{fsys: template.DirFS(filepath.Dir(arg)), name: filepath.Base(arg), display: arg, disk: arg}, nil
	}
	ws := bareWorkspace(g)
	if p := ws.TemplateFile(arg); p != "" {
		if _, err := os.Stat(p); err != nil {
			return templateRef{}, usage(err)
		}
		return templateRef{fsys: template.DirFS(filepath.Dir(p)), name: filepath.Base(p), display: p, disk: p}, nil
	}
	p := arg + "/template.yaml"
	if _, err := fs.Stat(templates.FS(), p); err != nil {
		return templateRef{}, usage(fmt.Errorf("no template %q: not a file, not in %s, not a built-in (built-ins: %s)",
			arg, filepath.Join(ws.Root, "templates"), strings.Join(templates.Names(), ", ")))
	}
	return templateRef{fsys: templates.FS(), name: p, display: "builtin:" + p}, nil
}

func (r templateRef) load() (*transform.Template, error) {
	if r.disk != "" {
		return transform.Load(r.disk)
	}
	return transform.LoadFS(r.fsys, r.name)
}

func templatesTestCmd(g *globals) *cobra.Command {
	var update bool
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run templates' test cases; a readable diff for each failure",
		Long: `Test runs each template's test cases and prints a PASS or FAIL line per case,
with the differences of a failing case: row and column for CSV files,
entity, row and column for DMF packages, element paths for XML.

A PATH is a template file, a template's folder (holding template.yaml), or a
folder of templates (each sub-folder with a template.yaml, and each .yaml
file). Without PATH, the workspace's templates/ folder is tested.

The cases of a template in its own folder are its samples/ (expected in
testdata/golden/sample-FILE/), each testdata/cases/CASE/input.* (expected in
testdata/golden/CASE/), and the entries of its tests: key. --update rewrites
the expected files of the cases that fail.

Exit codes: 0 every case passed, 1 a case failed or a template does not load.`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{filepath.Join(bareWorkspace(g).Root, "templates")}
			}
			var files []string
			for _, a := range args {
				fs, err := templateFiles(a)
				if err != nil {
					return usage(err)
				}
				files = append(files, fs...)
			}
			if len(files) == 0 {
				return usage(fmt.Errorf("no templates in %s", strings.Join(args, ", ")))
			}
			return runTemplateTests(c.Context(), g, files, update)
		},
	}
	cmd.Flags().BoolVar(&update, "update", false, "rewrite the expected files of failing cases with what the templates make now")
	return cmd
}

// templateFiles lists the template files a PATH of templates test names.
func templateFiles(arg string) ([]string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{arg}, nil
	}
	if _, err := os.Stat(filepath.Join(arg, "template.yaml")); err == nil {
		return []string{filepath.Join(arg, "template.yaml")}, nil
	}
	entries, err := os.ReadDir(arg)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(arg, e.Name())
		switch {
		case e.IsDir():
			if _, err := os.Stat(filepath.Join(p, "template.yaml")); err == nil {
				out = append(out, filepath.Join(p, "template.yaml"))
			}
		case strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml"):
			out = append(out, p)
		}
	}
	return out, nil
}

func runTemplateTests(ctx context.Context, g *globals, files []string, update bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	passed, failedN, broken := 0, 0, 0
	for _, f := range files {
		t, err := transform.Load(f)
		if err != nil {
			fmt.Fprintf(g.stdout, "FAIL %s: the template does not load:\n%s\n", f, err)
			broken++
			continue
		}
		cases, err := templatetest.Cases(t, f)
		if err != nil {
			fmt.Fprintf(g.stdout, "FAIL %s: %v\n", f, err)
			broken++
			continue
		}
		if len(cases) == 0 {
			fmt.Fprintf(g.stdout, "---- %s: no test cases (add samples/, testdata/cases/ or a tests: key)\n", t.Name)
		}
		for _, tc := range cases {
			o, err := templatetest.Run(ctx, t, tc, update)
			if err != nil {
				return err
			}
			switch {
			case o.Updated:
				fmt.Fprintf(g.stdout, "UPDATED %s/%s\n", t.Name, tc.Name)
				passed++
			case o.Pass:
				fmt.Fprintf(g.stdout, "PASS %s/%s\n", t.Name, tc.Name)
				passed++
			default:
				fmt.Fprintf(g.stdout, "FAIL %s/%s (input %s)\n%s", t.Name, tc.Name, tc.Input, indentLines(o.Diff))
				failedN++
			}
		}
	}
	fmt.Fprintf(g.stdout, "%d passed, %d failed\n", passed, failedN+broken)
	if failedN+broken > 0 {
		hint := ""
		if !update && failedN > 0 {
			hint = "; if the new results are right, run again with --update"
		}
		return failed(fmt.Errorf("%d of %d test cases failed%s", failedN+broken, passed+failedN+broken, hint))
	}
	return nil
}

func indentLines(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

func templatesPreviewCmd(g *globals) *cobra.Command {
	var tmplName string
	var rows int
	var explain bool
	cmd := &cobra.Command{
		Use:   "preview --template T FILE",
		Short: "Show what a template makes of a file's first rows, writing nothing",
		Long: `Preview runs template T on the first rows of FILE and shows, for each row, the
value of every output column, or why the row would be left out. Nothing is
written. With --explain, each value is followed by where it came from: the
input cells (file, row, column) and the lookups it went through.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if tmplName == "" {
				return usage(fmt.Errorf("say which template with --template NAME or FILE"))
			}
			if rows < 1 {
				return usage(fmt.Errorf("--rows must be at least 1"))
			}
			ref, err := findTemplate(g, tmplName)
			if err != nil {
				return err
			}
			t, err := ref.load()
			if err != nil {
				return usage(err)
			}
			ctx := context.Background()
			prev, res, err := t.Preview(ctx, args[0], rows)
			if err != nil {
				return failed(err)
			}
			var why [][]transform.ColumnExplanation
			if explain {
				if why, err = t.Explain(ctx, args[0], prev); err != nil {
					return failed(err)
				}
			}
			printPreview(g, t, prev, why)
			for _, w := range res.Warnings {
				fmt.Fprintf(g.stdout, "warning: %s\n", w)
			}
			written := 0
			for _, r := range prev {
				if r.Values != nil {
					written++
				}
			}
			fmt.Fprintf(g.stdout, "%d read, %d would be written, %d rejected, %d skipped (first %d rows; nothing written)\n",
				res.Read, written, res.Rejected, res.Skipped, rows)
			return nil
		},
	}
	cmd.Flags().StringVarP(&tmplName, "template", "t", "", "template name or file")
	cmd.Flags().IntVar(&rows, "rows", 10, "how many records to read")
	cmd.Flags().BoolVar(&explain, "explain", false, "show the input cells and lookups behind each value")
	return cmd
}

func printPreview(g *globals, t *transform.Template, rows []transform.PreviewRow, why [][]transform.ColumnExplanation) {
	cols, tables := t.Columns(), t.TableNames()
	for i, r := range rows {
		fmt.Fprintf(g.stdout, "%s:\n", r.Pos)
		if r.Values == nil {
			for _, e := range r.Errors {
				fmt.Fprintf(g.stdout, "  left out: %s\n", e)
			}
			continue
		}
		k := 0
		for ti, vals := range r.Values {
			if len(r.Values) > 1 {
				fmt.Fprintf(g.stdout, "  %s\n", tables[ti])
			}
			for ci, v := range vals {
				fmt.Fprintf(g.stdout, "    %s = %q\n", cols[ti][ci], v)
				if why != nil && i < len(why) && k < len(why[i]) {
					printExplanation(g, why[i][k])
				}
				k++
			}
		}
	}
}

func printExplanation(g *globals, e transform.ColumnExplanation) {
	fmt.Fprintf(g.stdout, "        from %s\n", e.Expr)
	if len(e.Via) > 0 {
		fmt.Fprintf(g.stdout, "        via model fields %s\n", strings.Join(e.Via, ", "))
	}
	for _, in := range e.Inputs {
		col := ""
		if in.Pos.Col == 0 {
			col = " (column missing)"
		}
		fmt.Fprintf(g.stdout, "        input %s = %q at %s (%q)%s\n", in.Field, in.Text, in.Pos, in.Column, col)
	}
	for _, l := range e.Lookups {
		found := fmt.Sprintf("gives %q", l.Value)
		if !l.Found {
			found = "not in the table"
		}
		fmt.Fprintf(g.stdout, "        lookup %s[%q] %s\n", l.Table, l.Key, found)
	}
}

func templatesSchemaCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of template files, for YAML editors",
		Long: `Schema prints the JSON Schema (draft 2020-12) of template files. Save it and
point YAML editors at it, e.g. in VS Code with the YAML extension put this
first line in a template:

  # yaml-language-server: $schema=template.schema.json

The editor then completes keys, shows what each means, and marks unknown
keys and wrong values as you type. The schema is made from the same key
table as the validator and docs/templates.md.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := g.stdout.Write(template.Schema())
			return err
		},
	}
}

func templatesShowCmd(g *globals) *cobra.Command {
	var effective bool
	cmd := &cobra.Command{
		Use:   "show T",
		Short: "Print a template; --effective merges a derived template's base in",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ref, err := findTemplate(g, args[0])
			if err != nil {
				return err
			}
			var out []byte
			if effective {
				out, err = template.Effective(ref.fsys, ref.name, ref.display)
				if err != nil {
					return failed(err)
				}
				fmt.Fprintf(g.stdout, "# %s as loaded, with its base merged in\n", ref.display)
			} else if out, err = fs.ReadFile(ref.fsys, ref.name); err != nil {
				return failed(err)
			}
			_, err = g.stdout.Write(out)
			return err
		},
	}
	cmd.Flags().BoolVar(&effective, "effective", false, "print the template as loaded: a derived template with its base merged in")
	return cmd
}

func templatesDiffCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff A B",
		Short: "What changed between two templates (or versions), field by field",
		Long: `Diff compares two templates as they are loaded (derived templates with their
bases merged in), part by part: input fields, lookups, model fields,
validations and entities by name, and the keys of each. Moving a key or
changing a comment is not a change. Exit code 0 when they are the same, 1
when they differ.`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			a, err := findTemplate(g, args[0])
			if err != nil {
				return err
			}
			b, err := findTemplate(g, args[1])
			if err != nil {
				return err
			}
			changes, err := template.DiffFS(a.fsys, a.name, a.display, b.fsys, b.name, b.display)
			if err != nil {
				return usage(err)
			}
			fmt.Fprintf(g.stdout, "--- %s\n+++ %s\n", a.display, b.display)
			for _, ch := range changes {
				switch ch.Kind {
				case template.ChangeAdded:
					fmt.Fprintf(g.stdout, "+ %s: %s  (line %d)\n", ch.Path, ch.New, ch.NewLine)
				case template.ChangeRemoved:
					fmt.Fprintf(g.stdout, "- %s: %s  (line %d)\n", ch.Path, ch.Old, ch.OldLine)
				default:
					fmt.Fprintf(g.stdout, "~ %s: %s → %s  (lines %d → %d)\n", ch.Path, ch.Old, ch.New, ch.OldLine, ch.NewLine)
				}
			}
			if len(changes) == 0 {
				fmt.Fprintln(g.stdout, "no changes")
				return nil
			}
			return failed(fmt.Errorf("%d changes", len(changes)))
		},
	}
}
