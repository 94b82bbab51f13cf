package emulator_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"

	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/formats/dmf"
)

const actions = "/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities."

// start runs an emulator on a free loopback port for the test.
func start(t *testing.T, opts emulator.Options) *emulator.Server {
	t.Helper()
	s := emulator.New(opts)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// answer is an HTTP answer read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

// keys are the names of a JSON object's members, sorted.
func keys(m map[string]any) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

func do(t *testing.T, s *emulator.Server, method, u string, header http.Header, body []byte) answer {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = s.URL() + u
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// token gets a token with the client credentials grant.
func token(t *testing.T, s *emulator.Server) string {
	t.Helper()
	a := tokenRequest(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()},
		"client_secret": {s.ClientSecret()}, "scope": {s.URL() + "/.default"}})
	if a.status != http.StatusOK {
		t.Fatalf("token: %d %s", a.status, a.body)
	}
	return a.json(t)["access_token"].(string)
}

func tokenRequest(t *testing.T, s *emulator.Server, form url.Values) answer {
	t.Helper()
	return do(t, s, http.MethodPost, "/"+s.Tenant()+"/oauth2/v2.0/token",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(form.Encode()))
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}, "Accept": {"application/json"}}
}

// call calls an action and returns the answer.
func call(t *testing.T, s *emulator.Server, tok, action string, body any) answer {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, s, http.MethodPost, actions+action, bearer(tok), b)
}

// value calls an action that must succeed and returns its value.
func value(t *testing.T, s *emulator.Server, tok, action string, body any) any {
	t.Helper()
	a := call(t, s, tok, action, body)
	if a.status != http.StatusOK {
		t.Fatalf("%s: %d %s", action, a.status, a.body)
	}
	m := a.json(t)
	if got := keys(m); !slices.Equal(got, []string{"@odata.context", "value"}) {
		t.Fatalf("%s answered members %v, want @odata.context and value", action, got)
	}
	if ctx, _ := m["@odata.context"].(string); !strings.HasPrefix(ctx, s.URL()+"/data/$metadata#") {
		t.Errorf("%s: @odata.context %q", action, ctx)
	}
	return m["value"]
}

// upload asks for a write URL and puts pkg there; it returns the URL.
func upload(t *testing.T, s *emulator.Server, tok string, pkg []byte) string {
	t.Helper()
	v, ok := value(t, s, tok, "GetAzureWriteUrl", map[string]string{"uniqueFileName": "pkg-" + time.Now().Format("150405.000000")}).(string)
	if !ok {
		t.Fatal("GetAzureWriteUrl's value is not a JSON string")
	}
	var w struct{ BlobId, BlobUrl string }
	if err := json.Unmarshal([]byte(v), &w); err != nil || w.BlobUrl == "" {
		t.Fatalf("GetAzureWriteUrl's value %q does not hold BlobId and BlobUrl: %v", v, err)
	}
	a := do(t, s, http.MethodPut, w.BlobUrl, http.Header{"x-ms-blob-type": {"BlockBlob"}}, pkg)
	if a.status != http.StatusCreated {
		t.Fatalf("PUT blob: %d %s", a.status, a.body)
	}
	return w.BlobUrl
}

// importPackage uploads pkg and imports it into group.
func importPackage(t *testing.T, s *emulator.Server, tok, group string, pkg []byte) string {
	t.Helper()
	u := upload(t, s, tok, pkg)
	id, _ := value(t, s, tok, "ImportFromPackage", map[string]any{"packageUrl": u, "definitionGroupId": group,
		"executionId": "", "execute": true, "overwrite": true, "legalEntityId": "USMF"}).(string)
	if id == "" {
		t.Fatal("ImportFromPackage gave no execution ID")
	}
	return id
}

// waitStatus polls GetExecutionSummaryStatus until the execution ends and
// returns every status seen, in order, without repeats.
func waitStatus(t *testing.T, s *emulator.Server, tok, id string) []string {
	t.Helper()
	var seen []string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, _ := value(t, s, tok, "GetExecutionSummaryStatus", map[string]string{"executionId": id}).(string)
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if st != emulator.StatusNotRun && st != emulator.StatusExecuting {
			return seen
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("execution %s did not end: %v", id, seen)
	return nil
}

// customers is a package of one CSV-Unicode entity made by erpipe's writer.
func customers(t *testing.T, rows ...[]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := dmf.NewWriter(&buf, dmf.Options{DefinitionGroup: "Customer import"}, []dmf.Entity{{
		Name: "Customers V3", Target: "CustCustomerV3Entity", Columns: []string{"CUSTOMERACCOUNT", "ORGANIZATIONNAME", "CUSTOMERGROUPID"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(0, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// without returns pkg's zip without the entry named name.
func without(t *testing.T, pkg []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name == name {
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// replaceEntry returns pkg's zip with the entry named name holding data.
func replaceEntry(t *testing.T, pkg []byte, name string, data []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name != name {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// utf16 encodes s as UTF-16 LE with a byte order mark, as CSV-Unicode.
func utf16(s string) []byte {
	b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}
