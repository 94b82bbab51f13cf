package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/formats/dmf"
)

func d365Cmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "d365",
		Short: "Dynamics 365 Finance & Operations: an emulator to try a flow without an environment",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(d365EmulateCmd(g))
	return cmd
}

// emulateOptions are erpipe d365 emulate's flags.
type emulateOptions struct {
	listen      string
	caFile      string
	certFile    string
	executeTime time.Duration
}

func d365EmulateCmd(g *globals) *cobra.Command {
	var o emulateOptions
	cmd := &cobra.Command{
		Use:   "emulate",
		Short: "Run a D365 F&O emulator (token endpoint, package API, recurring integrations) until Ctrl-C",
		Long: `Emulate serves, over HTTPS on a loopback port, the endpoints erpipe calls in
Dynamics 365 Finance & Operations: the Microsoft Entra ID token endpoint
(client credentials), the data management package API (GetAzureWriteUrl,
ImportFromPackage, ExportToPackage, GetExecutionSummaryStatus and the error
files), the blob storage its URLs point at, and the recurring integrations
connector (enqueue, dequeue, ack, jobstatus). It prints the environment URL,
tenant, client ID and secret, the recurring jobs' activity IDs and the CA
certificate file to trust, then runs until Ctrl-C or SIGTERM. The application
can sign in with its secret or with the client certificate the emulator
writes (--certificate-file: the certificate and its key, PEM).

Imported packages are checked with erpipe's DMF checker; rows whose first
column starts with FAIL fail staging and TARGETFAIL the target, so that a
trial shows D365's error files. The export project "erpipe-export" and the
export job hold a small Customers V3 package. See docs/d365.md.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			return runEmulate(ctx, o, g.stdout, g.logger())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to serve on (port 0: a free port)")
	f.StringVar(&o.caFile, "ca-file", "", "where to write the emulator's CA certificate (PEM) (default: erpipe-d365-emulator-ca.pem in the temporary folder)")
	f.StringVar(&o.certFile, "certificate-file", "", "where to write the application's client certificate and key (PEM) (default: erpipe-d365-emulator-client.pem in the temporary folder)")
	f.DurationVar(&o.executeTime, "execute-time", 3*time.Second, "how long an import or export stays Executing")
	return cmd
}

// runEmulate serves the emulator until ctx ends.
func runEmulate(ctx context.Context, o emulateOptions, out io.Writer, log *slog.Logger) error {
	if o.caFile == "" {
		o.caFile = filepath.Join(os.TempDir(), "erpipe-d365-emulator-ca.pem")
	}
	sample, err := sampleExport()
	if err != nil {
		return failed(fmt.Errorf("making the sample export package: %w", err))
	}
	if o.certFile == "" {
		o.certFile = filepath.Join(os.TempDir(), "erpipe-d365-emulator-client.pem")
	}
	cert, certPEM, err := emulator.NewClientCertificate("erpipe D365 emulator client")
	if err != nil {
		return failed(err)
	}
	if err := os.WriteFile(o.certFile, certPEM, 0o600); err != nil {
		return usage(fmt.Errorf("--certificate-file: %w", err))
	}
	s := emulator.New(emulator.Options{
		ClientCertificates: []*x509.Certificate{cert},
		CAFile:             o.caFile,
		ExecuteTime:        o.executeTime,
		ExportPackages:     map[string][]byte{"erpipe-export": sample},
		Logger:             log,
	})
	if err := s.Start(o.listen); err != nil {
		return usage(err)
	}
	defer s.Close()
	for _, a := range s.Activities() {
		if a.Export {
			if _, err := s.Publish(a.ID, "Customers V3.zip", sample); err != nil {
				return failed(err)
			}
		}
	}
	fmt.Fprintf(out, `D365 F&O emulator at %[1]s (Ctrl-C to stop)

  environment URL   %[1]s
  authority host    %[1]s/   (Entra ID; instance discovery off)
  tenant            %[2]s
  client ID         %[3]s
  client secret     %[4]s   (the emulator's published default)
  or certificate    %[6]s   (certificate_file: the application's certificate and key)
  CA certificate    %[5]s   (trust it: the emulator speaks HTTPS only)

Recurring data jobs (activity IDs):
`, s.URL(), s.Tenant(), s.ClientID(), s.ClientSecret(), o.caFile, o.certFile)
	for _, a := range s.Activities() {
		kind, job := "import", "File"
		if a.Export {
			kind = "export"
		}
		if a.Package {
			job = "Data package"
		}
		fmt.Fprintf(out, "  %s  %s (%s), data project %q\n", a.ID, kind, job, a.DataProject)
	}
	fmt.Fprintf(out, `
Export project for ExportToPackage: "erpipe-export" (Customers V3, 3 rows); the
export job's queue holds the same package once.
Rows whose first column starts with FAIL fail staging, TARGETFAIL the target.
Imports take about %s; with --log-level debug every request is logged.
`, o.executeTime)
	<-ctx.Done()
	fmt.Fprintf(out, "stopping; %d imports received\n", len(s.Imports()))
	return nil
}

// sampleExport is the package the emulated export project produces.
func sampleExport() ([]byte, error) {
	var buf bytes.Buffer
	w, err := dmf.NewWriter(&buf, dmf.Options{DefinitionGroup: "erpipe-export"}, []dmf.Entity{{
		Name: "Customers V3", Target: "CustCustomerV3Entity",
		Columns: []string{"CUSTOMERACCOUNT", "ORGANIZATIONNAME", "CUSTOMERGROUPID", "SALESCURRENCYCODE", "CREDITLIMIT"},
	}})
	if err != nil {
		return nil, err
	}
	for _, r := range [][]string{
		{"US-001", "Contoso Retail San Diego", "30", "USD", "25000.00"},
		{"US-002", "Fabrikam Electronics", "30", "USD", "10000.00"},
		{"DE-001", "Northwind Traders GmbH", "40", "EUR", "0.00"},
	} {
		if err := w.Write(0, r); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
