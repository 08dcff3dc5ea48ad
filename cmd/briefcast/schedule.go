package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"briefcast/config"
	"briefcast/daemon"
	"briefcast/digest"
	"briefcast/scheduler"
	"briefcast/store"
	"briefcast/subscribers"
)

func runSchedule(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("schedule", "schedule [--config PATH] [-n COUNT]",
		"Print each job the daemon schedules: every digest and the site rebuild,\n"+
			"with its spec, its time zone, its next runs in that zone and in UTC,\n"+
			"and, for a digest, its last edition and how its delivery went.\n"+
			"Runs inside a daylight-saving gap happen at the first valid time after\n"+
			"it; runs inside a repeated hour happen once, at the first occurrence.")
	n := fs.Int("n", 3, "how many next runs to show per job")
	if _, err := a.Args(fs, args, 0); err != nil {
		return err
	}
	if *n < 1 || *n > 100 {
		fmt.Fprintln(a.Stderr, "briefcast schedule: -n must be between 1 and 100")
		return errUsage
	}
	cfg, err := a.LoadConfig()
	if err != nil {
		return err
	}
	now := a.Now()
	w := a.Stdout

	store, storeNote := openStoreIfExists(ctx, a, cfg)
	if store != nil {
		defer store.Close()
	}

	if len(cfg.Digests) == 0 && cfg.Feeds.Rebuild == "" {
		fmt.Fprintln(w, "No scheduled jobs: add [[digests]] or [feeds] rebuild to the config.")
	}
	for i, d := range cfg.Digests {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s)\n", daemon.DigestJobName(d.Name), printable(d.Title))
		if err := printRuns(w, d.Schedule, d.Location, now, *n); err != nil {
			return fmt.Errorf("digests (%s).schedule: %w", d.Name, err)
		}
		if c := d.CatchUpWindow(); c > 0 {
			fmt.Fprintf(w, "  catch-up   missed runs are sent once if the newest is under %s old\n", c)
		} else {
			fmt.Fprintf(w, "  catch-up   never (catch_up = \"0\")\n")
		}
		if store == nil {
			fmt.Fprintf(w, "  last       unknown: %s\n", storeNote)
			continue
		}
		if d.PerSubscriber() {
			printNextWaves(ctx, w, store, d, now, *n)
		}
		printLastEdition(ctx, w, store, d)
	}
	if cfg.Feeds.Rebuild != "" {
		if len(cfg.Digests) > 0 {
			fmt.Fprintln(w)
		}
		loc, err := daemon.ScheduleZone(cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s (the site and feeds)\n", daemon.RebuildJobName)
		if err := printRuns(w, cfg.Feeds.Rebuild, loc, now, *n); err != nil {
			return fmt.Errorf("feeds.rebuild: %w", err)
		}
		fmt.Fprintf(w, "  also       within about 2s of any change in %s\n", daemon.DisplayPath(cfg.Site.ContentDir))
	}
	return nil
}

// printRuns prints a job's spec, zone and next n runs in its zone and UTC.
func printRuns(w io.Writer, spec string, loc *time.Location, now time.Time, n int) error {
	s, err := scheduler.ParseSchedule(spec, loc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  schedule   %s  (%s)\n", spec, loc)
	if s.Interval() > 0 {
		fmt.Fprintf(w, "  note       an interval counted from the daemon's start, shown here from now\n")
	}
	runs := s.NextN(now, n)
	if len(runs) == 0 {
		fmt.Fprintf(w, "  next       never: the spec matches no date\n")
	}
	for i, t := range runs {
		label := ""
		if i == 0 {
			label = "next"
		}
		fmt.Fprintf(w, "  %-10s %s   %s\n", label, t.In(loc).Format("Mon 2006-01-02 15:04 MST"), t.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return nil
}

// printLastEdition prints the digest's newest edition and its delivery.
func printLastEdition(ctx context.Context, w io.Writer, store *store.DB, d config.Digest) {
	e, err := store.LatestEdition(ctx, d.Name)
	if errors.Is(err, subscribers.ErrNotFound) {
		fmt.Fprintf(w, "  last       no edition yet\n")
		return
	}
	if err != nil {
		fmt.Fprintf(w, "  last       unknown: %v\n", err)
		return
	}
	fmt.Fprintf(w, "  last       %s, cut-off %s, %d %s\n", e.Key, e.Cutoff.In(d.Location).Format("Mon 2006-01-02 15:04 MST"),
		len(e.Articles), config.Plural(len(e.Articles), "article", "articles"))
	p, err := store.Progress(ctx, e.ID)
	if err != nil {
		fmt.Fprintf(w, "  outcome    unknown: %v\n", err)
		return
	}
	state := "sending"
	if !e.FinishedAt.IsZero() {
		state = "finished " + e.FinishedAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(w, "  outcome    %s: %d sent, %d failed, %d retrying, %d queued of %d\n",
		state, p.Sent, p.Failed, p.Retrying, p.Queued+p.InFlight, p.Total())
}

// openStoreIfExists opens the store for reading, without creating a SQLite
// file that is not there yet. On failure it returns nil and a note saying
// why, for the output.
func openStoreIfExists(ctx context.Context, a *App, cfg *config.Config) (*store.DB, string) {
	if cfg.Store.Driver == "sqlite" {
		path := config.SQLiteFile(cfg.Store.DSN)
		if _, err := os.Stat(path); path == "" || errors.Is(err, os.ErrNotExist) {
			return nil, "no database yet at " + daemon.DisplayPath(path)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	store, err := a.OpenStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Sprintf("the store could not be opened (%v)", err)
	}
	return store, ""
}

// printNextWaves prints the next n waves of a send_at = "subscriber"
// digest: the zones of its subscribers reaching the schedule's time.
func printNextWaves(ctx context.Context, w io.Writer, store *store.DB, d config.Digest, now time.Time, n int) {
	zones, err := store.SubscriberZones(ctx, d.Name)
	if err != nil {
		fmt.Fprintf(w, "  waves      unknown: %v\n", err)
		return
	}
	waves, _ := digest.Waves(d, zones, now, now.Add(8*24*time.Hour))
	if len(waves) > n {
		waves = waves[:n]
	}
	for i, wv := range waves {
		label := ""
		if i == 0 {
			label = "waves"
		}
		fmt.Fprintf(w, "  %-10s %s   %s\n", label, wv.At.UTC().Format("2006-01-02 15:04 UTC"), zoneList(d, wv.Zones, wv.At))
	}
}
