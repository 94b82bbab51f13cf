package emulator

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/erpipe/erpipe/formats/dmf"
)

// Execution summary statuses (GetExecutionSummaryStatus).
const (
	StatusUnknown            = "Unknown"
	StatusNotRun             = "NotRun"
	StatusExecuting          = "Executing"
	StatusSucceeded          = "Succeeded"
	StatusPartiallySucceeded = "PartiallySucceeded"
	StatusFailed             = "Failed"
	StatusCanceled           = "Canceled"
)

// Entity execution states (staging and target status).
const (
	entityNotRun    = "NotRun"
	entityExecuting = "Executing"
	entityFinished  = "Finished"
	entityError     = "Error"
)

// EntityResult is what an execution did with one entity of its package.
type EntityResult struct {
	Name   string // the label, as in the manifest
	Target string // the AOT name
	// StagingRecords counts the rows read from the data file, and
	// StagingErrorCount those that failed source → staging;
	// TargetRecords counts those that reached the target, and
	// TargetErrorCount those that failed staging → target.
	StagingRecords, StagingErrorCount int
	TargetRecords, TargetErrorCount   int
	StagingStatus, TargetStatus       string // EntityExecutionState: Finished, Error, NotRun…
	Errors                            []string
}

// Import is an execution of ImportFromPackage (or of a message enqueued
// to a recurring import job), as the emulator keeps it.
type Import struct {
	ExecutionID     string
	DefinitionGroup string
	LegalEntity     string
	PackageURL      string // "" for a recurring message
	MessageID       string // the recurring message, if it came that way
	Package         []byte // the package (or file) imported
	Execute         bool
	Overwrite       bool
	At              time.Time
	Status          string // the status now, as GetExecutionSummaryStatus answers it
	Errors          []string
	Entities        []EntityResult
}

type entityRun struct {
	EntityResult
	stagingFile []byte    // CSV of the rows that failed staging
	targetFile  []byte    // CSV of the keys of the rows that failed the target
	keysAskedAt time.Time // when GenerateImportTargetErrorKeysFile was called
	stagingBlob string
	targetBlob  string
}

type execution struct {
	id, group, legalEntity string
	export                 bool
	packageURL, packageBlb string
	pkg                    []byte
	execute, overwrite     bool
	created                time.Time
	messageID              string

	done       bool   // analysis finished
	result     string // the final status, once done
	preProcess bool   // the package could not be read at all
	errs       []string
	entities   []*entityRun
}

// statusAt is e's status at now; false while the execution is "not
// found". Called with s.mu held.
func (s *Server) statusAt(e *execution, now time.Time) (string, bool) {
	if now.Before(e.created.Add(s.notFound)) {
		return "", false
	}
	return s.phase(e, now), true
}

// phase is e's status at now, found or not. Called with s.mu held.
func (s *Server) phase(e *execution, now time.Time) string {
	switch {
	case !e.export && !e.execute:
		return StatusNotRun
	case now.Before(e.created.Add(s.opts.QueueTime)):
		return StatusNotRun
	case !e.done || now.Before(e.created.Add(s.opts.QueueTime+s.opts.ExecuteTime)):
		return StatusExecuting
	}
	return e.result
}

// running reports whether e holds its definition group: it executes and
// has not ended. Called with s.mu held.
func (s *Server) running(e *execution, now time.Time) bool {
	if !e.export && !e.execute {
		return false
	}
	return !e.done || now.Before(e.created.Add(s.opts.QueueTime+s.opts.ExecuteTime))
}

// snapshot is e as an Import. Called with s.mu held.
func (s *Server) snapshot(e *execution, now time.Time) Import {
	st := s.phase(e, now)
	im := Import{ExecutionID: e.id, DefinitionGroup: e.group, LegalEntity: e.legalEntity, PackageURL: e.packageURL,
		MessageID: e.messageID, Package: e.pkg, Execute: e.execute, Overwrite: e.overwrite, At: e.created, Status: st,
		Errors: append([]string(nil), e.errs...)}
	for _, en := range e.entities {
		r := en.EntityResult
		r.Errors = append([]string(nil), r.Errors...)
		im.Entities = append(im.Entities, r)
	}
	return im
}

// Imports returns every import received, in order, with its package and,
// once executed, its result.
func (s *Server) Imports() []Import {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []Import
	for _, e := range s.executions {
		if !e.export {
			out = append(out, s.snapshot(e, now))
		}
	}
	return out
}

// Execution returns the import or export with that execution ID.
func (s *Server) Execution(id string) (Import, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[strings.ToLower(id)]
	if !ok {
		return Import{}, false
	}
	return s.snapshot(e, time.Now()), true
}

// SetNotFoundFor makes executions created from now on unknown to status
// calls for d (400 "not found"), as D365 when polled too early.
func (s *Server) SetNotFoundFor(d time.Duration) {
	s.mu.Lock()
	s.notFound = d
	s.mu.Unlock()
}

// SetExportPackage makes definitionGroup an export data project whose
// exports produce pkg.
func (s *Server) SetExportPackage(definitionGroup string, pkg []byte) {
	s.mu.Lock()
	s.exports[strings.ToLower(definitionGroup)] = pkg
	s.mu.Unlock()
}

// run analyses e's package in the background and stores the result.
func (s *Server) run(e *execution, entity string) {
	go func() {
		var (
			status string
			pre    bool
			errs   []string
			ents   []*entityRun
		)
		if e.export || e.pkg == nil || isZip(e.pkg) || entity == "" {
			status, pre, errs, ents = s.analyzePackage(e.pkg, e.id, !e.export)
		} else {
			status, errs, ents = s.analyzeFile(e.pkg, entity)
		}
		ctx := context.Background()
		for _, en := range ents {
			if en.stagingFile != nil {
				en.stagingBlob = e.id + "-" + safeName(en.Name) + "-StagingErrors.csv"
				_ = s.store.Put(ctx, en.stagingBlob, en.stagingFile)
			}
			if en.targetFile != nil {
				en.targetBlob = e.id + "-" + safeName(en.Name) + "-TargetErrorKeys.csv"
				_ = s.store.Put(ctx, en.targetBlob, en.targetFile)
			}
		}
		if e.export && status == StatusSucceeded {
			_ = s.store.Put(ctx, e.packageBlb, e.pkg)
		}
		s.mu.Lock()
		e.done, e.result, e.preProcess, e.errs, e.entities = true, status, pre, errs, ents
		s.mu.Unlock()
	}()
}

func isZip(b []byte) bool { return bytes.HasPrefix(b, []byte("PK\x03\x04")) }

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == '?' || r == '#' || r == '%' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

// tempPath is where D365 unpacks a package, as its messages name it.
func tempPath(file string) string {
	return `C:\Windows\TEMP\` + strings.ToLower(newGUID()) + "_" + strings.ToLower(newGUID()) + `\` + file
}

// analyzePackage opens pkg with erpipe's DMF reader and checker and, when
// rules apply (imports), runs the rows through them.
func (s *Server) analyzePackage(pkg []byte, name string, rules bool) (status string, preProcess bool, errs []string, ents []*entityRun) {
	fail := func(msg string) (string, bool, []string, []*entityRun) {
		return StatusFailed, true, []string{msg}, nil
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		// .NET's ZipArchive, on a file that is no zip.
		return fail("End of Central Directory record could not be found. The package must be a zip of Manifest.xml, PackageHeader.xml and the data files, not a bare data file.")
	}
	for _, want := range []string{dmf.PackageHeaderName, dmf.ManifestName} {
		if !hasEntry(zr, want) {
			return fail(fmt.Sprintf("Could not find file '%s'.", tempPath(want)))
		}
	}
	p, err := dmf.OpenReader(bytes.NewReader(pkg), int64(len(pkg)), name+".zip")
	if err != nil {
		return fail(err.Error())
	}
	defer p.Close()
	probs, err := p.Check()
	if err != nil {
		return fail(err.Error())
	}
	byEntity := map[string][]string{}
	for _, pr := range probs {
		if pr.Warning {
			continue
		}
		if pr.Entity == "" {
			errs = append(errs, pr.Error())
			continue
		}
		byEntity[pr.Entity] = append(byEntity[pr.Entity], pr.Error())
	}
	if len(errs) > 0 {
		return StatusFailed, true, errs, nil
	}
	for i, me := range p.Entities {
		en := &entityRun{EntityResult: EntityResult{Name: me.Name, Target: me.Target, StagingStatus: entityFinished, TargetStatus: entityFinished}}
		ents = append(ents, en)
		if msgs := byEntity[me.Name]; len(msgs) > 0 {
			en.StagingStatus, en.TargetStatus, en.Errors = entityError, entityNotRun, msgs
			continue
		}
		if !p.HasData(i) {
			continue
		}
		r, err := p.Open(i)
		if err != nil {
			en.StagingStatus, en.TargetStatus, en.Errors = entityError, entityNotRun, []string{err.Error()}
			continue
		}
		header := r.Header()
		var readErr error
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				break
			}
			if rules {
				s.applyRules(en, header, rec.Fields)
			} else {
				en.StagingRecords++
				en.TargetRecords++
			}
		}
		r.Close()
		if readErr != nil {
			en.Errors = append(en.Errors, readErr.Error())
			en.StagingStatus, en.TargetStatus = entityError, entityNotRun
		}
	}
	status, errs = summarize(ents)
	return status, false, errs, ents
}

func hasEntry(zr *zip.Reader, name string) bool {
	for _, f := range zr.File {
		if strings.EqualFold(path.Base(strings.ReplaceAll(f.Name, `\`, "/")), name) {
			return true
		}
	}
	return false
}

// analyzeFile runs a recurring "File" message (one entity's data file,
// CSV in UTF-8 or UTF-16 with its byte order mark) through the rules.
func (s *Server) analyzeFile(data []byte, entity string) (string, []string, []*entityRun) {
	en := &entityRun{EntityResult: EntityResult{Name: entity, StagingStatus: entityFinished, TargetStatus: entityFinished}}
	dec := unicode.BOMOverride(unicode.UTF8.NewDecoder())
	cr := csv.NewReader(transform.NewReader(bytes.NewReader(data), dec))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil && !errors.Is(err, io.EOF) {
		en.StagingStatus, en.TargetStatus, en.Errors = entityError, entityNotRun, []string{"The file could not be read as CSV: " + err.Error()}
	}
	for err == nil {
		var row []string
		row, err = cr.Read()
		if err == nil {
			s.applyRules(en, header, row)
		} else if !errors.Is(err, io.EOF) {
			en.Errors = append(en.Errors, "The file could not be read as CSV: "+err.Error())
			en.StagingStatus, en.TargetStatus = entityError, entityNotRun
		}
	}
	status, errs := summarize([]*entityRun{en})
	return status, errs, []*entityRun{en}
}

// applyRules takes one row through source → staging → target.
func (s *Server) applyRules(en *entityRun, header, row []string) {
	en.StagingRecords++
	if msg := s.opts.StagingError(en.Name, header, row); msg != "" {
		en.StagingErrorCount++
		en.StagingStatus = entityError
		en.Errors = append(en.Errors, msg)
		en.stagingFile = appendCSV(en.stagingFile, header, "ErrorMessage", row, msg)
		return
	}
	if msg := s.opts.TargetError(en.Name, header, row); msg != "" {
		en.TargetErrorCount++
		en.TargetStatus = entityError
		en.Errors = append(en.Errors, msg)
		var key, keyCol []string
		if len(row) > 0 && len(header) > 0 {
			key, keyCol = row[:1], header[:1]
		}
		en.targetFile = appendCSV(en.targetFile, keyCol, "ErrorMessage", key, msg)
		return
	}
	en.TargetRecords++
}

// appendCSV appends a row (and, first, the header) with a message column.
func appendCSV(b []byte, header []string, msgCol string, row []string, msg string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if b == nil {
		w.Write(append(append([]string(nil), header...), msgCol))
	}
	w.Write(append(append([]string(nil), row...), msg))
	w.Flush()
	return append(b, buf.Bytes()...)
}

// summarize gives an execution's status from its entities, and its
// error messages.
func summarize(ents []*entityRun) (string, []string) {
	var errs []string
	failed, reached := 0, 0
	for _, en := range ents {
		errs = append(errs, en.Errors...)
		reached += en.TargetRecords
		if en.StagingStatus == entityError || en.TargetStatus == entityError {
			failed++
		}
	}
	switch {
	case failed == 0:
		return StatusSucceeded, errs
	case reached > 0 || failed < len(ents):
		return StatusPartiallySucceeded, errs
	}
	return StatusFailed, errs
}
