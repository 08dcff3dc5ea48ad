package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"briefcast/config"
	"briefcast/digest"
	"briefcast/scheduler"
	"briefcast/subscribers"
)

// WaveJobName is the scheduler's name for the job that sends digest
// name's waves in zone: the digest's own job name for "" (the subscribers
// without a zone, who get the digest's zone).
func WaveJobName(name, zone string) string {
	if zone == "" {
		return DigestJobName(name)
	}
	return DigestJobName(name) + "@" + zone
}

// waveJobs returns the jobs of a send_at = "subscriber" digest: one per
// zone its subscribers are in, plus its own zone, each running the
// schedule in that zone. Jobs of zones whose local time coincides fire at
// the same instant and meet on the wave's edition key, so each wave is
// created once; the digest's lock makes the later ones in this process
// find it done. Each zone catches up on its own newest missed wave. Only
// the digest's own job polls for unfinished editions.
func (d *Daemon) waveJobs(dg config.Digest) []scheduler.Job {
	zones := d.waveZones(dg)
	jobs := make([]scheduler.Job, 0, len(zones))
	for _, z := range zones {
		loc, err := digest.ZoneLocation(dg, z)
		if err != nil {
			d.log.Warn("digest_zone_skipped", "digest", dg.Name, "zone", z, "err", err)
			continue
		}
		j := scheduler.Job{
			Name:     WaveJobName(dg.Name, z),
			Spec:     dg.Schedule,
			Location: loc,
			CatchUp:  dg.CatchUpWindow(),
			Run: func(ctx context.Context, at time.Time) error {
				return d.runWave(ctx, dg, at)
			},
			Last: lastWave(d.store, dg.Name, z),
		}
		if z == "" {
			j.Resume = func(ctx context.Context) error { return d.resume(ctx, dg) }
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// waveZones is "" and the distinct zones of dg's active subscribers; on a
// store error only "", so the daemon still starts and a later refresh
// adds the rest.
func (d *Daemon) waveZones(dg config.Digest) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zs, err := d.store.SubscriberZones(ctx, dg.Name)
	if err != nil {
		d.log.Error("digest_zones_failed", "digest", dg.Name, "err", err)
	}
	out := []string{""}
	for _, z := range zs {
		if z != "" {
			out = append(out, z)
		}
	}
	return out
}

// lastWave reads the cut-off of the newest wave of the digest that went to
// zone, for catching up on that zone's missed wave.
func lastWave(store Store, name, zone string) func(ctx context.Context) (time.Time, bool, error) {
	return func(ctx context.Context) (time.Time, bool, error) {
		e, err := store.LatestWave(ctx, name, zone)
		if errors.Is(err, subscribers.ErrNotFound) {
			return time.Time{}, false, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("last wave of %s in %q: %w", name, zone, err)
		}
		return e.Cutoff, true, nil
	}
}

// runWave is a zone job of a local-time digest: it finishes what is
// unfinished, creates (or helps deliver) the wave due at at, then
// refreshes the zone jobs so subscribers who joined or moved zone since
// get their next wave.
func (d *Daemon) runWave(ctx context.Context, dg config.Digest, at time.Time) error {
	mu := d.locks.of(dg.Name)
	mu.Lock()
	g, done := d.acquire()
	err := d.resumeLocked(ctx, g, dg)
	if err == nil {
		var rep *digest.Report
		rep, err = d.sender(g, dg).RunWave(ctx, dg, g.srv.Site().Articles, at)
		if rep != nil && rep.Created {
			d.m.EditionCreated(dg.Name)
		}
	}
	cfg := g.cfg
	done()
	mu.Unlock()
	d.refreshWaves(cfg)
	return err
}

// refreshWaves replaces the scheduler's jobs with cfg's, picking up new
// subscriber zones. It runs on its own goroutine: Replace must not be
// called from inside the job it may stop.
func (d *Daemon) refreshWaves(cfg *config.Config) {
	if d.sched == nil {
		return
	}
	go func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.cur.Load().cfg != cfg {
			return // reloaded meanwhile: the reload set the jobs
		}
		jobs, err := d.jobs(cfg)
		if err == nil {
			err = d.sched.Replace(jobs)
		}
		if err != nil {
			d.log.Error("digest_waves_refresh_failed", "err", err)
		}
	}()
}
