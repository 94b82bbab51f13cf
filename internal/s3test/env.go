package s3test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Profile is one profile of the shared credentials file that ChainEnv
// writes.
type Profile struct {
	Name, AccessKey, SecretKey string
}

// chainVars are the environment variables that steer the AWS SDK's
// credential chain, region, profile or endpoint. AWS_CA_BUNDLE is not
// among them: it holds no credentials, and the code under test must cope
// with it.
var chainVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
	"AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
	"AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_USE_PATH_STYLE_ENDPOINT",
}

// ChainEnv returns environ (in os.Environ's form) without the variables
// that steer the AWS credential chain, and with the chain pointed at a
// credentials file in dir that holds exactly profiles (none is fine), no
// config file, no instance metadata, and AWS_REGION set to Region. The
// process that gets this environment finds no credentials but those of
// profiles, and those the caller appends (e.g. "AWS_ACCESS_KEY_ID=...").
func ChainEnv(environ []string, dir string, profiles ...Profile) ([]string, error) {
	var b strings.Builder
	for _, p := range profiles {
		fmt.Fprintf(&b, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n", p.Name, p.AccessKey, p.SecretKey)
	}
	creds := filepath.Join(dir, "aws-credentials")
	if err := os.WriteFile(creds, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(environ)+4)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !isChainVar(k) {
			out = append(out, kv)
		}
	}
	return append(out,
		"AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "aws-config-absent"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION="+Region,
	), nil
}

func isChainVar(k string) bool {
	for _, v := range chainVars {
		if strings.EqualFold(k, v) {
			return true
		}
	}
	return false
}

// IsolateAWSChain makes the current process's environment ChainEnv's, for
// a TestMain whose tests build SDK clients from the default chain. It is
// not safe to call while other goroutines read the environment.
func IsolateAWSChain(dir string, profiles ...Profile) error {
	env, err := ChainEnv(os.Environ(), dir, profiles...)
	if err != nil {
		return err
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); isChainVar(k) {
			os.Unsetenv(k)
		}
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if isChainVar(k) {
			if err := os.Setenv(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}
