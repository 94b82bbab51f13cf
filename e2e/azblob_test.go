package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/erpipe/erpipe/internal/azuritetest"
)

// These tests run the real binary against Azurite, Microsoft's Azure
// Storage emulator, started per test by internal/azuritetest. The daemon
// and the CLI get the secret the way operators give it: the account key
// in AZURE_STORAGE_KEY, or a SAS token in a file that erpipe.yaml names;
// nothing of the developer's own Azure setup reaches them. The secret
// must never show in logs, in `erpipe jobs --json` or in error reports.

const (
	azContainer = "erpipe-e2e"
	azPrefix    = "d365/customers"
	azPipeline  = "customers-az"
)

// azEnv returns the environment of an erpipe child process: no AZURE_*
// variable of this machine, and extra.
func azEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AZURE_") && !strings.HasPrefix(kv, "IDENTITY_ENDPOINT=") && !strings.HasPrefix(kv, "MSI_ENDPOINT=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// azWorkspace makes a workspace whose pipeline customers-az delivers to
// outbox/customers-az and to the container on srv, signed as credential
// says (with settings, e.g. "secret_file: ...").
func azWorkspace(t *testing.T, srv *azuritetest.Server, workers int, credential string, settings ...string) string {
	t.Helper()
	ws := t.TempDir()
	cfg := fmt.Sprintf(`settle: 300ms
rescan: 1s
workers: %d
pipelines:
  - name: %s
    template: customers-v3
    destinations:
      - folder: {}
      - azblob:
          account: %s
          container: %s
          prefix: %s
          endpoint: %s
          credential: %s
`, workers, azPipeline, azuritetest.Account, azContainer, azPrefix, strconv.Quote(srv.Endpoint), credential)
	for _, s := range settings {
		cfg += "          " + s + "\n"
	}
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(cfg))
	return ws
}

func startAzDaemon(t *testing.T, ws string, env []string) *daemon {
	t.Helper()
	return startDaemonEnv(t, ws, env, "the daemon to create the inbox and the journal", func(*daemon) bool {
		_, err1 := os.Stat(filepath.Join(ws, "inbox", azPipeline))
		_, err2 := os.Stat(filepath.Join(ws, ".erpipe", "journal.db"))
		return err1 == nil && err2 == nil
	})
}

// noAzSecret fails t when s shows one of secrets.
func noAzSecret(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			t.Errorf("%s shows a secret:\n%s", what, s)
		}
	}
}

func azContainerClient(t *testing.T, srv *azuritetest.Server) *container.Client {
	t.Helper()
	c, err := srv.Container(azContainer)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// azBlob reads a blob: its content and its metadata (names lowercased).
func azBlob(t *testing.T, srv *azuritetest.Server, name string) ([]byte, map[string]string) {
	t.Helper()
	resp, err := azContainerClient(t, srv).NewBlobClient(name).DownloadStream(t.Context(), nil)
	if err != nil {
		t.Fatalf("download %s: %v", name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	for k, v := range resp.Metadata {
		meta[strings.ToLower(k)] = *v
	}
	return data, meta
}

// azBlobs returns the blob names under prefix, sorted.
func azBlobs(t *testing.T, srv *azuritetest.Server, prefix string) []string {
	t.Helper()
	var names []string
	p := azContainerClient(t, srv).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for p.More() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	slices.Sort(names)
	return names
}

// checkAzDelivered checks that job delivered its one output to the folder
// outbox and to the container, the same bytes, with the job's metadata.
func checkAzDelivered(t *testing.T, ws string, srv *azuritetest.Server, j job, wantSum string) {
	t.Helper()
	if j.Status != "Processed" || len(j.Outputs) != 2 || len(j.Pending) != 0 {
		t.Errorf("%s: %s, %d outputs, pending %q; want Processed, 2 outputs (folder and azblob), none pending (errors %q)",
			j.Input, j.Status, len(j.Outputs), j.Pending, j.Errors)
		return
	}
	if j.InputSHA256 != wantSum {
		t.Errorf("%s: input_sha256 %s, want %s", j.Input, j.InputSHA256, wantSum)
	}
	name := strings.TrimSuffix(j.Input, filepath.Ext(j.Input)) + ".zip"
	blobName := azPrefix + "/" + name
	i := -1
	for k, o := range j.Outputs {
		if strings.HasPrefix(o.Destination, "azblob://") {
			i = k
		}
	}
	if i < 0 {
		t.Errorf("%s: outputs %+v; want one to azblob", j.Input, j.Outputs)
		return
	}
	o := j.Outputs[i]
	wantDest := "azblob://" + azuritetest.Account + "/" + azContainer + "/" + azPrefix
	wantLoc := srv.Endpoint + "/" + azContainer + "/" + azPrefix + "/" + url.PathEscape(name)
	if o.Destination != wantDest || o.Location != wantLoc {
		t.Errorf("%s: azblob output to %s at %s; want %s at %s", j.Input, o.Destination, o.Location, wantDest, wantLoc)
	}
	data, meta := azBlob(t, srv, blobName)
	local := readFile(t, filepath.Join(ws, "outbox", azPipeline, name))
	for k, v := range map[string]string{"sha256": o.SHA256, "job": j.ID, "input_sha256": wantSum} {
		if meta[k] != v {
			t.Errorf("%s: metadata %s = %q, want %q (all: %q)", blobName, k, meta[k], v, meta)
		}
	}
	if !strings.HasPrefix(meta["template"], "customers-v3 ") {
		t.Errorf("%s: metadata template = %q, want customers-v3 and its version", blobName, meta["template"])
	}
	if got := sha(data); got != o.SHA256 || int64(len(data)) != o.Size {
		t.Errorf("%s: blob has %d bytes with sha256 %s; the journal says %d bytes, %s", blobName, len(data), got, o.Size, o.SHA256)
	}
	if !bytes.Equal(data, local) {
		t.Errorf("%s: the blob differs from the folder copy outbox/%s/%s; one job delivered two different results",
			blobName, azPipeline, name)
	}
}

// TestAzBlobDestination drops the sample into a pipeline with a folder and
// an Azure Blob Storage destination signed with the account key, and
// checks both copies and the blob's metadata; erpipe check says what is
// missing when the key is not in the environment.
func TestAzBlobDestination(t *testing.T) {
	srv := azuritetest.New(t, azuritetest.Options{Containers: []string{azContainer}})
	ws := azWorkspace(t, srv, 2, "shared-key")
	env := azEnv("AZURE_STORAGE_KEY=" + azuritetest.Key)

	stdout, stderr, code := erpipeEnv(t, azEnv(), "check", "--workspace", ws)
	if code != 2 {
		t.Errorf("erpipe check without AZURE_STORAGE_KEY: exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	contains(t, "erpipe check's stderr", stderr, azPipeline, "AZURE_STORAGE_KEY is not set")
	stdout, stderr, code = erpipeEnv(t, env, "check", "--workspace", ws)
	if code != 0 {
		t.Errorf("erpipe check with AZURE_STORAGE_KEY: exit %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	noAzSecret(t, "erpipe check", stdout+stderr, azuritetest.Key)

	sample := readFile(t, sampleCSV)
	d := startAzDaemon(t, ws, env)
	drop(t, filepath.Join(ws, "inbox", azPipeline), "customers.csv", sample)
	byInput := waitS3Jobs(t, ws, 1, "to end", final)
	j := byInput["customers.csv"]
	checkAzDelivered(t, ws, srv, j, sha(sample))
	checkPackage(t, filepath.Join(ws, "outbox", azPipeline, "customers.zip"), 10)
	if got := azBlobs(t, srv, ""); strings.Join(got, ",") != azPrefix+"/customers.zip" {
		t.Errorf("the container holds %q, want only %s/customers.zip", got, azPrefix)
	}
	archived := files(t, filepath.Join(ws, "archive", azPipeline))
	if want := time.Now().Format("2006-01-02") + "/" + j.ID + "-customers.csv"; !slices.Contains(archived, want) {
		t.Errorf("archive/%s holds %q, want %s", azPipeline, archived, want)
	}
	d.stopWithin(t, 30*time.Second)
	_, raw := listJobsRaw(t, ws)
	noAzSecret(t, "erpipe jobs --json", raw, azuritetest.Key)
	noAzSecret(t, "the daemon's log", d.logs.String(), azuritetest.Key)
	for _, f := range files(t, ws) {
		if strings.Contains(f, ".error.") {
			noAzSecret(t, f, string(readFile(t, filepath.Join(ws, f))), azuritetest.Key)
		}
	}
}

// TestAzBlobOutage: while Azurite is down, jobs wait in Processing with
// their inputs claimed, across a daemon restart; once it is back, every
// result is delivered exactly once. The daemon signs with a SAS token from
// a file that erpipe.yaml names.
func TestAzBlobOutage(t *testing.T) {
	srv := azuritetest.New(t, azuritetest.Options{Containers: []string{azContainer}})
	q, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, StartTime: time.Now().Add(-time.Hour), ExpiryTime: time.Now().Add(3 * time.Hour),
		Permissions: (&sas.ContainerPermissions{Read: true, Create: true, Write: true}).String(), ContainerName: azContainer,
	}.SignWithSharedKey(azuritetest.SharedKey())
	if err != nil {
		t.Fatal(err)
	}
	token := q.Encode()
	secretFile := filepath.Join(t.TempDir(), "azure-sas")
	writeFile(t, secretFile, []byte(token+"\n"))
	ws := azWorkspace(t, srv, 3, "sas", "secret_file: "+strconv.Quote(secretFile))
	env := azEnv()
	secrets := []string{token, q.Signature(), url.QueryEscape(q.Signature())}

	d := startAzDaemon(t, ws, env)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(ws, "inbox", azPipeline)
	sample := readFile(t, sampleCSV)
	inputs := map[string][]byte{}
	for _, tag := range []string{"A", "B"} {
		name := strings.ToLower(tag) + ".csv"
		inputs[name] = variant(sample, tag)
		drop(t, in, name, inputs[name])
	}
	waiting := func(j job) bool { return j.Status == "Processing" && len(j.Pending) > 0 }
	checkWaiting := func(when string) {
		t.Helper()
		jobs, raw := listJobsRaw(t, ws)
		for _, j := range jobs {
			if !waiting(j) {
				t.Errorf("%s: %s: %s, pending %q; want Processing with pending destinations (errors %q)",
					when, j.Input, j.Status, j.Pending, j.Errors)
			}
			for _, p := range j.Pending {
				if !strings.Contains(p, "azblob://"+azuritetest.Account+"/"+azContainer) || !strings.Contains(p, "cannot reach") {
					t.Errorf("%s: %s: pending %q does not say that the Azure destination cannot be reached", when, j.Input, p)
				}
			}
		}
		noAzSecret(t, "erpipe jobs --json", raw, secrets...)
		if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 2 {
			t.Errorf("%s: .erpipe/claimed holds %q; want the 2 inputs", when, got)
		}
		if got := files(t, filepath.Join(ws, "errors")); len(got) != 0 {
			t.Errorf("%s: errors/ holds %q", when, got)
		}
	}
	waitS3Jobs(t, ws, 2, "waiting for Azure", waiting)
	checkWaiting("Azurite down")

	d.stopWithin(t, 45*time.Second)
	logs := d.logs.String()
	checkWaiting("after the stop")
	restarted := time.Now()
	d2 := startAzDaemon(t, ws, env)
	waitS3Jobs(t, ws, 2, "taken up again by the restarted daemon", func(j job) bool {
		return waiting(j) && !j.Started.Before(restarted)
	})

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	byInput := waitS3Jobs(t, ws, 2, "to end once Azurite is back", final)
	for name, data := range inputs {
		j, ok := byInput[name]
		if !ok {
			t.Errorf("%s: no job", name)
			continue
		}
		checkAzDelivered(t, ws, srv, j, sha(data))
	}
	if got := azBlobs(t, srv, azPrefix+"/"); strings.Join(got, ",") != azPrefix+"/a.zip,"+azPrefix+"/b.zip" {
		t.Errorf("the container holds %q under %s/; want exactly a.zip and b.zip", got, azPrefix)
	}
	if got := files(t, filepath.Join(ws, "outbox", azPipeline)); strings.Join(got, ",") != "a.zip,b.zip" {
		t.Errorf("outbox/%s holds %q; want exactly a.zip and b.zip (nothing twice)", azPipeline, got)
	}
	if got := files(t, filepath.Join(ws, ".erpipe", "claimed")); len(got) != 0 {
		t.Errorf("claimed files left behind: %q", got)
	}
	d2.stopWithin(t, 30*time.Second)
	_, raw := listJobsRaw(t, ws)
	noAzSecret(t, "erpipe jobs --json", raw, secrets...)
	noAzSecret(t, "the first daemon's log", logs, secrets...)
	noAzSecret(t, "the second daemon's log", d2.logs.String(), secrets...)
}
