package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

const actionPrefix = "Microsoft.Dynamics.DataEntities."

// params are an action's JSON body.
type params map[string]json.RawMessage

func (p params) str(name string) string {
	var s string
	_ = json.Unmarshal(p[name], &s)
	return s
}

func (p params) boolean(name string) bool {
	var b bool
	_ = json.Unmarshal(p[name], &b)
	return b
}

// action serves POST /data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.<Action>.
func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.PathValue("action"), actionPrefix)
	if !ok {
		odataError(w, http.StatusNotFound, fmt.Sprintf("No HTTP resource was found that matches the request URI '%s'. Actions are called as %s<Action>.", r.URL.Path, actionPrefix))
		return
	}
	p := params{}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &p)
	}
	if err != nil {
		odataError(w, http.StatusBadRequest, "The request body is not a JSON object of the action's parameters: "+err.Error())
		return
	}
	required := func(names ...string) bool {
		for _, n := range names {
			if _, ok := p[n]; !ok {
				odataError(w, http.StatusBadRequest, fmt.Sprintf("The parameter '%s' of action '%s' is missing; it is required.", n, name))
				return false
			}
		}
		return true
	}
	switch name {
	case "GetAzureWriteUrl":
		if required("uniqueFileName") {
			s.getAzureWriteURL(w, r, p)
		}
	case "ImportFromPackage", "ImportFromPackageAsync":
		if required("packageUrl", "definitionGroupId", "executionId", "execute", "overwrite", "legalEntityId") {
			s.importFromPackage(w, r, p)
		}
	case "ExportToPackage", "ExportToPackageAsync":
		if required("definitionGroupId", "packageName", "executionId", "reExecute", "legalEntityId") {
			s.exportToPackage(w, r, p)
		}
	case "GetExportedPackageUrl":
		if required("executionId") {
			s.getExportedPackageURL(w, r, p)
		}
	case "GetExecutionSummaryStatus":
		if required("executionId") {
			var st string
			if s.withExecution(w, p.str("executionId"), func(e *execution, status string) { st = status }) {
				odataValue(w, r, actionPrefix+"DMFExecutionSummaryStatus", st)
			}
		}
	case "GetEntityExecutionSummaryStatusList":
		if required("executionId") {
			var list []map[string]any
			if s.withExecution(w, p.str("executionId"), func(e *execution, status string) { list = entityStatusList(e, status) }) {
				odataValue(w, r, "Collection("+actionPrefix+"DMFEntityExecutionSummaryStatus)", list)
			}
		}
	case "GetExecutionErrors":
		if required("executionId") {
			s.getExecutionErrors(w, r, p)
		}
	case "GetImportStagingErrorFileUrl":
		if required("executionId", "entityName") {
			s.errorFileURL(w, r, p, false, false)
		}
	case "GenerateImportTargetErrorKeysFile":
		if required("executionId", "entityName") {
			s.errorFileURL(w, r, p, true, true)
		}
	case "GetImportTargetErrorKeysFileUrl":
		if required("executionId", "entityName") {
			s.errorFileURL(w, r, p, true, false)
		}
	case "GetMessageStatus":
		if required("messageId") {
			s.getMessageStatus(w, r, p.str("messageId"))
		}
	case "GetExecutionIdByMessageId":
		id := p.str("_messageId")
		if id == "" {
			id = p.str("messageId")
		}
		s.mu.Lock()
		m, ok := s.messages[normActivity(id)]
		exec := ""
		if ok && m.exec != nil {
			exec = m.exec.id
		}
		s.mu.Unlock()
		if !ok {
			odataError(w, http.StatusBadRequest, fmt.Sprintf("Message '%s' was not found.", id))
			return
		}
		odataValue(w, r, "Edm.String", exec)
	default:
		odataError(w, http.StatusNotFound, fmt.Sprintf("The action '%s' is not known to the emulator (see docs/d365.md for those it serves).", name))
	}
}

func (s *Server) getAzureWriteURL(w http.ResponseWriter, r *http.Request, p params) {
	name := safeName(p.str("uniqueFileName"))
	if name == "" {
		name = strings.ToLower(newGUID())
	}
	u, err := s.store.SignedURL(r.Context(), name, "rw", time.Now().Add(s.opts.SASLifetime))
	if err != nil {
		odataError(w, http.StatusInternalServerError, "The blob storage did not give a URL: "+err.Error())
		return
	}
	// The value is a JSON string that holds a JSON object.
	inner, _ := json.Marshal(struct {
		BlobID  string `json:"BlobId"`
		BlobURL string `json:"BlobUrl"`
	}{"{" + newGUID() + "}", u})
	odataValue(w, r, "Edm.String", string(inner))
}

// checkLegalEntity answers 400 for a company not configured.
func (s *Server) checkLegalEntity(w http.ResponseWriter, le string) bool {
	if len(s.opts.LegalEntities) == 0 || slices.ContainsFunc(s.opts.LegalEntities, func(c string) bool { return strings.EqualFold(c, le) }) {
		return true
	}
	odataError(w, http.StatusBadRequest, fmt.Sprintf("Legal entity '%s' does not exist; the environment has %s.", le, strings.Join(s.opts.LegalEntities, ", ")))
	return false
}

// newExecution registers an execution unless its ID is taken or its
// definition group busy (DMF2025); it answers the error itself.
func (s *Server) newExecution(w http.ResponseWriter, e *execution) bool {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.id == "" {
		e.id = fmt.Sprintf("%s-%s-%s", e.group, now.UTC().Format("2006-01-02_15-04-05"), newGUID())
	}
	if _, dup := s.byID[strings.ToLower(e.id)]; dup {
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Execution ID '%s' already exists. Each execution needs a new execution ID; leave it empty to have one made.", e.id))
		return false
	}
	if (e.execute || e.export) && e.messageID == "" {
		for _, o := range s.executions {
			if strings.EqualFold(o.group, e.group) && o.messageID == "" && s.running(o, now) {
				odataError(w, http.StatusBadRequest, fmt.Sprintf("DMF2025: Data project '%s' is already being executed (execution '%s'). Concurrent executions of one data project are not allowed unless enhanced parallel package import is on; wait until it ends.", e.group, o.id))
				return false
			}
		}
	}
	e.created = now
	s.executions = append(s.executions, e)
	s.byID[strings.ToLower(e.id)] = e
	return true
}

func (s *Server) importFromPackage(w http.ResponseWriter, r *http.Request, p params) {
	e := &execution{id: p.str("executionId"), group: p.str("definitionGroupId"), legalEntity: p.str("legalEntityId"),
		packageURL: p.str("packageUrl"), execute: p.boolean("execute"), overwrite: p.boolean("overwrite")}
	if e.group == "" {
		odataError(w, http.StatusBadRequest, "The definitionGroupId is empty; give the data project's name.")
		return
	}
	if !s.checkLegalEntity(w, e.legalEntity) {
		return
	}
	pkg, err := s.store.Fetch(r.Context(), e.packageURL)
	if err != nil {
		msg := fmt.Sprintf("The package could not be downloaded from '%s': %v.", e.packageURL, err)
		if errors.Is(err, ErrBlobNotFound) {
			msg = "The remote server returned an error: (404) Not Found. Upload the package to the URL GetAzureWriteUrl gave before ImportFromPackage."
		}
		odataError(w, http.StatusBadRequest, msg)
		return
	}
	e.pkg = pkg
	if !s.newExecution(w, e) {
		return
	}
	s.run(e, "")
	odataValue(w, r, "Edm.String", e.id)
}

func (s *Server) exportToPackage(w http.ResponseWriter, r *http.Request, p params) {
	group := p.str("definitionGroupId")
	s.mu.Lock()
	pkg, ok := s.exports[strings.ToLower(group)]
	s.mu.Unlock()
	if !ok {
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Data project '%s' was not found among the export projects; create it in Data management first.", group))
		return
	}
	if !s.checkLegalEntity(w, p.str("legalEntityId")) {
		return
	}
	e := &execution{id: p.str("executionId"), group: group, legalEntity: p.str("legalEntityId"), export: true, pkg: pkg}
	if !s.newExecution(w, e) {
		return
	}
	name := p.str("packageName")
	if name == "" {
		name = e.id
	}
	if !strings.HasSuffix(strings.ToLower(name), ".zip") {
		name += ".zip"
	}
	s.mu.Lock()
	e.packageBlb = safeName(name)
	s.mu.Unlock()
	s.run(e, "")
	odataValue(w, r, "Edm.String", e.id)
}

// withExecution finds an execution (by execution ID, or by the ID of the
// recurring message it runs) and its status, and calls f with s.mu held
// (f must not write the answer);
// for an unknown one (or one too fresh) it answers 400 "not found" and
// reports false.
func (s *Server) withExecution(w http.ResponseWriter, id string, f func(e *execution, status string)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[strings.ToLower(id)]
	if !ok {
		if m, found := s.messages[normActivity(id)]; found && m.exec != nil {
			e, ok = m.exec, true
		}
	}
	var status string
	if ok {
		status, ok = s.statusAt(e, time.Now())
	}
	if !ok {
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Execution summary records for execution ID '%s' were not found.", id))
		return false
	}
	f(e, status)
	return true
}

// entityStatusList is GetEntityExecutionSummaryStatusList's value.
func entityStatusList(e *execution, status string) []map[string]any {
	list := []map[string]any{}
	for _, en := range e.entities {
		st, tg := en.StagingStatus, en.TargetStatus
		switch status {
		case StatusNotRun:
			st, tg = entityNotRun, entityNotRun
		case StatusExecuting:
			st, tg = entityExecuting, entityNotRun
		}
		list = append(list, map[string]any{
			"EntityName": en.Name, "TargetEntity": en.Target, "ExecutionStatus": entityStatus(en, status),
			"StagingStatus": st, "StagingRecords": en.StagingRecords, "StagingErrorCount": en.StagingErrorCount,
			"TargetStatus": tg, "TargetRecords": en.TargetRecords, "TargetErrorCount": en.TargetErrorCount,
		})
	}
	return list
}

func entityStatus(en *entityRun, status string) string {
	switch {
	case status == StatusNotRun || status == StatusExecuting:
		return status
	case en.StagingStatus == entityError && en.TargetRecords == 0:
		return StatusFailed
	case en.StagingStatus == entityError || en.TargetStatus == entityError:
		return StatusPartiallySucceeded
	}
	return StatusSucceeded
}

func (s *Server) getExecutionErrors(w http.ResponseWriter, r *http.Request, p params) {
	type errorMessage struct {
		ErrorMessage string `json:"ErrorMessage"`
	}
	list := []errorMessage{}
	if !s.withExecution(w, p.str("executionId"), func(e *execution, status string) {
		if status != StatusNotRun && status != StatusExecuting {
			for _, m := range e.errs {
				list = append(list, errorMessage{m})
			}
		}
	}) {
		return
	}
	// The value is a JSON string that holds the list.
	b, _ := json.Marshal(list)
	odataValue(w, r, "Edm.String", string(b))
}

func (s *Server) getExportedPackageURL(w http.ResponseWriter, r *http.Request, p params) {
	var blob string
	isExport := true
	if !s.withExecution(w, p.str("executionId"), func(e *execution, status string) {
		isExport = e.export
		if status == StatusSucceeded || status == StatusPartiallySucceeded {
			blob = e.packageBlb
		}
	}) {
		return
	}
	if !isExport {
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Execution '%s' is an import; it has no exported package.", p.str("executionId")))
		return
	}
	s.answerURL(w, r, blob)
}

// answerURL answers a read URL of blob, or "" when blob is "" (not
// ready: RIS loops while the value is empty).
func (s *Server) answerURL(w http.ResponseWriter, r *http.Request, blob string) {
	u := ""
	if blob != "" {
		var err error
		if u, err = s.store.SignedURL(r.Context(), blob, "r", time.Now().Add(s.opts.SASLifetime)); err != nil {
			odataError(w, http.StatusInternalServerError, "The blob storage did not give a URL: "+err.Error())
			return
		}
	}
	odataValue(w, r, "Edm.String", u)
}

// errorFileURL serves GetImportStagingErrorFileUrl, and with target
// GenerateImportTargetErrorKeysFile (generate) and
// GetImportTargetErrorKeysFileUrl.
func (s *Server) errorFileURL(w http.ResponseWriter, r *http.Request, p params, target, generate bool) {
	entity := p.str("entityName")
	var blob string
	var exists, unknown bool
	if !s.withExecution(w, p.str("executionId"), func(e *execution, status string) {
		var en *entityRun
		for _, x := range e.entities {
			if strings.EqualFold(x.Name, entity) || strings.EqualFold(x.Target, entity) {
				en = x
			}
		}
		if en == nil {
			unknown = e.done
			return
		}
		switch {
		case !target:
			blob = en.stagingBlob
		case generate:
			exists = en.targetBlob != ""
			if exists && en.keysAskedAt.IsZero() {
				en.keysAskedAt = time.Now()
			}
		case !en.keysAskedAt.IsZero() && time.Now().After(en.keysAskedAt.Add(s.opts.KeysFileTime)):
			blob = en.targetBlob
		}
	}) {
		return
	}
	switch {
	case unknown:
		odataError(w, http.StatusBadRequest, fmt.Sprintf("Entity '%s' was not found in execution '%s'.", entity, p.str("executionId")))
	case generate:
		odataValue(w, r, "Edm.Boolean", exists)
	default:
		s.answerURL(w, r, blob)
	}
}
