package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/jobs"
)

// A workbook's rejected rows (customers.rejected.xlsx) are corrected in
// the console and sent back here as rows of text; erpipe writes them into
// a workbook shaped as the rejected-rows file is (its sheet's name, the
// lines above the header, the header), without the error column, and
// submits it to the job's pipeline as a new input, customers-corrected.xlsx:
// a job of its own, its file kept as any upload's. A CSV's rows are sent
// by the console as a CSV file through the upload, in the file's own
// delimiter.

// maxCorrectionBody bounds a correction's JSON (the console edits at most
// 500 rows).
const maxCorrectionBody = 8 << 20

// errorColumn is the header of the rejected-rows file's last column.
const errorColumn = "erpipe error"

type correctionRequest struct {
	// Rows are the corrected rows, in the columns of the rejected-rows
	// file without its error column.
	Rows [][]string `json:"rows"`
}

// correctJob serves POST /api/v1/jobs/{id}/corrections.
func (a *API) correctJob(w http.ResponseWriter, r *http.Request, c *caller) {
	j, ok := a.job(w, r, c)
	if !ok {
		return
	}
	if j.Report == "" || j.RejectedFile == "" {
		writeError(w, http.StatusNotFound, "no_rejected", fmt.Sprintf("job %s has no rejected rows to correct", j.ID))
		return
	}
	if !strings.EqualFold(filepath.Ext(j.RejectedFile), ".xlsx") {
		writeError(w, http.StatusConflict, "not_workbook", fmt.Sprintf("job %s's rejected rows are not a workbook: send the corrected rows as a file to POST /api/v1/pipelines/%s/jobs, as the console does", j.ID, j.Pipeline))
		return
	}
	var req correctionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCorrectionBody)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_correction", fmt.Sprintf(`send {"rows": [["cell", ...], ...]} as JSON, at most %d bytes: %v`, maxCorrectionBody, err))
		return
	}
	above, header, sheet, err := rejectedLayout(filepath.Join(filepath.Dir(j.Report), j.RejectedFile))
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	if len(req.Rows) == 0 {
		writeError(w, http.StatusBadRequest, "bad_correction", "the correction has no rows; send the corrected rows")
		return
	}
	for i, row := range req.Rows {
		if len(row) > len(header) {
			writeError(w, http.StatusBadRequest, "bad_correction", fmt.Sprintf("row %d has %d cells; the rejected rows have %d columns (%s)", i+1, len(row), len(header), strings.Join(header, ", ")))
			return
		}
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 200 {
		writeError(w, http.StatusBadRequest, "bad_key", "the Idempotency-Key is longer than 200 characters; use a UUID")
		return
	}
	name, err := safeName(correctedName(j.Input, ".xlsx"))
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	path, err := a.svc.NewUploadFile(name)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	sum, err := writeCorrection(path, sheet, above, header, req.Rows)
	if err != nil {
		a.svc.DiscardUpload(path)
		a.internalError(w, r, err)
		return
	}
	job, replayed, ok := a.submit(w, r, jobs.Upload{Pipeline: j.Pipeline, Path: path, SHA256: sum, Client: c.name, Key: key})
	if !ok {
		return
	}
	a.log.Info("rejected rows corrected in the console", "job", j.ID, "correction", job.ID, "rows", len(req.Rows), "by", c.name)
	w.Header().Set("Location", "/api/v1/jobs/"+url.PathEscape(job.ID))
	status := http.StatusAccepted
	if replayed {
		w.Header().Set("Idempotency-Replayed", "true")
		status = http.StatusOK
	}
	writeJSON(w, status, viewJob(job))
}

// correctedName is the corrected input's name: customers.xlsx gives
// customers-corrected.xlsx.
func correctedName(input, ext string) string {
	base := strings.TrimSuffix(input, filepath.Ext(input))
	return base + "-corrected" + ext
}

// rejectedLayout reads a rejected-rows workbook: the rows above its
// header, the header without the error column, and the sheet's name.
func rejectedLayout(path string) (above [][]string, header []string, sheet string, err error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, nil, "", err
	}
	defer f.Close()
	sheet = f.GetSheetName(0)
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, nil, "", err
	}
	for i, row := range rows {
		if n := len(row); n > 0 && strings.TrimSpace(row[n-1]) == errorColumn {
			return rows[:i], row[:n-1], sheet, nil
		}
	}
	return nil, nil, "", fmt.Errorf("%s has no header ending in %q", filepath.Base(path), errorColumn)
}

// writeCorrection writes the corrected workbook to path, every cell as
// text (as the rejected-rows file holds them, so that the template reads
// them as it read the original), and returns its SHA-256.
func writeCorrection(path, sheet string, above [][]string, header []string, rows [][]string) (string, error) {
	f := excelize.NewFile()
	defer f.Close()
	if sheet != "" && sheet != "Sheet1" {
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return "", err
		}
	} else {
		sheet = "Sheet1"
	}
	n := 0
	put := func(cells []string) error {
		n++
		for i, v := range cells {
			cell, err := excelize.CoordinatesToCellName(i+1, n)
			if err != nil {
				return err
			}
			if err := f.SetCellStr(sheet, cell, v); err != nil {
				return err
			}
		}
		return nil
	}
	for _, row := range above {
		if len(row) > len(header) { // the error column's cell, if any
			row = row[:len(header)]
		}
		if err := put(row); err != nil {
			return "", err
		}
	}
	if err := put(header); err != nil {
		return "", err
	}
	for _, row := range rows {
		if err := put(row); err != nil {
			return "", err
		}
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = f.WriteTo(io.MultiWriter(out, h))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
