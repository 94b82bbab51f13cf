// Package office converts documents with LibreOffice in headless mode: a
// filled workbook or document to PDF, as Electronic Reporting does with
// its PDF conversion. LibreOffice is optional at run time: a conversion
// without it fails with ErrNotInstalled, which says how to install it.
package office

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotInstalled is a conversion without LibreOffice.
var ErrNotInstalled = errors.New("LibreOffice is not installed, and converting to PDF needs it: on Debian or Ubuntu apt-get install libreoffice-calc-nogui " +
	"(and libreoffice-writer-nogui for Word documents), or set ERPIPE_SOFFICE to the soffice program")

// Binary finds LibreOffice's soffice: $ERPIPE_SOFFICE, else soffice or
// libreoffice on the PATH.
func Binary() (string, error) {
	if p := os.Getenv("ERPIPE_SOFFICE"); p != "" {
		return p, nil
	}
	for _, name := range []string{"soffice", "libreoffice"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// DefaultTimeout bounds one conversion.
const DefaultTimeout = 2 * time.Minute

// ConvertToPDF converts the document at src (a .xlsx or .docx, by its
// extension) to PDF at dst, within timeout (DefaultTimeout when 0). Each
// conversion runs a LibreOffice of its own, with a user profile in a
// temporary folder, so that conversions may run at once and none touches
// the user's own profile.
func ConvertToPDF(ctx context.Context, src, dst string, timeout time.Duration) error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	work, err := os.MkdirTemp("", "erpipe-office-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// LibreOffice names the PDF after its input: give the input the name
	// the PDF is to have.
	in := filepath.Join(work, strings.TrimSuffix(filepath.Base(dst), filepath.Ext(dst))+filepath.Ext(src))
	if err := os.Link(src, in); err != nil {
		if err := copyFile(src, in); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--norestore", "--nolockcheck", "--nodefault",
		"-env:UserInstallation=file://"+filepath.Join(work, "profile"),
		"--convert-to", "pdf", "--outdir", filepath.Join(work, "out"), in)
	cmd.Env = append(os.Environ(), "HOME="+work)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("converting %s to PDF took longer than %s; LibreOffice was stopped", filepath.Base(dst), timeout)
	}
	pdf := filepath.Join(work, "out", strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))+".pdf")
	if _, serr := os.Stat(pdf); err != nil || serr != nil {
		return fmt.Errorf("LibreOffice did not convert %s to PDF: %v: %s", filepath.Base(src), err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(pdf, dst); err != nil {
		return copyFile(pdf, dst)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
