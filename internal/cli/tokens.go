package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/api"
	"github.com/erpipe/erpipe/workspace"
)

func tokensCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Make bearer tokens for the HTTP API's clients",
	}
	var priority, role string
	var pipelines []string
	newCmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Make a client's token: print it once, and the erpipe.yaml lines that register its hash",
		Long: `New makes a random bearer token for the API client NAME and prints it once,
with the lines to add under http: clients: in erpipe.yaml. erpipe keeps only
the token's SHA-256: the token itself is written nowhere, so give it to the
client now (it sends Authorization: Bearer <token>). A lost token cannot be
shown again: make a new one and replace the client's token_sha256. To
revoke a token, set revoked: true on its client or remove the client; the
running daemon takes the change with its configuration.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "\n\r\"'") {
				return usage(fmt.Errorf("client name %q: give a plain name such as ris-prod", name))
			}
			if !slices.Contains(workspace.Priorities, priority) {
				return usage(fmt.Errorf("--priority %q: use high, medium or low", priority))
			}
			r, err := workspace.ParseRole(role)
			if err != nil {
				return usage(fmt.Errorf("--role: %v", err))
			}
			var b [32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return failed(err)
			}
			token := "erp_" + base64.RawURLEncoding.EncodeToString(b[:])
			fmt.Fprintf(g.stdout, "Token for client %s (shown once; give it to the client, it is not stored):\n\n  %s\n\n", name, token)
			fmt.Fprintf(g.stdout, "Add to erpipe.yaml, under http: clients:\n\n")
			fmt.Fprintf(g.stdout, "    - name: %s\n      token_sha256: %s\n      priority: %s\n      role: %s\n", name, api.HashToken(token), priority, r)
			if len(pipelines) > 0 {
				fmt.Fprintf(g.stdout, "      pipelines: [%s]\n", strings.Join(pipelines, ", "))
			}
			return nil
		},
	}
	newCmd.Flags().StringVar(&priority, "priority", "medium", "the client's priority under load: high, medium or low")
	newCmd.Flags().StringVar(&role, "role", string(workspace.DefaultRole), "what the client may do: viewer (read), operator (also upload, retry, run schedules), author (also edit templates) or admin")
	newCmd.Flags().StringSliceVar(&pipelines, "pipeline", nil, "a pipeline the client may use (repeat; default: all)")
	cmd.AddCommand(newCmd)
	return cmd
}
