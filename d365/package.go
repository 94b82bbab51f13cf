package d365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The data management package API: a package is uploaded to a blob that
// D365 hands out (GetAzureWriteUrl), imported into a data project
// (ImportFromPackage) and runs as an execution whose status is polled
// (GetExecutionSummaryStatus); its errors are read per execution and, per
// entity, from error files.

// ExecutionStatus is what GetExecutionSummaryStatus answers.
type ExecutionStatus string

// The statuses of an execution.
const (
	StatusUnknown            ExecutionStatus = "Unknown"
	StatusNotRun             ExecutionStatus = "NotRun"
	StatusExecuting          ExecutionStatus = "Executing"
	StatusSucceeded          ExecutionStatus = "Succeeded"
	StatusPartiallySucceeded ExecutionStatus = "PartiallySucceeded"
	StatusFailed             ExecutionStatus = "Failed"
	StatusCanceled           ExecutionStatus = "Canceled"
)

// Final reports whether the execution has ended. Unknown is final too: D365
// says so of an execution it lost, and RIS then reads its errors.
func (s ExecutionStatus) Final() bool {
	switch s {
	case StatusSucceeded, StatusPartiallySucceeded, StatusFailed, StatusCanceled, StatusUnknown:
		return true
	}
	return false
}

// ErrNotFound is GetExecutionSummaryStatus's answer for an execution D365
// does not know (yet: it answers so for a while after ImportFromPackage).
var ErrNotFound = errors.New("d365: no such execution")

// WriteURL asks for a blob to upload a package to (GetAzureWriteUrl) and
// returns its URL, which holds a SAS that expires.
func (c *Client) WriteURL(ctx context.Context, uniqueName string) (string, error) {
	var value string // a JSON string that holds JSON
	if err := c.action(ctx, "GetAzureWriteUrl", map[string]string{"uniqueFileName": uniqueName}, &value); err != nil {
		return "", err
	}
	var blob struct {
		BlobID  string `json:"BlobId"`
		BlobURL string `json:"BlobUrl"`
	}
	if err := json.Unmarshal([]byte(value), &blob); err != nil || blob.BlobURL == "" {
		return "", &Error{Op: "GetAzureWriteUrl", Status: http.StatusOK, Body: fmt.Sprintf("no BlobUrl in %.200q", value)}
	}
	return blob.BlobURL, nil
}

// ErrSASExpired is an upload refused because the blob URL's signature has
// expired: ask for a new URL.
var ErrSASExpired = errors.New("d365: the blob URL has expired")

// Upload puts size bytes to a blob URL from WriteURL, as a block blob. open
// gives the bytes, anew for every try.
func (c *Client) Upload(ctx context.Context, blobURL string, open func() (io.Reader, error), size int64) error {
	resp, err := c.do(ctx, request{op: "upload package", method: http.MethodPut, url: blobURL, body: open, size: size,
		header: http.Header{"X-Ms-Blob-Type": {"BlockBlob"}, "Content-Type": {"application/zip"}}})
	if err != nil {
		return err
	}
	if resp.StatusCode/100 == 2 {
		drain(resp)
		return nil
	}
	err = answerError("upload package", resp)
	var e *Error
	// Azure answers AuthenticationFailed for a SAS that has expired,
	// Azurite AuthorizationFailure.
	if errors.As(err, &e) && e.Status == http.StatusForbidden && (strings.Contains(e.Body, "AuthenticationFailed") || strings.Contains(e.Body, "AuthorizationFailure")) {
		return fmt.Errorf("%w: %v", ErrSASExpired, err)
	}
	return err
}

// Import is ImportFromPackage's request.
type Import struct {
	PackageURL      string `json:"packageUrl"`
	DefinitionGroup string `json:"definitionGroupId"` // the data project
	ExecutionID     string `json:"executionId"`       // chosen by the caller, so that a retry can ask before importing twice
	Execute         bool   `json:"execute"`
	Overwrite       bool   `json:"overwrite"`
	LegalEntity     string `json:"legalEntityId"`
}

// ImportFromPackage starts the import of an uploaded package and returns
// its execution id.
func (c *Client) ImportFromPackage(ctx context.Context, in Import) (string, error) {
	var id string
	if err := c.action(ctx, "ImportFromPackage", in, &id); err != nil {
		return "", err
	}
	return id, nil
}

// Status is GetExecutionSummaryStatus: the execution's status, or
// ErrNotFound.
func (c *Client) Status(ctx context.Context, executionID string) (ExecutionStatus, error) {
	var s string
	err := c.action(ctx, "GetExecutionSummaryStatus", map[string]string{"executionId": executionID}, &s)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Body), "not found") {
		return "", fmt.Errorf("%w: %s", ErrNotFound, executionID)
	}
	return ExecutionStatus(s), err
}

// ExecutionErrors is GetExecutionErrors: the execution's error messages.
// D365 answers a list, or a string holding one; both are read.
func (c *Client) ExecutionErrors(ctx context.Context, executionID string) ([]string, error) {
	var raw json.RawMessage
	if err := c.action(ctx, "GetExecutionErrors", map[string]string{"executionId": executionID}, &raw); err != nil {
		return nil, err
	}
	return messages(raw), nil
}

// messages reads a list of error messages however it is written: a JSON
// list of strings or of objects with a message, or a string holding one.
func messages(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.HasPrefix(strings.TrimSpace(s), "[") {
			return messages(json.RawMessage(s))
		}
		if s == "" {
			return nil
		}
		return []string{s}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return []string{string(raw)}
	}
	var out []string
	for _, item := range list {
		var text string
		if json.Unmarshal(item, &text) == nil {
			out = append(out, text)
			continue
		}
		var obj map[string]any
		if json.Unmarshal(item, &obj) == nil {
			for _, k := range []string{"message", "Message", "ErrorMessage", "error"} {
				if m, ok := obj[k].(string); ok {
					text = m
					break
				}
			}
		}
		if text == "" {
			text = string(item)
		}
		out = append(out, text)
	}
	return out
}

// EntityStatuses is GetEntityExecutionSummaryStatusList: each entity's
// staging and target counts of an execution.
func (c *Client) EntityStatuses(ctx context.Context, executionID string) ([]EntityDetail, error) {
	var raw []rawEntity
	if err := c.action(ctx, "GetEntityExecutionSummaryStatusList", map[string]string{"executionId": executionID}, &raw); err != nil {
		return nil, err
	}
	out := make([]EntityDetail, len(raw))
	for i, r := range raw {
		out[i] = r.detail()
	}
	return out, nil
}

// StagingErrorFileURL is GetImportStagingErrorFileUrl: where the rows of
// entity that did not reach staging are, or "" when none failed.
func (c *Client) StagingErrorFileURL(ctx context.Context, executionID, entity string) (string, error) {
	var u string
	err := c.action(ctx, "GetImportStagingErrorFileUrl", map[string]string{"executionId": executionID, "entityName": entity}, &u)
	return u, err
}

// GenerateTargetErrorKeys is GenerateImportTargetErrorKeysFile: it asks
// D365 to write the keys of entity's rows that failed staging → target,
// and says whether there are any.
func (c *Client) GenerateTargetErrorKeys(ctx context.Context, executionID, entity string) (bool, error) {
	var exist bool
	err := c.action(ctx, "GenerateImportTargetErrorKeysFile", map[string]string{"executionId": executionID, "entityName": entity}, &exist)
	return exist, err
}

// TargetErrorKeysFileURL is GetImportTargetErrorKeysFileUrl: the file
// GenerateTargetErrorKeys asked for, or "" while it is being written.
func (c *Client) TargetErrorKeysFileURL(ctx context.Context, executionID, entity string) (string, error) {
	var u string
	err := c.action(ctx, "GetImportTargetErrorKeysFileUrl", map[string]string{"executionId": executionID, "entityName": entity}, &u)
	return u, err
}

// Download copies what a URL D365 handed out (an error file, an exported
// package) holds to w, at most limit bytes.
func (c *Client) Download(ctx context.Context, fileURL string, w io.Writer, limit int64) error {
	// Behind a load balancer D365 hands out http:// for its own host (a
	// dequeue's DownloadLocation); blob storage URLs are taken as given.
	if u, err := url.Parse(fileURL); err == nil && u.Scheme == "http" && "https://"+u.Host == c.env {
		fileURL = "https://" + strings.TrimPrefix(fileURL, "http://")
	}
	own := strings.HasPrefix(fileURL, c.env+"/")
	resp, err := c.do(ctx, request{op: "download", method: http.MethodGet, url: fileURL, auth: own})
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return answerError("download", resp)
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, io.LimitReader(resp.Body, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("d365 download: more than %d bytes", limit)
	}
	return err
}
