package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/erpipe/erpipe/d365/emulator"
)

var fast = emulator.Options{QueueTime: 100 * time.Millisecond, ExecuteTime: 200 * time.Millisecond, KeysFileTime: 100 * time.Millisecond}

// TestGetAzureWriteUrl checks the shape section 4 gives: value is a JSON
// string holding {"BlobId":"{GUID}","BlobUrl":"…?sv=…&sr=b&…&sp=rw"}.
func TestGetAzureWriteUrl(t *testing.T) {
	s := start(t, fast)
	tok := token(t, s)
	a := call(t, s, tok, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "customers-0001"})
	// {"@odata.context":"…$metadata#Edm.String","value":"{\"BlobId\":…}"}
	if !regexp.MustCompile(`^\{"@odata.context":"https://127\.0\.0\.1:\d+/data/\$metadata#Edm\.String","value":"\{\\"BlobId\\":\\"\{[0-9A-F-]{36}\}\\",\\"BlobUrl\\":\\"https://[^"]+/customers-0001\?[^"]*sp=rw[^"]*\\"\}"\}\s*$`).Match(a.body) {
		t.Errorf("GetAzureWriteUrl answered\n%s", a.body)
	}
	var v struct{ BlobUrl string }
	json.Unmarshal([]byte(a.json(t)["value"].(string)), &v)
	for _, p := range []string{"sv=2014-02-14", "sr=b", "sig=", "se="} {
		if !strings.Contains(v.BlobUrl, p) {
			t.Errorf("BlobUrl %s lacks %s", v.BlobUrl, p)
		}
	}

	// PUT needs x-ms-blob-type: BlockBlob.
	a = do(t, s, http.MethodPut, v.BlobUrl, nil, []byte("zip"))
	if a.status != http.StatusBadRequest || a.header.Get("x-ms-error-code") != "MissingRequiredHeader" || !bytes.Contains(a.body, []byte("<HeaderName>x-ms-blob-type</HeaderName>")) {
		t.Errorf("PUT without x-ms-blob-type: %d %s %s", a.status, a.header.Get("x-ms-error-code"), a.body)
	}
	a = do(t, s, http.MethodPut, v.BlobUrl, http.Header{"x-ms-blob-type": {"BlockBlob"}}, []byte("zip"))
	if a.status != http.StatusCreated || a.header.Get("ETag") == "" || a.header.Get("Content-MD5") == "" {
		t.Errorf("PUT: %d %v", a.status, a.header)
	}
	if a := do(t, s, http.MethodGet, v.BlobUrl, nil, nil); a.status != http.StatusOK || string(a.body) != "zip" {
		t.Errorf("GET: %d %q", a.status, a.body)
	}
	forged := strings.Replace(v.BlobUrl, "sp=rw", "sp=rwd", 1)
	if a := do(t, s, http.MethodGet, forged, nil, nil); a.status != http.StatusForbidden || a.header.Get("x-ms-error-code") != "AuthenticationFailed" {
		t.Errorf("GET with an altered signature: %d %s", a.status, a.header.Get("x-ms-error-code"))
	}
}

func TestBlobSASExpires(t *testing.T) {
	opts := fast
	opts.SASLifetime = time.Second
	s := start(t, opts)
	tok := token(t, s)
	v, _ := value(t, s, tok, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "late"}).(string)
	var w struct{ BlobUrl string }
	json.Unmarshal([]byte(v), &w)
	// se has whole seconds: wait until it has surely passed.
	time.Sleep(2100 * time.Millisecond)
	a := do(t, s, http.MethodPut, w.BlobUrl, http.Header{"x-ms-blob-type": {"BlockBlob"}}, []byte("zip"))
	if a.status != http.StatusForbidden || a.header.Get("x-ms-error-code") != "AuthenticationFailed" ||
		!bytes.Contains(a.body, []byte("<Code>AuthenticationFailed</Code>")) || !bytes.Contains(a.body, []byte("Signed expiry time")) {
		t.Errorf("PUT after the SAS expired: %d %s\n%s", a.status, a.header.Get("x-ms-error-code"), a.body)
	}
}

func TestImportStateMachine(t *testing.T) {
	s := start(t, fast)
	tok := token(t, s)
	tests := []struct {
		name    string
		rows    [][]string
		want    string
		staging int // rows that fail staging
		target  int // rows that fail the target
	}{
		{"good", [][]string{{"US-001", "Contoso", "10"}, {"US-002", "Fabrikam", "10"}}, emulator.StatusSucceeded, 0, 0},
		{"staging errors", [][]string{{"US-001", "Contoso", "10"}, {"FAIL-1", "Bad", "10"}, {"TARGETFAIL-2", "Worse", "10"}}, emulator.StatusPartiallySucceeded, 1, 1},
		{"every row fails", [][]string{{"FAIL-1", "Bad", "10"}}, emulator.StatusFailed, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkg := customers(t, tt.rows...)
			id := importPackage(t, s, tok, "Import "+tt.name, pkg)
			seen := waitStatus(t, s, tok, id)
			if !slices.Equal(seen, []string{emulator.StatusNotRun, emulator.StatusExecuting, tt.want}) {
				t.Errorf("statuses %v, want NotRun, Executing, %s", seen, tt.want)
			}
			im, ok := s.Execution(id)
			if !ok || !bytes.Equal(im.Package, pkg) || im.LegalEntity != "USMF" || im.DefinitionGroup != "Import "+tt.name {
				t.Fatalf("Execution(%s) = %+v, %v", id, im, ok)
			}
			en := im.Entities[0]
			if en.StagingRecords != len(tt.rows) || en.StagingErrorCount != tt.staging || en.TargetErrorCount != tt.target || en.TargetRecords != len(tt.rows)-tt.staging-tt.target {
				t.Errorf("counts %+v", en)
			}

			// GetExecutionErrors: a JSON string holding the list.
			v, ok := value(t, s, tok, "GetExecutionErrors", map[string]string{"executionId": id}).(string)
			var list []struct{ ErrorMessage string }
			if !ok || json.Unmarshal([]byte(v), &list) != nil || len(list) != tt.staging+tt.target {
				t.Errorf("GetExecutionErrors value %q, want a string holding %d errors", v, tt.staging+tt.target)
			}

			// The per-entity list.
			l, _ := value(t, s, tok, "GetEntityExecutionSummaryStatusList", map[string]string{"executionId": id}).([]any)
			if len(l) != 1 {
				t.Fatalf("GetEntityExecutionSummaryStatusList: %v", l)
			}
			row := l[0].(map[string]any)
			if row["EntityName"] != "Customers V3" || row["StagingRecords"] != float64(len(tt.rows)) || row["StagingErrorCount"] != float64(tt.staging) {
				t.Errorf("entity status %v", row)
			}

			// The staging error file holds the failed rows and their errors.
			u, _ := value(t, s, tok, "GetImportStagingErrorFileUrl", map[string]string{"executionId": id, "entityName": "Customers V3"}).(string)
			if (u != "") != (tt.staging > 0) {
				t.Fatalf("GetImportStagingErrorFileUrl = %q with %d staging errors", u, tt.staging)
			}
			if u != "" {
				a := do(t, s, http.MethodGet, u, nil, nil)
				if a.status != http.StatusOK || !strings.HasPrefix(string(a.body), "CUSTOMERACCOUNT,ORGANIZATIONNAME,CUSTOMERGROUPID,ErrorMessage\r\nFAIL-1,Bad,10,") {
					t.Errorf("staging error file: %d %q", a.status, a.body)
				}
			}

			// Target error keys: generate, then poll for the URL.
			exists, _ := value(t, s, tok, "GenerateImportTargetErrorKeysFile", map[string]string{"executionId": id, "entityName": "CustCustomerV3Entity"}).(bool)
			if exists != (tt.target > 0) {
				t.Fatalf("GenerateImportTargetErrorKeysFile = %v with %d target errors", exists, tt.target)
			}
			if exists {
				if u, _ := value(t, s, tok, "GetImportTargetErrorKeysFileUrl", map[string]string{"executionId": id, "entityName": "Customers V3"}).(string); u != "" {
					t.Errorf("the keys file is ready at once: %s", u)
				}
				time.Sleep(150 * time.Millisecond)
				u, _ := value(t, s, tok, "GetImportTargetErrorKeysFileUrl", map[string]string{"executionId": id, "entityName": "Customers V3"}).(string)
				a := do(t, s, http.MethodGet, u, nil, nil)
				if !strings.HasPrefix(string(a.body), "CUSTOMERACCOUNT,ErrorMessage\r\nTARGETFAIL-2,") {
					t.Errorf("target error keys file %q: %q", u, a.body)
				}
			}
		})
	}
	if n := len(s.Imports()); n != len(tests) {
		t.Errorf("Imports() has %d, want %d", n, len(tests))
	}
}

func TestImportRefusesBrokenPackages(t *testing.T) {
	s := start(t, fast)
	tok := token(t, s)
	pkg := customers(t, []string{"US-001", "Contoso", "10"})
	tests := []struct {
		name string
		pkg  []byte
		want string
	}{
		{"no PackageHeader.xml", without(t, pkg, "PackageHeader.xml"), `Could not find file 'C:\Windows\TEMP\`},
		{"no Manifest.xml", without(t, pkg, "Manifest.xml"), `\Manifest.xml'`},
		{"a bare CSV file", []byte("CUSTOMERACCOUNT\r\nUS-001\r\n"), "End of Central Directory record could not be found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := importPackage(t, s, tok, tt.name, tt.pkg)
			if seen := waitStatus(t, s, tok, id); seen[len(seen)-1] != emulator.StatusFailed {
				t.Fatalf("statuses %v, want Failed", seen)
			}
			v, _ := value(t, s, tok, "GetExecutionErrors", map[string]string{"executionId": id}).(string)
			if !strings.Contains(v, strings.ReplaceAll(tt.want, `\`, `\\`)) {
				t.Errorf("errors %s, want %q", v, tt.want)
			}
		})
	}
	// The checker's problems fail the entity with D365's code.
	bad := customers(t, []string{"US-001", "Contoso", "10"})
	bad = replaceEntry(t, bad, "Customers V3.csv", utf16("CUSTOMERACCOUNT,ORGANIZATIONNAME\r\nUS-001,Contoso\r\n"))
	id := importPackage(t, s, tok, "checker", bad)
	waitStatus(t, s, tok, id)
	if v, _ := value(t, s, tok, "GetExecutionErrors", map[string]string{"executionId": id}).(string); !strings.Contains(v, "DMF2025") {
		t.Errorf("a mapped column missing from the file: %s, want DMF2025", v)
	}
	// A package URL with nothing uploaded is refused at once.
	u := strings.Replace(upload(t, s, tok, pkg), "pkg-", "none-", 1)
	a := call(t, s, tok, "ImportFromPackage", map[string]any{"packageUrl": u, "definitionGroupId": "g", "executionId": "", "execute": true, "overwrite": true, "legalEntityId": "USMF"})
	if a.status != http.StatusBadRequest || !bytes.Contains(a.body, []byte("(404) Not Found")) {
		t.Errorf("ImportFromPackage of a URL with no blob: %d %s", a.status, a.body)
	}
}

func TestExecutionIDsAndDMF2025(t *testing.T) {
	opts := fast
	opts.ExecuteTime = 600 * time.Millisecond
	s := start(t, opts)
	tok := token(t, s)
	pkg := customers(t, []string{"US-001", "Contoso", "10"})
	u := upload(t, s, tok, pkg)
	imp := func(group, id string) answer {
		return call(t, s, tok, "ImportFromPackage", map[string]any{"packageUrl": u, "definitionGroupId": group, "executionId": id, "execute": true, "overwrite": false, "legalEntityId": "USMF"})
	}
	a := imp("Customers", "run-1")
	if a.status != http.StatusOK || a.json(t)["value"] != "run-1" {
		t.Fatalf("first import: %d %s", a.status, a.body)
	}
	// Another import of the same project while it runs: DMF2025.
	if a := imp("customers", ""); a.status != http.StatusBadRequest || !bytes.Contains(a.body, []byte("DMF2025")) {
		t.Errorf("concurrent import of one project: %d %s", a.status, a.body)
	}
	// Another project is fine, and a generated ID looks like RIS's.
	a = imp("Vendors", "")
	if id, _ := a.json(t)["value"].(string); !regexp.MustCompile(`^Vendors-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-[0-9A-F-]{36}$`).MatchString(id) {
		t.Errorf("generated execution ID %q", id)
	}
	// A repeated execution ID is refused, even once the first has ended.
	waitStatus(t, s, tok, "run-1")
	if a := imp("Other", "run-1"); a.status != http.StatusBadRequest || !bytes.Contains(a.body, []byte("already exists")) {
		t.Errorf("a repeated execution ID: %d %s", a.status, a.body)
	}
	if a := imp("Customers", "run-2"); a.status != http.StatusOK {
		t.Errorf("the project once its import ended: %d %s", a.status, a.body)
	}

	// Concurrent calls: exactly one wins the project.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 5 {
		wg.Go(func() {
			a := imp("Parallel", "")
			mu.Lock()
			codes[a.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 1 || codes[400] != 4 {
		t.Errorf("5 concurrent imports of one project: %v, want one 200 and four 400", codes)
	}
}

func TestNotFound(t *testing.T) {
	opts := fast
	opts.NotFoundFor = 300 * time.Millisecond
	s := start(t, opts)
	tok := token(t, s)
	for _, action := range []string{"GetExecutionSummaryStatus", "GetExecutionErrors", "GetEntityExecutionSummaryStatusList", "GetExportedPackageUrl"} {
		a := call(t, s, tok, action, map[string]string{"executionId": "nobody"})
		m := a.json(t)["error"].(map[string]any)
		if a.status != http.StatusBadRequest || !strings.Contains(m["message"].(string), "were not found") || m["innererror"] == nil {
			t.Errorf("%s of an unknown execution: %d %s", action, a.status, a.body)
		}
	}
	id := importPackage(t, s, tok, "fresh", customers(t, []string{"US-001", "Contoso", "10"}))
	if a := call(t, s, tok, "GetExecutionSummaryStatus", map[string]string{"executionId": id}); a.status != http.StatusBadRequest {
		t.Errorf("a fresh execution: %d %s, want 400 not found", a.status, a.body)
	}
	time.Sleep(350 * time.Millisecond)
	if st := waitStatus(t, s, tok, id); st[len(st)-1] != emulator.StatusSucceeded {
		t.Errorf("statuses %v", st)
	}
}

func TestExportToPackage(t *testing.T) {
	opts := fast
	pkg := customers(t, []string{"US-001", "Contoso", "10"}, []string{"US-002", "Fabrikam", "20"})
	opts.ExportPackages = map[string][]byte{"Customer export": pkg}
	s := start(t, opts)
	tok := token(t, s)
	a := call(t, s, tok, "ExportToPackage", map[string]any{"definitionGroupId": "Nothing", "packageName": "p", "executionId": "", "reExecute": false, "legalEntityId": "USMF"})
	if a.status != http.StatusBadRequest {
		t.Errorf("an unknown export project: %d %s", a.status, a.body)
	}
	id, _ := value(t, s, tok, "ExportToPackage", map[string]any{"definitionGroupId": "Customer export", "packageName": "customers", "executionId": "", "reExecute": false, "legalEntityId": "USMF"}).(string)
	if u, _ := value(t, s, tok, "GetExportedPackageUrl", map[string]string{"executionId": id}).(string); u != "" {
		t.Errorf("a package URL before the export ran: %q", u)
	}
	if st := waitStatus(t, s, tok, id); st[len(st)-1] != emulator.StatusSucceeded {
		t.Fatalf("statuses %v", st)
	}
	u, _ := value(t, s, tok, "GetExportedPackageUrl", map[string]string{"executionId": id}).(string)
	if got := do(t, s, http.MethodGet, u, nil, nil); got.status != http.StatusOK || !bytes.Equal(got.body, pkg) {
		t.Errorf("exported package from %s: %d, %d bytes", u, got.status, len(got.body))
	}
	l, _ := value(t, s, tok, "GetEntityExecutionSummaryStatusList", map[string]string{"executionId": id}).([]any)
	if len(l) != 1 || l[0].(map[string]any)["TargetRecords"] != 2.0 {
		t.Errorf("export entity list %v", l)
	}
}

// TestAzureSDKUploads puts packages through the blob URL with Azure's own
// SDK: one Put Blob, and blocks then a block list.
func TestAzureSDKUploads(t *testing.T) {
	s := start(t, fast)
	tok := token(t, s)
	v, _ := value(t, s, tok, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "sdk"}).(string)
	var w struct{ BlobUrl string }
	json.Unmarshal([]byte(v), &w)
	bc, err := blockblob.NewClientWithNoCredential(w.BlobUrl, &blockblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: s.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	pkg := customers(t, []string{"US-001", "Contoso", "10"})
	if _, err := bc.UploadBuffer(ctx, pkg, nil); err != nil {
		t.Fatal(err)
	}
	id, _ := value(t, s, tok, "ImportFromPackage", map[string]any{"packageUrl": w.BlobUrl, "definitionGroupId": "sdk", "executionId": "", "execute": true, "overwrite": true, "legalEntityId": "USMF"}).(string)
	if im, _ := s.Execution(id); !bytes.Equal(im.Package, pkg) {
		t.Errorf("the emulator imported %d bytes, the SDK uploaded %d", len(im.Package), len(pkg))
	}

	// Above a block (1 MiB at least), the SDK stages blocks and commits a
	// block list.
	big := make([]byte, 5<<19)
	for i := range big {
		big[i] = byte(i * 7919 >> 8)
	}
	before := len(s.Requests())
	if _, err := bc.UploadStream(ctx, bytes.NewReader(big), &blockblob.UploadStreamOptions{BlockSize: 1 << 20, Concurrency: 2}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()) - before; n != 4 {
		t.Errorf("%d requests for 2.5 MiB in 1 MiB blocks, want 3 Put Block and a Put Block List", n)
	}
	if a := do(t, s, http.MethodGet, w.BlobUrl, nil, nil); !bytes.Equal(a.body, big) {
		t.Errorf("the blob holds %d bytes, not the %d uploaded", len(a.body), len(big))
	}
}
