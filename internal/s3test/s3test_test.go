package s3test_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/erpipe/erpipe/internal/s3test"
)

// TestRestart: a stopped server refuses connections; restarted, it is at
// the same endpoint and still holds its objects. Over https too, so that
// the certificate survives the restart.
func TestRestart(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		srv := s3test.New(t, s3test.Options{TLS: tlsOn, Buckets: []string{"erpipe-test"}})
		t.Run(srv.Name, func(t *testing.T) {
			c, err := srv.Client()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutObject(t.Context(), &awss3.PutObjectInput{
				Bucket: aws.String("erpipe-test"), Key: aws.String("k/x.txt"), Body: strings.NewReader("kept"),
			}); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			endpoint := srv.Endpoint
			if err := srv.Stop(); err != nil {
				t.Fatal(err)
			}
			if srv.Running() {
				t.Fatal("Running after Stop")
			}
			hc, _ := srv.HTTPClient()
			if resp, err := hc.Get(srv.Endpoint + "/"); err == nil {
				resp.Body.Close()
				t.Fatalf("stopped server answered %s", resp.Status)
			}
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			if srv.Endpoint != endpoint || !srv.Running() {
				t.Fatalf("after Restart: endpoint %s (was %s), running %v", srv.Endpoint, endpoint, srv.Running())
			}
			out, err := c.GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String("erpipe-test"), Key: aws.String("k/x.txt")})
			if err != nil {
				t.Fatalf("GetObject after Restart: %v", err)
			}
			defer out.Body.Close()
			if b, _ := io.ReadAll(out.Body); string(b) != "kept" {
				t.Errorf("object holds %q after Restart, want %q", b, "kept")
			}
		})
	}
}

// TestAnonymousRefused: the server checks who asks, so tests of credential
// handling mean something.
func TestAnonymousRefused(t *testing.T) {
	srv := s3test.New(t, s3test.Options{})
	hc, err := srv.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.Endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous request: %s, want 403", resp.Status)
	}
}

func TestChainEnv(t *testing.T) {
	dir := t.TempDir()
	env, err := s3test.ChainEnv([]string{
		"HOME=/home/x", "AWS_PROFILE=prod", "AWS_ACCESS_KEY_ID=AKIAREAL", "AWS_SECRET_ACCESS_KEY=real",
		"aws_session_token=tok", "AWS_CA_BUNDLE=/etc/ca.pem", "AWS_REGION=eu-north-1",
	}, dir, s3test.Profile{Name: "default", AccessKey: "a", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HOME=/home/x", "AWS_CA_BUNDLE=/etc/ca.pem",
		"AWS_SHARED_CREDENTIALS_FILE=" + dir + "/aws-credentials",
		"AWS_CONFIG_FILE=" + dir + "/aws-config-absent",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=" + s3test.Region,
	}
	if !slices.Equal(env, want) {
		t.Errorf("ChainEnv =\n%q\nwant\n%q", env, want)
	}
}
