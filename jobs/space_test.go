//go:build linux

package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
)

// smallDisk is a disk a test fills and frees: a 16 MB tmpfs mounted for
// the test where it may mount one (as root), else the journal's injected
// fault, which makes the journal's writes fail as on a full disk.
type smallDisk struct {
	dir     string
	mounted bool
	j       *Journal
}

func newSmallDisk(t *testing.T, mount bool) *smallDisk {
	t.Helper()
	d := &smallDisk{dir: t.TempDir()}
	if !mount {
		return d
	}
	if err := syscall.Mount("tmpfs", d.dir, "tmpfs", 0, "size=16m"); err == nil {
		d.mounted = true
		t.Cleanup(func() { syscall.Unmount(d.dir, syscall.MNT_DETACH) })
	} else {
		t.Logf("no tmpfs (%v): the full disk is injected into the journal", err)
	}
	return d
}

// fill takes all the space there is.
func (d *smallDisk) fill(t *testing.T) {
	t.Helper()
	if !d.mounted {
		full := error(syscall.ENOSPC)
		d.j.fault.Store(&full)
		return
	}
	f, err := os.Create(filepath.Join(d.dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// free gives the space back.
func (d *smallDisk) free(t *testing.T) {
	t.Helper()
	d.j.fault.Store(nil)
	if d.mounted {
		if err := os.Remove(filepath.Join(d.dir, "filler")); err != nil {
			t.Fatal(err)
		}
	}
}

// fullDiskService is a service on a workspace on a small disk.
func fullDiskService(t *testing.T, mount bool) (*Service, *workspace.Workspace, *smallDisk) {
	t.Helper()
	disk := newSmallDisk(t, mount)
	ws, err := workspace.Open(disk.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := OpenWorkspaceJournal(ws, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	disk.j = j
	s, err := NewService(ws, j, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	s.RetryMin, s.RetryMax = 20*time.Millisecond, 100*time.Millisecond
	return s, ws, disk
}

// TestFullDisk: with the workspace's disk full, a ready file is not
// claimed (it stays in the inbox, not in claimed/ without a record); a
// disk that fills up during a job holds the job; once there is space
// again the jobs are done without a restart.
func TestFullDisk(t *testing.T) {
	for _, mount := range []bool{true, false} {
		name := map[bool]string{true: "tmpfs", false: "injected"}[mount]
		t.Run(name+" before the claim", func(t *testing.T) {
			s, ws, disk := fullDiskService(t, mount)
			in := dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t))
			disk.fill(t)
			done := make(chan *Job, 1)
			go func() {
				job, err := s.Take(context.Background(), "customers-v3", in)
				if err != nil {
					t.Error(err)
				}
				done <- job
			}()
			time.Sleep(500 * time.Millisecond)
			if !exists(in) {
				t.Error("the file was claimed while the journal could not be written")
			}
			if left, _ := os.ReadDir(filepath.Join(ws.Claimed(), "customers-v3")); len(left) != 0 {
				t.Errorf("claimed/ holds %d entries without a record", len(left))
			}
			disk.free(t)
			select {
			case job := <-done:
				if job == nil || job.Status != Processed {
					t.Fatalf("after space came back: %+v", job)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("nothing moved within 10s of space coming back")
			}
		})
		t.Run(name+" during the job", func(t *testing.T) {
			s, ws, disk := fullDiskService(t, mount)
			s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
				res, err := tm.RunWith(ctx, in, out, o)
				disk.fill(t) // the disk fills up before the job is delivered and filed
				return res, err
			}
			freed := time.AfterFunc(500*time.Millisecond, func() { disk.free(t) })
			defer freed.Stop()
			job, err := s.Take(context.Background(), "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
			if err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if j, err := s.journal.Get(context.Background(), job.ID); err == nil && j.Status == Processed {
					return
				}
			}
			j, err := s.journal.Get(context.Background(), job.ID)
			t.Fatalf("10s after space came back the job is %v (%v)", j.Status, err)
		})
	}
}
