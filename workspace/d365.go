package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/erpipe/erpipe/d365"
)

// D365Connection says how to reach a Dynamics 365 Finance & Operations
// environment: its URL and the Entra ID application erpipe signs in as,
// with a client secret or a certificate. The secret is never written
// here: it comes from the environment variable secret_env names (default
// ERPIPE_D365_CLIENT_SECRET) or from secret_file; a certificate from
// certificate_file, and the password of an encrypted one from the
// environment variable certificate_password_env names.
type D365Connection struct {
	// Environment is the environment's URL, e.g.
	// https://contoso.operations.dynamics.com.
	Environment string `yaml:"environment"`
	// Tenant and ClientID name the Entra ID application registered in D365.
	Tenant   string `yaml:"tenant"`
	ClientID string `yaml:"client_id"`
	// SecretEnv names the environment variable holding the client secret;
	// SecretFile, a file holding it (relative to the workspace).
	SecretEnv  string `yaml:"secret_env"`
	SecretFile string `yaml:"secret_file"`
	// CertificateFile is the certificate registered on the application
	// and its private key (PEM, or a .pfx), relative to the workspace: a
	// certificate credential instead of a secret.
	CertificateFile        string `yaml:"certificate_file"`
	CertificatePasswordEnv string `yaml:"certificate_password_env"`
	// AuthorityHost is Entra ID's login host (default
	// https://login.microsoftonline.com/): the emulator's URL in trials.
	AuthorityHost string `yaml:"authority_host"`
	// CAFile is a PEM file of certificates to trust besides the system's
	// (the emulator's), relative to the workspace.
	CAFile string `yaml:"ca_file"`
}

// Client makes a client of the environment; relative file names are
// relative to the workspace root.
func (c D365Connection) Client(root string) (*d365.Client, error) {
	rel := func(f string) string {
		if f != "" && !filepath.IsAbs(f) {
			return filepath.Join(root, f)
		}
		return f
	}
	cfg := d365.Config{Environment: c.Environment, Tenant: c.Tenant, ClientID: c.ClientID,
		AuthorityHost: c.AuthorityHost, CAFile: rel(c.CAFile)}
	var err error
	switch {
	case c.CertificateFile != "" && (c.SecretFile != "" || c.SecretEnv != ""):
		return nil, errors.New("d365: give the application's certificate (certificate_file) or its secret (secret_env, secret_file), not both")
	case c.CertificateFile != "":
		if cfg.Certificate, err = os.ReadFile(rel(c.CertificateFile)); err != nil {
			return nil, fmt.Errorf("d365: certificate_file: %w", err)
		}
		if c.CertificatePasswordEnv != "" {
			if cfg.CertificatePassword = os.Getenv(c.CertificatePasswordEnv); cfg.CertificatePassword == "" {
				return nil, fmt.Errorf("d365: set the certificate's password in the environment variable %s", c.CertificatePasswordEnv)
			}
		}
	default:
		if cfg.Secret, err = d365Secret(c.SecretEnv, rel(c.SecretFile)); err != nil {
			return nil, err
		}
	}
	return d365.New(cfg)
}

// d365Secret reads the client secret of a D365 application: from the file,
// when one is named, else from the environment variable env (default
// ERPIPE_D365_CLIENT_SECRET).
func d365Secret(env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("d365: secret_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if env == "" {
		env = "ERPIPE_D365_CLIENT_SECRET"
	}
	v := os.Getenv(env)
	if v == "" {
		return "", fmt.Errorf("d365: set the client secret of the Entra ID application in the environment variable %s (or name a secret_file)", env)
	}
	return v, nil
}

// D365Config imports a pipeline's packages into Dynamics 365 Finance &
// Operations through its data management package API, or enqueues them to
// a recurring data job (mode: recurring; docs/d365.md).
type D365Config struct {
	// Mode is package (the default: the data management package API) or
	// recurring (the recurring integrations API).
	Mode           string `yaml:"mode"`
	D365Connection `yaml:",inline"`
	// DefinitionGroup is the data project the packages are imported into
	// (package mode).
	DefinitionGroup string `yaml:"definition_group"`
	// LegalEntity is the company, e.g. USMF (in recurring mode, company's
	// default).
	LegalEntity string `yaml:"legal_entity"`
	// Overwrite lets a package's manifest replace the project's definition
	// (package mode).
	Overwrite bool `yaml:"overwrite"`
	// ActivityID is the recurring data job's activity ID, the GUID on
	// Manage scheduled data jobs (recurring mode).
	ActivityID string `yaml:"activity_id"`
	// Entity is the entity's name for a recurring job of the File kind;
	// left out for a Data package job (recurring mode).
	Entity string `yaml:"entity"`
	// Company is the legal entity a recurring job imports into; default
	// legal_entity, else the job's own (recurring mode).
	Company string `yaml:"company"`
	// Wait is how long one delivery waits for a running import before the
	// job says it waits for D365 and asks again later (default 2m).
	Wait Duration `yaml:"wait"`
}

// Validate says what a d365 destination lacks for its mode, or what it
// sets that its mode does not use.
func (c *D365Config) Validate() error {
	switch c.Mode {
	case "", "package":
		if c.DefinitionGroup == "" {
			return errors.New("d365: say which data project to import into (definition_group), or set mode: recurring with an activity_id")
		}
		if c.ActivityID != "" || c.Entity != "" || c.Company != "" {
			return errors.New("d365: activity_id, entity and company are for mode: recurring; in package mode the data project is definition_group and the company legal_entity")
		}
	case "recurring":
		if strings.Trim(c.ActivityID, "{} ") == "" {
			return errors.New("d365: mode recurring needs the activity_id of the recurring data job (the GUID on Data management > Manage scheduled data jobs)")
		}
		if c.DefinitionGroup != "" || c.Overwrite {
			return errors.New("d365: definition_group and overwrite are for mode: package; a recurring data job imports into its own data project")
		}
	default:
		return fmt.Errorf("d365: mode %q is not known; use package (the data management package API, the default) or recurring (a recurring data job)", c.Mode)
	}
	return nil
}

// D365Source takes exports out of Dynamics 365: for a schedule's input,
// an export data project run with ExportToPackage (definition_group); for
// a pipeline's source, the files a recurring export job puts on its queue
// (activity_id), dequeued into the pipeline's inbox and acknowledged once
// they are safely there.
type D365Source struct {
	D365Connection `yaml:",inline"`
	// DefinitionGroup is the export data project (a schedule's input).
	DefinitionGroup string `yaml:"definition_group"`
	// LegalEntity is the company exported from, e.g. USMF.
	LegalEntity string `yaml:"legal_entity"`
	// Entity names the entity whose data file is the schedule's input;
	// without it the template reads the whole package (e.g. dmf-unpack).
	Entity string `yaml:"entity"`
	// ActivityID is the recurring export job's activity ID (a pipeline's
	// source).
	ActivityID string `yaml:"activity_id"`
	// Every is how often the queue is asked when it was empty (default 1m).
	Every Duration `yaml:"every"`
	// Wait is how long an export may run before the period's run fails
	// (default 30m).
	Wait Duration `yaml:"wait"`
}

// SourceConfig is where a pipeline's files come from besides its inbox
// folder, which they are put into. Exactly one field is set.
type SourceConfig struct {
	D365 *D365Source `yaml:"d365"`
}

// validate says what a d365 source lacks for a pipeline (forSchedule
// false) or a schedule's input (true).
func (c *D365Source) validate(forSchedule bool) error {
	if c.Environment == "" || c.Tenant == "" || c.ClientID == "" {
		return errors.New("d365: say which environment to export from and as which application: environment, tenant and client_id")
	}
	if forSchedule {
		if c.DefinitionGroup == "" {
			return errors.New("d365: say which export data project to run (definition_group); a recurring export job (activity_id) feeds a pipeline: set it as the pipeline's source")
		}
		if c.ActivityID != "" || c.Every != 0 {
			return errors.New("d365: activity_id and every are for a pipeline's source (a recurring export job); a schedule runs the export data project definition_group")
		}
		return nil
	}
	if strings.Trim(c.ActivityID, "{} ") == "" {
		return errors.New("d365: a pipeline's source needs the activity_id of the recurring export job (the GUID on Data management > Manage scheduled data jobs)")
	}
	if c.DefinitionGroup != "" || c.Entity != "" || c.Wait != 0 {
		return errors.New("d365: definition_group, entity and wait are for a schedule's input (an export data project); a pipeline's source dequeues the recurring export job activity_id")
	}
	return nil
}
