package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"briefcast/config"
	"briefcast/digest"
	"briefcast/store"
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
	name, err := parseNamed(a, fs, args)
	if err != nil {
		return err
	}
	from, to, err := planRange(a.Now(), *fromFlag, *toFlag)
	if err != nil {
		fmt.Fprintf(a.Stderr, "briefcast digest plan: %v\n", err)
		return errUsage
	}
	env, err := a.digestEnv(ctx, name)
	if err != nil {
		return err
	}
	defer env.store.Close()
	counts, err := env.store.ZoneCounts(ctx, name)
	if err != nil {
		return err
	}
	if !env.d.PerSubscriber() {
		// One send for everyone, at the schedule's times in the digest's
		// zone: a single "wave" of every subscriber.
		var all int64
		for _, n := range counts {
			all += n
		}
		counts = map[string]int64{"": all}
	}
	waves, errs := digest.Waves(env.d, keys(counts), from, to)
	for _, err := range errs {
		fmt.Fprintf(a.Stderr, "briefcast digest plan: %v (those subscribers are left out)\n", err)
	}
	rows := make([]planRow, 0, len(waves))
	for _, w := range waves {
		r := planRow{Wave: w}
		for _, z := range w.Zones {
			r.Recipients += counts[z]
		}
		picked, _, err := digest.PlanWave(env.d, env.arts, w.Zones, w.At)
		if err != nil {
			return err
		}
		r.Articles = len(picked)
		rows = append(rows, r)
	}
	writePlan(a.Stdout, env.d, from, to, rows)
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

func keys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// planRow is one line of `digest plan`.
type planRow struct {
	digest.Wave
	Recipients int64
	Articles   int
}

// writePlan prints the rows of `digest plan`.
func writePlan(w io.Writer, d config.Digest, from, to time.Time, rows []planRow) {
	mode := "one send for everyone at the schedule's times"
	if d.PerSubscriber() {
		mode = "each subscriber at the schedule's times in their own zone"
	}
	fmt.Fprintf(w, "digest %s: %s  (%s; %s)\n", d.Name, d.Schedule, zoneLabel(d, ""), mode)
	fmt.Fprintf(w, "from %s to %s\n", from.UTC().Format("2006-01-02 15:04 UTC"), to.UTC().Format("2006-01-02 15:04 UTC"))
	if len(rows) == 0 {
		fmt.Fprintln(w, "no sends in this range")
		return
	}
	fmt.Fprintf(w, "%-20s  %10s  %8s  %s\n", "WAVE (UTC)", "RECIPIENTS", "ARTICLES", "ZONES (LOCAL TIME)")
	var recipients int64
	for _, r := range rows {
		recipients += r.Recipients
		fmt.Fprintf(w, "%-20s  %10d  %8d  %s\n", r.At.UTC().Format("2006-01-02 15:04 UTC"), r.Recipients, r.Articles, zoneList(d, r.Zones, r.At))
	}
	fmt.Fprintf(w, "%d %s, %d %s\n", len(rows), plural(len(rows), "wave", "waves"), recipients, plural(int(recipients), "recipient", "recipients"))
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
	if d.Location == nil {
		return "UTC (digest zone)"
	}
	return d.Location.String() + " (digest zone)"
}

// WriteWaves renders the waves of a local-time digest with their progress,
// one line each, for `digest status` and like views: UTC time, key, zones,
// then sent/failed/pending of the recipients and whether it is finished.
func WriteWaves(w io.Writer, d config.Digest, waves []store.WaveStatus) {
	if len(waves) == 0 {
		fmt.Fprintln(w, "  no waves in this range")
		return
	}
	for _, ws := range waves {
		e, p := ws.Edition, ws.Progress
		state := "sending"
		if !e.FinishedAt.IsZero() {
			state = "finished"
		}
		fmt.Fprintf(w, "  %s  %s  %d sent, %d skipped, %d failed, %d pending of %d  %s  %s\n",
			e.Cutoff.UTC().Format("2006-01-02 15:04 UTC"), e.Key, p.Sent, p.Skipped, p.Failed,
			p.Queued+p.InFlight+p.Retrying, p.Total(), state, zoneList(d, e.Zones, e.Cutoff))
	}
}
