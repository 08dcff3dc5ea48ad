package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"briefcast/config"
	"briefcast/daemon"
	"briefcast/digest"
	"briefcast/editions"
	"briefcast/scheduler"
	"briefcast/store"
	"briefcast/subscribers"
)

func runDigestPlan(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("digest plan", "digest plan NAME [--from RFC3339] [--to RFC3339]",
		"Print, without sending anything, each send of digest NAME between --from (default now)\n"+
			"and --to (default 24 hours later): its time in UTC, the subscribers' zones it is for,\n"+
			"how many subscribers those zones hold and how many articles it would carry.\n"+
			"With send_at = \"subscriber\" each send is a wave: the zones reaching the schedule's\n"+
			"local time at that instant. A subscriber already sent an edition less than about\n"+
			"20 hours before, or every article of it, is left out when the wave goes.")
	fromFlag := fs.String("from", "", "start (RFC 3339), exclusive; default now")
	toFlag := fs.String("to", "", "end (RFC 3339), inclusive; default 24 hours after --from")
	pos, err := a.Args(fs, args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	from, to, err := planRange(a.Now(), *fromFlag, *toFlag)
	if err != nil {
		return a.fail(errUsage, "digest plan", "%v", err)
	}
	env, err := a.digestEnv(ctx, name, true)
	if err != nil {
		return err
	}
	defer env.store.Close()
	counts, err := env.store.ZoneCounts(ctx, name)
	if err != nil {
		return err
	}
	d := env.d
	mode := "each subscriber at the schedule's times in their own zone"
	if !d.PerSubscriber() {
		// One send for everyone, at the schedule's times in the digest's
		// zone: a single "wave" of every subscriber.
		mode = "one send for everyone at the schedule's times"
		counts = map[string]int64{"": reached(counts, slices.Collect(maps.Keys(counts)))}
	}
	waves, errs := digest.Waves(d, slices.Collect(maps.Keys(counts)), from, to)
	for _, err := range errs {
		fmt.Fprintf(a.Stderr, "briefcast digest plan: %v (those subscribers are left out)\n", err)
	}
	var rows []string
	var recipients int64
	for _, w := range waves {
		n := reached(counts, w.Zones)
		picked, _, err := digest.PlanWave(d, env.arts, w.Zones, w.At)
		if err != nil {
			return err
		}
		recipients += n
		rows = append(rows, fmt.Sprintf("%-20s  %10d  %8d  %s\n", w.At.UTC().Format("2006-01-02 15:04 UTC"), n, len(picked), zoneList(d, w.Zones, w.At)))
	}
	out := a.Stdout
	fmt.Fprintf(out, "digest %s: %s  (%s; %s)\n", d.Name, d.Schedule, zoneLabel(d, ""), mode)
	fmt.Fprintf(out, "from %s to %s\n", from.UTC().Format("2006-01-02 15:04 UTC"), to.UTC().Format("2006-01-02 15:04 UTC"))
	if len(rows) == 0 {
		fmt.Fprintln(out, "no sends in this range")
		return nil
	}
	fmt.Fprintf(out, "%-20s  %10s  %8s  %s\n", "WAVE (UTC)", "RECIPIENTS", "ARTICLES", "ZONES (LOCAL TIME)")
	fmt.Fprint(out, strings.Join(rows, ""))
	fmt.Fprintf(out, "%d %s, %d %s\n", len(rows), config.Plural(len(rows), "wave", "waves"), recipients, config.Plural(int(recipients), "recipient", "recipients"))
	return nil
}

// planRange reads --from and --to.
func planRange(now time.Time, fromFlag, toFlag string) (from, to time.Time, err error) {
	from = now
	if fromFlag != "" {
		if from, err = time.Parse(time.RFC3339, fromFlag); err != nil {
			return from, to, fmt.Errorf("--from: %w", err)
		}
	}
	to = from.Add(24 * time.Hour)
	if toFlag != "" {
		if to, err = time.Parse(time.RFC3339, toFlag); err != nil {
			return from, to, fmt.Errorf("--to: %w", err)
		}
	}
	if !to.After(from) {
		return from, to, fmt.Errorf("--to %s is not after --from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	if to.Sub(from) > 31*24*time.Hour {
		return from, to, fmt.Errorf("--from to --to spans more than 31 days")
	}
	return from, to, nil
}

// reached is how many subscribers of counts zones hold.
func reached(counts map[string]int64, zones []string) (n int64) {
	for _, z := range zones {
		n += counts[z]
	}
	return n
}

// zoneList names a wave's zones with the local time each shows then.
func zoneList(d config.Digest, zones []string, at time.Time) string {
	parts := make([]string, len(zones))
	for i, z := range zones {
		loc, err := digest.ZoneLocation(d, z)
		local := ""
		if err == nil {
			local = " " + at.In(loc).Format("15:04 MST")
		}
		parts[i] = zoneLabel(d, z) + local
	}
	return strings.Join(parts, ", ")
}

// zoneLabel names zone z: "" is the digest's own zone, for subscribers
// without one.
func zoneLabel(d config.Digest, z string) string {
	if z != "" {
		return printable(z)
	}
	return d.Zone() + " (digest zone)"
}

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
		return a.fail(errUsage, "schedule", "-n must be between 1 and 100")
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
		fmt.Fprintf(w, "%s (the site and feeds)\n", daemon.RebuildJobName)
		if err := printRuns(w, cfg.Feeds.Rebuild, cfg.Schedule.Location, now, *n); err != nil {
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
	label := "next"
	for _, t := range runs {
		fmt.Fprintf(w, "  %-10s %s   %s\n", label, t.In(loc).Format("Mon 2006-01-02 15:04 MST"), t.UTC().Format("2006-01-02 15:04 UTC"))
		label = ""
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
	fmt.Fprintf(w, "  outcome    %s: %d sent, %d failed, %d retrying, %d queued of %d\n",
		editionState(e, "2006-01-02 15:04 UTC"), p.Sent, p.Failed, p.Retrying, p.Queued+p.InFlight, p.Total())
}

// editionState is "sending", or "finished" with the time in layout (UTC).
func editionState(e *editions.Edition, layout string) string {
	if e.FinishedAt.IsZero() {
		return "sending"
	}
	return "finished " + e.FinishedAt.UTC().Format(layout)
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
	label := "waves"
	for _, wv := range waves {
		fmt.Fprintf(w, "  %-10s %s   %s\n", label, wv.At.UTC().Format("2006-01-02 15:04 UTC"), zoneList(d, wv.Zones, wv.At))
		label = ""
	}
}
