package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/daemon"
	"briefcast/digest"
	"briefcast/editions"
	"briefcast/email"
	"briefcast/progress"
	"briefcast/scheduler"
	"briefcast/store"
	"briefcast/subscribers"

	gomail "github.com/wneessen/go-mail"
)

const digestCommands = `  send NAME      create the edition due now (or resume an unfinished one) and deliver it
  status NAME    show an edition's delivery progress, failures, bounces and complaints
  preview NAME   render the next edition for one recipient, recording nothing
  plan NAME      list the coming sends (waves): UTC time, zones, recipients, articles
`

// digestEnv is what the digest commands build from the config.
type digestEnv struct {
	cfg      *config.Config
	d        config.Digest
	store    *store.DB
	composer *email.Composer     // with content only
	arts     []*articles.Article // with content only
}

// digestEnv loads the config, finds digest name in it and opens the store;
// with content it also loads the templates and the articles.
func (a *App) digestEnv(ctx context.Context, name string, content bool) (*digestEnv, error) {
	cfg, err := a.LoadConfig()
	if err != nil {
		return nil, err
	}
	d, ok := cfg.Digest(name)
	if !ok {
		return nil, fmt.Errorf("no digest named %q in %s", name, cfg.Path)
	}
	env := &digestEnv{cfg: cfg, d: *d}
	if env.store, err = a.OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	if !content {
		return env, nil
	}
	if env.composer, _, err = daemon.NewComposer(cfg, a.Log); err != nil {
		env.store.Close()
		return nil, err
	}
	var errs []error
	env.arts, errs = articles.Load(cfg.Site.ContentDir, daemon.ArticleOptions(cfg, a.Log))
	for _, err := range errs {
		a.Log.Warn("article_rejected", "err", err)
	}
	return env, nil
}

func runDigestSend(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("digest send", "digest send NAME [--cutoff RFC3339] [--no-wait]",
		"Create the edition of digest NAME due now (or at --cutoff) and deliver it. An unfinished\n"+
			"edition is resumed instead. Prints a progress bar on a terminal and a summary line.\n"+
			"Exits 1 when any recipient of the edition failed, and when a template cannot be rendered:\n"+
			"then nothing is sent and the edition waits, queued, for a run after the fix.")
	cutoffFlag := fs.String("cutoff", "", "cut-off time (RFC 3339); default now")
	noWait := fs.Bool("no-wait", false, "return once nothing is due instead of waiting for retries")
	pos, err := a.Args(fs, args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	cutoff := a.Now()
	if *cutoffFlag != "" {
		if cutoff, err = time.Parse(time.RFC3339, *cutoffFlag); err != nil {
			return a.fail(errUsage, "digest send", "--cutoff: %v", err)
		}
	}
	env, err := a.digestEnv(ctx, name, true)
	if err != nil {
		return err
	}
	defer env.store.Close()
	// On SQLite one process sends at a time: the daemon's lock keeps a
	// manual send from releasing the leases of a running daemon's sender.
	if path := daemon.SchedulerLockPath(env.cfg); path != "" {
		release, err := scheduler.LockFile(path)
		if err != nil {
			return fmt.Errorf("%w; stop `briefcast serve` or let its schedule send the digest", err)
		}
		defer release()
	}
	transport, err := email.NewTransport(email.TransportOptionsOf(env.cfg), a.Log)
	if err != nil {
		return err
	}
	s := digest.NewSender(daemon.SenderOptions(env.cfg), env.store, env.composer, transport, a.Log)
	s.Now = a.Now
	s.NoWait = *noWait
	bar := progress.New(a.Stderr, "sending", 0)
	if bar.On() { // else the sender need not count the edition twice a second
		// Settled of all recipients, and how many were sent, failed or
		// wait for a retry.
		s.Progress = func(p editions.Progress) {
			if t := p.Total(); t > 0 {
				settled := t - p.Queued - p.InFlight - p.Retrying
				bar.Update(settled, t, fmt.Sprintf("%d/%d  sent %d  failed %d  retrying %d", settled, t, p.Sent, p.Failed, p.Retrying))
			}
		}
	}
	rep, err := s.Run(ctx, env.d, env.arts, cutoff)
	bar.Finish()
	if rep != nil {
		fmt.Fprintln(a.Stdout, rep.Summary())
		if rep.Created && rep.Edition != nil && rep.Edition.Recipients == 0 {
			// Its articles now count as sent: say so before someone
			// adds a reader and wonders why there is nothing new.
			fmt.Fprintf(a.Stderr, "briefcast digest send: %s has no active subscriber, so this edition reached nobody; "+
				"add one first (briefcast subscribers add ADDR --active) to see a digest\n", name)
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return a.fail(errFailed, "digest send", "stopped; run it again to resume")
		}
		return err
	}
	// A failed recipient is a failed send, for scripts and cron's mail as
	// much as for the person at the terminal.
	if rep != nil && rep.Edition != nil && rep.Progress.Failed > 0 {
		return a.fail(errFailed, "digest send", "%d %s failed; 'briefcast digest status %s' lists them",
			rep.Progress.Failed, config.Plural(int(rep.Progress.Failed), "recipient", "recipients"), name)
	}
	return nil
}

func runDigestStatus(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("digest status", "digest status NAME [--edition KEY]",
		"Show the progress, failures, bounces and complaints of digest NAME's unfinished edition,\n"+
			"or else its latest. A WARNING line flags a complaint rate over 0.1% or a hard-bounce rate\n"+
			"over 2% of the messages sent. For a digest with send_at = \"subscriber\" it then lists the\n"+
			"waves of the last 24 hours with their progress and the waves due in the next 24 hours.")
	key := fs.String("edition", "", "edition key (e.g. 20261125T0700Z); default the unfinished or latest one")
	limit := fs.Int("failures", 20, "how many failed or retrying recipients to list")
	pos, err := a.Args(fs, args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	env, err := a.digestEnv(ctx, name, false)
	if err != nil {
		return err
	}
	defer env.store.Close()
	if err := showEditionStatus(ctx, a.Stdout, env.store, name, *key, *limit); err != nil {
		return err
	}
	// A local-time digest sends one edition per wave: the day's waves
	// say how far each zone got, which the one edition above cannot.
	if env.d.PerSubscriber() && *key == "" {
		return showDayWaves(ctx, a.Stdout, env.store, env.d, a.Now())
	}
	return nil
}

// showEditionStatus prints the progress, bounces and failures of the
// edition key of digest name, or of its unfinished or latest one.
func showEditionStatus(ctx context.Context, w io.Writer, st *store.DB, name, key string, limit int) error {
	var e *editions.Edition
	var err error
	if key != "" {
		if e, err = st.EditionByKey(ctx, name, key); errors.Is(err, subscribers.ErrNotFound) {
			return fmt.Errorf("digest %s has no edition %q", name, key)
		}
	} else {
		if e, err = st.UnfinishedEdition(ctx, name); errors.Is(err, subscribers.ErrNotFound) {
			e, err = st.LatestEdition(ctx, name)
		}
		if errors.Is(err, subscribers.ErrNotFound) {
			fmt.Fprintf(w, "digest %s: no edition yet\n", name)
			return nil
		}
	}
	if err != nil {
		return err
	}
	p, err := st.Progress(ctx, e.ID)
	if err != nil {
		return err
	}
	settled := "100%"
	if t := p.Total(); t > 0 {
		settled = fmt.Sprintf("%d%% settled", (t-p.Queued-p.InFlight-p.Retrying)*100/t)
	}
	fmt.Fprintf(w, "digest %s edition %s: %s\n", name, e.Key, editionState(e, time.RFC3339))
	fmt.Fprintf(w, "  cut-off    %s\n", e.Cutoff.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  created    %s\n", e.CreatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  articles   %d\n", len(e.Articles))
	fmt.Fprintf(w, "  recipients %d\n", p.Total())
	fmt.Fprintf(w, "  %d sent, %d failed, %d retrying, %d queued, %d in flight, %d skipped, %d cancelled (%s)\n",
		p.Sent, p.Failed, p.Retrying, p.Queued, p.InFlight, p.Skipped, p.Cancelled, settled)
	// The bounce reports with their rates of the messages sent, and a
	// WARNING line for each rate past its limit, so a reputation problem
	// shows where the delivery numbers are read.
	bc, err := st.BounceCounts(ctx, e.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  bounces    %d hard (%s), %d soft (%s)\n", bc.Hard, ratePercent(p, bc.Hard), bc.Soft, ratePercent(p, bc.Soft))
	fmt.Fprintf(w, "  complaints %d (%s)\n", bc.Complaints, ratePercent(p, bc.Complaints))
	for _, msg := range bc.Warnings(p) {
		fmt.Fprintf(w, "WARNING: %s\n", msg)
	}
	if p.Failed+p.Retrying == 0 || limit <= 0 {
		return nil
	}
	fails, err := st.Failures(ctx, e.ID, limit)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nFailures:")
	for _, f := range fails {
		next := ""
		if f.State == editions.DeliveryRetrying && !f.NextAttempt.IsZero() {
			next = " next " + f.NextAttempt.UTC().Format(time.RFC3339)
		}
		who := f.Subscriber.Email
		if who == "" {
			who = "(forgotten)" // erased since: the row stays, the person does not
		}
		fmt.Fprintf(w, "  %-8s %s attempts=%d%s: %s\n", f.State, who, f.Attempts, next, oneLine(f.LastReply))
	}
	if n := p.Failed + p.Retrying; n > int64(len(fails)) {
		fmt.Fprintf(w, "  … and %d more\n", n-int64(len(fails)))
	}
	return nil
}

// showDayWaves prints the waves of local-time digest d from the last 24
// hours with their progress, then the waves due in the next 24 hours with
// the subscribers their zones hold now.
func showDayWaves(ctx context.Context, w io.Writer, st *store.DB, d config.Digest, now time.Time) error {
	past, err := st.Waves(ctx, d.Name, now.Add(-24*time.Hour), now.Add(time.Nanosecond))
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nWaves, last 24 hours:")
	if len(past) == 0 {
		fmt.Fprintln(w, "  no waves in this range")
	}
	for _, ws := range past {
		e, p := ws.Edition, ws.Progress
		state := "sending"
		if !e.FinishedAt.IsZero() {
			state = "finished"
		}
		fmt.Fprintf(w, "  %s  %s  %d sent, %d skipped, %d failed, %d pending of %d  %s  %s\n",
			e.Cutoff.UTC().Format("2006-01-02 15:04 UTC"), e.Key, p.Sent, p.Skipped, p.Failed,
			p.Queued+p.InFlight+p.Retrying, p.Total(), state, zoneList(d, e.Zones, e.Cutoff))
	}
	counts, err := st.ZoneCounts(ctx, d.Name)
	if err != nil {
		return err
	}
	next, errs := digest.Waves(d, slices.Collect(maps.Keys(counts)), now, now.Add(24*time.Hour))
	fmt.Fprintln(w, "Next waves, coming 24 hours:")
	for _, err := range errs {
		fmt.Fprintf(w, "  skipped: %s\n", oneLine(err.Error()))
	}
	if len(next) == 0 {
		fmt.Fprintln(w, "  no waves in this range")
	}
	for _, wv := range next {
		n := reached(counts, wv.Zones)
		fmt.Fprintf(w, "  %s  due, %d %s  %s\n", wv.At.UTC().Format("2006-01-02 15:04 UTC"), n,
			config.Plural(int(n), "subscriber", "subscribers"), zoneList(d, wv.Zones, wv.At))
	}
	return nil
}

func runDigestPreview(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("digest preview", "digest preview NAME [--to EMAIL] [--format eml|html|text] [--out FILE]",
		"Render the next edition of digest NAME for one recipient: the subscriber with --to's address\n"+
			"when there is one, else a sample recipient. Nothing is recorded or sent.")
	to := fs.String("to", "", "recipient address (default a sample reader)")
	format := fs.String("format", "eml", "output: eml (the whole message), html or text (one part)")
	out := fs.String("out", "", "write to this file instead of standard output")
	pos, err := a.Args(fs, args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	if *format != "eml" && *format != "html" && *format != "text" {
		return a.fail(errUsage, "digest preview", "--format must be eml, html or text, got %q", *format)
	}
	env, err := a.digestEnv(ctx, name, true)
	if err != nil {
		return err
	}
	defer env.store.Close()

	now := a.Now()
	sent, err := env.store.SentArticles(ctx, name)
	if err != nil {
		return err
	}
	prev, err := env.store.LatestEdition(ctx, name)
	if errors.Is(err, subscribers.ErrNotFound) {
		prev, err = nil, nil
	}
	if err != nil {
		return err
	}
	picked, err := digest.Plan(env.d, env.arts, sent, prev, now)
	if err != nil {
		return err
	}
	if len(picked) == 0 {
		// Nothing is due: show what an edition looks like with the newest
		// matching articles, so templates can still be checked.
		picked = digest.Latest(env.d, env.arts, now)
		fmt.Fprintln(a.Stderr, "briefcast digest preview: nothing new is due; showing the newest articles instead")
	}
	ed := &email.Edition{Digest: env.d, Key: digest.EditionKey(now), Date: now, Articles: picked}

	r := email.Recipient{Email: "reader@example.org", Name: "Sample Reader"}
	var tags []string
	if *to != "" {
		r = email.Recipient{Email: *to}
		sub, err := env.store.GetByEmail(ctx, *to)
		switch {
		case err == nil:
			r = email.Recipient{ID: sub.ID, Email: sub.Email, Name: sub.Name, Timezone: sub.Timezone, TokenKey: sub.TokenKey}
			tags = sub.Tags
		case !errors.Is(err, subscribers.ErrNotFound):
			return err
		}
	}
	m, ok, err := env.composer.Digest(ed, r, tags)
	if err != nil {
		return err
	}
	if !ok {
		return a.fail(errFailed, "digest preview", "this recipient's tag filter leaves no article: they would get no message")
	}
	var body []byte
	if *format == "eml" {
		var b bytes.Buffer
		if _, err := m.Msg.WriteTo(&b); err != nil {
			return fmt.Errorf("render message: %w", err)
		}
		body = b.Bytes()
	} else {
		want := map[string]string{"html": "text/html", "text": "text/plain"}[*format]
		parts := m.Msg.GetParts()
		i := slices.IndexFunc(parts, func(p *gomail.Part) bool { return strings.HasPrefix(string(p.GetContentType()), want) })
		if i < 0 {
			return fmt.Errorf("the message has no %s part", want)
		}
		if body, err = parts[i].GetContent(); err != nil {
			return fmt.Errorf("render message: %w", err)
		}
	}
	if *out == "" {
		_, err = a.Stdout.Write(body)
		return err
	}
	if err := os.WriteFile(*out+".tmp", body, 0o644); err != nil {
		return err
	}
	return os.Rename(*out+".tmp", *out)
}

// ratePercent is n as a percentage of the messages sent.
func ratePercent(p editions.Progress, n int64) string {
	return fmt.Sprintf("%.2f%% of sent", 100*p.Rate(n))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
