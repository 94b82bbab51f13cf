package s3_test

import (
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/outboxtest"
	"github.com/erpipe/erpipe/outbox/s3"
)

// TestConformance runs the outbox conformance suite against versitygw,
// over http and over https with aws-chunked uploads.
func TestConformance(t *testing.T) {
	for _, m := range modes(t) {
		if m.name == "https-when_required" {
			continue // covered by the tests of this package
		}
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			outboxtest.Run(t, func(t *testing.T) outbox.Destination {
				cfg := config(t, m.srv)
				cfg.ChecksumMode = m.checksum
				return newDest(t, cfg)
			}, outboxtest.Options{
				Get:  func(t *testing.T, d outbox.Destination, loc string) ([]byte, error) { return getBytes(t, m.srv, loc) },
				List: func(t *testing.T, d outbox.Destination) []string { return listNames(t, m.srv, d.(*s3.S3)) },
			})
		})
	}
}

// getBytes reads the object at location "s3://bucket/key".
func getBytes(t *testing.T, srv *server, loc string) ([]byte, error) {
	c, err := srv.Client()
	if err != nil {
		return nil, err
	}
	out, err := c.GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keyOf(t, loc))})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// listNames returns the names under d's prefix: the objects, and every
// multipart upload in progress as "<name> (multipart upload in progress)",
// so that a leaked upload shows.
func listNames(t *testing.T, srv *server, d *s3.S3) []string {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	prefix := strings.TrimPrefix(d.String(), "s3://"+bucket+"/") + "/"
	var names []string
	p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range page.Contents {
			names = append(names, strings.TrimPrefix(aws.ToString(o.Key), prefix))
		}
	}
	for _, u := range pendingUploads(t, srv, prefix) {
		key, _, _ := strings.Cut(u, " ")
		names = append(names, strings.TrimPrefix(key, prefix)+" (multipart upload in progress)")
	}
	return names
}
