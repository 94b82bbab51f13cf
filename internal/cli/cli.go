// Package cli is erpipe's command line: one cobra command per verb, each a
// thin layer over the packages that do the work.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/erpipe/erpipe/transform/layout"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the work failed: bad data, a failed job
	exitUsage  = 2 // usage or configuration error
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// failed marks err as a failure of the work (exit 1).
func failed(err error) error { return &exitError{exitFailed, err} }

// usage marks err as a usage or configuration error (exit 2).
func usage(err error) error { return &exitError{exitUsage, err} }

// Version is set at build time with -ldflags "-X github.com/erpipe/erpipe/internal/cli.Version=v1.2.3".
var Version = "dev"

// globals are the flags every command shares.
type globals struct {
	workspace string
	config    string
	logFormat string
	logLevel  string
	stdout    io.Writer
	stderr    io.Writer
}

func (g *globals) logger() *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(g.logLevel))
	opts := &slog.HandlerOptions{Level: level}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// Main runs the command line with args and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	layout.SoftwareVersion = Version // erpipe.version in layouts (SAF-T's SoftwareVersion)
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "erpipe",
		Short: "Turn dropped Excel, CSV and XML files into D365 data packages and e-documents",
		Long: `erpipe watches inbox folders, runs each file through its pipeline's template
(a format configuration kept by finance users), and delivers the results:
DMF data packages that Dynamics 365 imports, or regulatory e-documents.

Start with "erpipe demo", or "erpipe init DIR" then "erpipe run --workspace DIR".

Exit codes: 0 ok, 1 the work failed, 2 usage or configuration error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usage(err) })
	pf := root.PersistentFlags()
	pf.StringVarP(&g.workspace, "workspace", "w", ".", "workspace folder")
	pf.StringVar(&g.config, "config", "", "configuration file (default: erpipe.yaml in the workspace)")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")

	root.AddCommand(runCmd(g), checkCmd(g), statusCmd(g), transformCmd(g), templatesCmd(g), jobsCmd(g), retryCmd(g), initCmd(g), demoCmd(g), versionCmd(g), scheduleCmd(g), d365Cmd(g), tokensCmd(g), usersCmd(g), clusterCmd(g))

	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "erpipe:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Cobra's own errors (unknown command, bad arguments) are usage errors.
	return exitUsage
}

// onHangup calls reload on every SIGHUP until the returned function is
// called.
func onHangup(reload func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				reload()
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and build information",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(g.stdout, "erpipe %s\n", Version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(g.stdout, "go: %s\n", bi.GoVersion)
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision", "vcs.time", "vcs.modified", "GOOS", "GOARCH":
						fmt.Fprintf(g.stdout, "%s: %s\n", s.Key, s.Value)
					}
				}
			}
			return nil
		},
	}
}
