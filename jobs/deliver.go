package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/azblob"
	outd365 "github.com/erpipe/erpipe/outbox/d365"
	"github.com/erpipe/erpipe/outbox/folder"
	"github.com/erpipe/erpipe/outbox/s3"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
)

func destinations(ws *workspace.Workspace, p *workspace.Pipeline) ([]outbox.Destination, error) {
	ctx := context.Background()
	if len(p.Destinations) == 0 {
		d, err := folder.New(ws.Outbox(p.Name), folder.PolicyRename)
		if err != nil {
			return nil, err
		}
		d.FollowLink = ws.Config.FollowSymlinks
		return []outbox.Destination{d}, nil
	}
	var out []outbox.Destination
	for i, dc := range p.Destinations {
		switch {
		case dc.Folder != nil:
			dir := dc.Folder.Path
			if dir == "" {
				dir = ws.Outbox(p.Name)
			} else if !filepath.IsAbs(dir) {
				dir = filepath.Join(ws.Root, dir)
			}
			policy := folder.Policy(dc.Folder.Overwrite)
			if policy == "" {
				policy = folder.PolicyRename
			}
			d, err := folder.New(dir, policy)
			if err != nil {
				return nil, err
			}
			d.FollowLink = ws.Config.FollowSymlinks
			out = append(out, d)
		case dc.S3 != nil:
			c := dc.S3
			cfg := s3.Config{Bucket: c.Bucket, Prefix: c.Prefix, Endpoint: c.Endpoint, Region: c.Region,
				PathStyle: c.Endpoint != "", Profile: c.Profile, CAFile: c.CAFile, StorageClass: c.StorageClass,
				SSE: c.SSE, SSEKMSKeyID: c.SSEKMSKeyID, KeyTemplate: c.KeyTemplate, ChecksumMode: c.ChecksumMode,
				SpoolDir: ws.Work()}
			if c.PathStyle != nil {
				cfg.PathStyle = *c.PathStyle
			}
			d, err := s3.New(ctx, cfg)
			if err != nil {
				return nil, fmt.Errorf("destination %d: %w", i+1, err)
			}
			out = append(out, d)
		case dc.AzBlob != nil:
			d, err := azblobDestination(ctx, ws, dc.AzBlob)
			if err != nil {
				return nil, fmt.Errorf("destination %d: %w", i+1, err)
			}
			out = append(out, d)
		case dc.D365 != nil:
			d, err := d365Destination(ws, p, dc.D365)
			if err != nil {
				return nil, fmt.Errorf("destination %d: %w", i+1, err)
			}
			out = append(out, d)
		default:
			return nil, fmt.Errorf("destination %d: say what kind it is (folder, s3, azblob or d365)", i+1)
		}
	}
	return out, nil
}

// d365Destination makes a destination that imports into Dynamics 365, in
// package or recurring mode; relative file names are relative to the
// workspace. The imports and enqueues it asks for are kept in
// .erpipe/d365, its staging error files go to the pipeline's errors
// folder.
func d365Destination(ws *workspace.Workspace, p *workspace.Pipeline, c *workspace.D365Config) (*outd365.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	client, err := c.Client(ws.Root)
	if err != nil {
		return nil, err
	}
	return outd365.New(outd365.Options{Client: client, Mode: c.Mode,
		DefinitionGroup: c.DefinitionGroup, LegalEntity: c.LegalEntity, Overwrite: c.Overwrite,
		ActivityID: c.ActivityID, Entity: c.Entity, Company: cmp.Or(c.Company, c.LegalEntity),
		StateDir: filepath.Join(ws.State(), "d365"), ErrorDir: ws.Errors(p.Name), Wait: time.Duration(c.Wait)})
}

// azblobDestination makes an Azure Blob Storage destination; relative
// file names are relative to the workspace.
func azblobDestination(ctx context.Context, ws *workspace.Workspace, c *workspace.AzBlobConfig) (*azblob.Blob, error) {
	rel := func(p string) string {
		if p != "" && !filepath.IsAbs(p) {
			return filepath.Join(ws.Root, p)
		}
		return p
	}
	return azblob.New(ctx, azblob.Config{Account: c.Account, Container: c.Container, Prefix: c.Prefix, Endpoint: c.Endpoint,
		Credential: c.Credential, SecretEnv: c.SecretEnv, SecretFile: rel(c.SecretFile),
		DisableInstanceDiscovery: c.DisableInstanceDiscovery, Audience: c.Audience, CAFile: rel(c.CAFile), Overwrite: c.Overwrite,
		AccessTier: c.AccessTier, KeyTemplate: c.KeyTemplate, SpoolDir: ws.Work()})
}

// keepDelivering retries the deliveries of a job whose destination was
// unavailable (down, throttling, full), with exponential back-off, for as
// long as the service runs: the job stays Processing, its input stays
// claimed, and Pending says what it waits for. A stop hands the job to the
// next start, which runs and delivers it again; destinations take a
// repeated put of the same content as done. Any other error fails the job.
func (s *Service) keepDelivering(ctx context.Context, job *Job, res *transform.Result, err error) {
	// The first record of the wait tells the webhooks (destination.waiting).
	evs := nonNil(waitingEvent(s.setupOf(job).ws, job, s.Now()))
	for delay := s.RetryMin; ; delay = min(2*delay, s.RetryMax) {
		if outbox.IsBusy(err) {
			s.log.Info("the destination is working on it; the job waits and asks again", "job", job.ID, "retry_in", delay, "doing", err)
		} else {
			s.log.Warn("destination unavailable; the job waits and retries", "job", job.ID, "retry_in", delay, "err", err)
		}
		if perr := s.record(ctx, job, evs...); errors.Is(perr, ErrFenced) {
			s.log.Warn("another node took the job over; this node stops waiting for its destination", "job", job.ID)
			return
		} else if perr != nil {
			s.log.Error("could not record the job", "job", job.ID, "err", perr)
		} else {
			evs = nil // told once per wait
		}
		select {
		case <-ctx.Done():
			s.handBack(ctx, job)
			return
		case <-s.stop:
			s.log.Info("stopping: the job waiting for a destination resumes at the next start", "job", job.ID)
			s.handBack(ctx, job)
			return
		case <-time.After(jitter(delay)):
		}
		pending := job.Pending
		job.DeliveryRetries++
		err = s.deliver(ctx, job, res.Outputs)
		switch {
		case err != nil && ctx.Err() != nil:
			// Stopped in the middle of a put: the job still waits for
			// what it waited for, not for "context canceled".
			job.Pending = pending
			s.handBack(ctx, job)
			return
		case err == nil:
			job.Pending = nil
			err = s.finish(ctx, job, statusOf(job, res), res, nil)
		case !outbox.IsTransient(err):
			err = s.finish(ctx, job, Failed, res, err)
		default:
			continue
		}
		if err != nil {
			s.log.Error("could not end the job", "job", job.ID, "err", err)
		}
		return
	}
}

// jitter spreads d over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)))
}

// deliver puts each output into each destination that does not have it
// yet, and sets job.Pending to those it could not reach.
func (s *Service) deliver(ctx context.Context, job *Job, outputs []string) error {
	var firstErr error
	job.Pending = nil
	for _, path := range outputs {
		name := filepath.Base(path)
		var sum string
		var size int64
		for _, d := range s.setupOf(job).dests[job.Pipeline] {
			if job.delivered(name, d.String()) {
				continue
			}
			if sum == "" { // once per output, and not for one delivered everywhere (a retry)
				var err error
				if sum, size, err = hashFile(path); err != nil {
					return err
				}
			}
			loc, err := PutFile(ctx, d, path, size, map[string]string{
				outbox.MetaSHA256: sum, outbox.MetaJob: job.ID, outbox.MetaInputSHA256: job.InputSHA256,
				outbox.MetaTemplate: job.Template + " " + job.TemplateVersion,
				outbox.MetaDate:     job.Created.UTC().Format("2006-01-02"),
				outbox.MetaMode:     fmt.Sprintf("%#o", s.resultPerm(job)),
			})
			var partial *outbox.PartialError
			if errors.As(err, &partial) {
				// Delivered, and the receiver refused part of it: the
				// job ends with errors, saying what it refused.
				loc, err = partial.Location, nil
				job.DeliveryProblems = append(job.DeliveryProblems, partial.Problems...)
			}
			if err != nil {
				err = fmt.Errorf("deliver %s to %s: %w", name, d, err)
				why := err.Error()
				if ctx.Err() != nil {
					why = "the delivery was interrupted by a stop; it is made again at the next start"
				}
				job.Pending = append(job.Pending, fmt.Sprintf("%s -> %s: %s", name, d, why))
				if firstErr == nil || !outbox.IsTransient(err) {
					firstErr = err
				}
				if !outbox.IsTransient(err) {
					return err
				}
				continue
			}
			job.Outputs = append(job.Outputs, Output{Name: name, SHA256: sum, Size: size, Destination: d.String(), Location: loc})
			if err := s.record(ctx, job); err != nil {
				return err
			}
			s.log.Info("delivered", "job", job.ID, "output", name, "to", loc)
		}
	}
	return firstErr
}

// PutFile stores the file at path (size bytes) in d, with metadata where
// d keeps it.
func PutFile(ctx context.Context, d outbox.Destination, path string, size int64, meta map[string]string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if mp, ok := d.(outbox.MetaPutter); ok {
		return mp.PutMeta(ctx, filepath.Base(path), f, size, meta)
	}
	return d.Put(ctx, filepath.Base(path), f, size)
}

// delivered reports whether the job has put output name into destination.
func (j *Job) delivered(name, destination string) bool {
	for _, o := range j.Outputs {
		if o.Name == name && o.Destination == destination {
			return true
		}
	}
	return false
}
