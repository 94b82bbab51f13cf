package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/workspace"
)

func usersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Make the password hashes of the web console's users",
	}
	var role string
	var pipelines []string
	hashCmd := &cobra.Command{
		Use:   "hash NAME",
		Short: "Read a user's password and print the erpipe.yaml lines with its bcrypt hash",
		Long: `Hash reads the password of the console user NAME (asked twice, without
echo, on a terminal; else the first line of the standard input) and prints
the lines to add under http: users: in erpipe.yaml, with the password's
bcrypt hash (cost 12). The password itself is written nowhere. To change a
password, replace the user's password_hash: the running daemon takes the
change with its configuration and ends the user's sessions.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			if strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t\r\n:\"'") {
				return usage(fmt.Errorf("user name %q: give a plain name such as alice", name))
			}
			r := workspace.RoleViewer
			if role != "" {
				var err error
				if r, err = workspace.ParseRole(role); err != nil {
					return usage(fmt.Errorf("--role: %v", err))
				}
			}
			pw, err := readPassword(g, c.InOrStdin(), name)
			if err != nil {
				return usage(err)
			}
			h, err := workspace.HashPassword(pw)
			if err != nil {
				return usage(err)
			}
			fmt.Fprintf(g.stdout, "Add to erpipe.yaml, under http: users:\n\n")
			fmt.Fprintf(g.stdout, "    - name: %s\n      password_hash: %q\n      role: %s\n", name, h, r)
			if len(pipelines) > 0 {
				fmt.Fprintf(g.stdout, "      pipelines: [%s]\n", strings.Join(pipelines, ", "))
			}
			return nil
		},
	}
	hashCmd.Flags().StringVar(&role, "role", "viewer", "what the user may do: viewer (read), operator (also upload, retry, fix, run schedules), author (also edit templates) or admin")
	hashCmd.Flags().StringSliceVar(&pipelines, "pipeline", nil, "a pipeline the user may use (repeat; default: all)")
	cmd.AddCommand(hashCmd)
	return cmd
}

// readPassword asks for the password twice without echo on a terminal,
// or reads the standard input's first line.
func readPassword(g *globals, in io.Reader, name string) (string, error) {
	if f, ok := in.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(g.stderr, "Password for %s: ", name)
		pw, err := readNoEcho(f)
		fmt.Fprintln(g.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(g.stderr, "Again: ")
		again, err := readNoEcho(f)
		fmt.Fprintln(g.stderr)
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", errors.New("the two passwords differ; nothing was printed")
		}
		return pw, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("give the password on the standard input (one line), or run erpipe users hash on a terminal")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
