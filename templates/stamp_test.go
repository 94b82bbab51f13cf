package templates

import (
	"archive/zip"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/transform"
)

// TestPackagesCarryRunTime checks that every zip a built-in makes from its
// samples stamps its entries with RunOptions.Time, not with the input
// file's time: a job resumed after a crash passes its creation time and
// must make the same bytes again. system-setup (a workbook with a sheet per
// entity) goes through another path than the one-table templates.
func TestPackagesCarryRunTime(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 8, 0, time.UTC) // even seconds: zip times have a 2 s resolution
	zips := 0
	for _, name := range Names() {
		tmpl, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, sample := range Samples(name) {
			out := t.TempDir()
			res, err := tmpl.RunWith(context.Background(), filepath.FromSlash(sample), out, transform.RunOptions{Time: at})
			if err != nil {
				t.Fatalf("%s %s: %v", name, sample, err)
			}
			for _, p := range res.Outputs {
				if !strings.HasSuffix(p, ".zip") {
					continue
				}
				zips++
				zr, err := zip.OpenReader(p)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range zr.File {
					if !f.Modified.Equal(at) {
						t.Errorf("%s %s: %s is stamped %v, want %v", name, sample, f.Name, f.Modified, at)
					}
				}
				zr.Close()
			}
		}
	}
	if zips < 5 {
		t.Errorf("only %d packages checked", zips)
	}
}
