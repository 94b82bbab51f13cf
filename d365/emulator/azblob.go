package emulator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// AzureBlobs is a BlobStore in a container of an Azure Storage account,
// as D365 keeps its packages: a real one, or the Azurite emulator. The
// URLs it hands out are the account's own, signed with service SAS
// tokens, so that clients upload to and download from Azure Storage
// itself, with its answers (403 AuthenticationFailed once a SAS expired).
type AzureBlobs struct {
	container *container.Client
	cred      *container.SharedKeyCredential
	name      string // the container's
	hc        *http.Client
}

// NewAzureBlobs makes a store in container name of the blob service at
// serviceURL (e.g. Azurite's http://127.0.0.1:10000/devstoreaccount1),
// signed with the account's shared key. hc, when not nil, makes the
// store's own requests (one that trusts a test server's certificate). The
// container must exist.
func NewAzureBlobs(serviceURL, account, key, name string, hc *http.Client) (*AzureBlobs, error) {
	cred, err := container.NewSharedKeyCredential(account, key)
	if err != nil {
		return nil, err
	}
	opts := &container.ClientOptions{}
	if hc != nil {
		opts.Transport = hc
	}
	c, err := container.NewClientWithSharedKeyCredential(strings.TrimRight(serviceURL, "/")+"/"+name, cred, opts)
	if err != nil {
		return nil, err
	}
	return &AzureBlobs{container: c, cred: cred, name: name, hc: hc}, nil
}

// SignedURL is a service SAS URL of blob name.
func (a *AzureBlobs) SignedURL(_ context.Context, name, perms string, expiry time.Time) (string, error) {
	p := sas.BlobPermissions{Read: strings.Contains(perms, "r"), Write: strings.Contains(perms, "w"), Create: strings.Contains(perms, "w")}
	q, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, StartTime: time.Now().Add(-5 * time.Minute).UTC(),
		ExpiryTime: expiry.UTC(), Permissions: p.String(), ContainerName: a.name, BlobName: name}.SignWithSharedKey(a.cred)
	if err != nil {
		return "", err
	}
	return a.container.NewBlobClient(name).URL() + "?" + q.Encode(), nil
}

// Put stores data as blob name.
func (a *AzureBlobs) Put(ctx context.Context, name string, data []byte) error {
	_, err := a.container.NewBlockBlobClient(name).UploadBuffer(ctx, data, &blockblob.UploadBufferOptions{})
	return err
}

// Fetch reads the blob a signed URL points at, with the URL's own SAS.
func (a *AzureBlobs) Fetch(ctx context.Context, signedURL string) ([]byte, error) {
	opts := &blob.ClientOptions{}
	if a.hc != nil {
		opts.ClientOptions = azcore.ClientOptions{Transport: a.hc}
	}
	c, err := blob.NewClientWithNoCredential(signedURL, opts)
	if err != nil {
		return nil, err
	}
	resp, err := c.DownloadStream(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, fmt.Errorf("%s: %w", signedURL, ErrBlobNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, io.LimitReader(resp.Body, maxBlob))
	return buf.Bytes(), err
}
