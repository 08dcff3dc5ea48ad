package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"briefcast/config"
	"briefcast/daemon"
	"briefcast/email"
	"briefcast/progress"
	"briefcast/store"
	"briefcast/subscribers"
	"briefcast/tokens"
)

const subsCommands = `  add EMAIL      add a subscriber and mail them a confirmation link (or --active)
  list           list subscribers as a table, CSV or JSON Lines
  remove EMAIL   unsubscribe an address, or erase it with --forget
  import FILE    import a CSV file (columns email,name,digests,tags,timezone,status)
  export         write every subscriber to stdout as CSV or JSON Lines
`

// importBatch is how many rows one import transaction writes.
const importBatch = 2000

// unknownDigests says which of names are not digests of cfg, "" when
// all are.
func unknownDigests(cfg *config.Config, names []string) string {
	var bad []string
	for _, n := range names {
		if _, ok := cfg.Digest(n); !ok {
			bad = append(bad, n)
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("unknown digest %s (configured: %s)", strings.Join(bad, ", "), strings.Join(digestNames(cfg), ", "))
}

func digestNames(cfg *config.Config) []string {
	var names []string
	for _, d := range cfg.Digests {
		names = append(names, d.Name)
	}
	return names
}

func runSubsList(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("subscribers list", "subscribers list [--status S] [--digest D] [--format table|csv|json]",
		"List subscribers in id order, streaming: a table, CSV (the import format, formula-like cells\n"+
			"prefixed with ' as in export) or JSON Lines.")
	status := fs.String("status", "", "only this status: pending, active, unsubscribed, bounced or complained")
	digest := fs.String("digest", "", "only subscribers of this digest")
	format := fs.String("format", "table", "table, csv or json")
	if _, err := a.Args(fs, args, 0); err != nil {
		return err
	}
	if *status != "" && !subscribers.Status(*status).Valid() {
		fmt.Fprintf(a.Stderr, "briefcast subscribers list: unknown --status %q\n", *status)
		return errUsage
	}
	f := subscribers.Filter{Status: subscribers.Status(*status), Digest: *digest}
	return subsWrite(ctx, a, "list", *format, f)
}

func runSubsExport(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("subscribers export", "subscribers export [--format csv|json]",
		"Write every subscriber, status included, to stdout. The CSV can be read back by import; a cell\n"+
			"starting with =, +, -, @, a tab or a carriage return gets a leading ' so a spreadsheet shows it as\n"+
			"text instead of running it as a formula (import removes it). JSON Lines (one object per line)\n"+
			"keeps every value as stored and also carries ids, sources, consent and times.")
	format := fs.String("format", "csv", "csv or json")
	if _, err := a.Args(fs, args, 0); err != nil {
		return err
	}
	if *format == "table" {
		fmt.Fprintln(a.Stderr, "briefcast subscribers export: --format must be csv or json")
		return errUsage
	}
	return subsWrite(ctx, a, "export", *format, subscribers.Filter{})
}

// subsWriter is what list and export write rows with.
type subsWriter interface {
	Write(*subscribers.Subscriber) error
	Flush() error
}

func subsWrite(ctx context.Context, a *App, cmd, format string, f subscribers.Filter) error {
	var w subsWriter
	switch format {
	case "table":
		w = &tableWriter{w: a.Stdout}
	case "csv":
		w = subscribers.NewCSVWriter(a.Stdout)
	case "json":
		w = subscribers.NewJSONWriter(a.Stdout)
	default:
		fmt.Fprintf(a.Stderr, "briefcast subscribers %s: unknown --format %q\n", cmd, format)
		return errUsage
	}
	_, st, err := a.OpenConfigStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.List(ctx, f, w.Write); err != nil {
		return err
	}
	return w.Flush()
}

// tableWriter prints fixed-width columns as rows arrive (text/tabwriter
// would hold every row until the end).
type tableWriter struct {
	w      io.Writer
	header bool
}

func (t *tableWriter) Write(s *subscribers.Subscriber) error {
	if !t.header {
		t.header = true
		if _, err := fmt.Fprintf(t.w, "%-8s %-36s %-12s %-24s %s\n", "ID", "EMAIL", "STATUS", "DIGESTS", "NAME"); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(t.w, "%-8d %-36s %-12s %-24s %s\n", s.ID, s.Email, s.Status, strings.Join(s.Digests, ","), printable(s.Name))
	return err
}

func (t *tableWriter) Flush() error {
	if !t.header {
		_, err := fmt.Fprintln(t.w, "no subscribers")
		return err
	}
	return nil
}

// printable drops control characters, so a name cannot move the cursor or
// rewrite a terminal's title.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

func runSubsRemove(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("subscribers remove", "subscribers remove EMAIL [--forget]",
		"Unsubscribe an address (recorded with reason \"cli\"). With --forget, erase everything about the\n"+
			"person for an erasure request, keeping only a one-way hash so the address stays suppressed.")
	forget := fs.Bool("forget", false, "erase the subscriber's data (GDPR erasure), keeping only a hash")
	pos, err := a.Args(fs, args, 1)
	if err != nil {
		return err
	}
	_, st, err := a.OpenConfigStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var s *subscribers.Subscriber
	if *forget {
		err = st.Forget(ctx, pos[0])
	} else {
		s, err = st.GetByEmail(ctx, pos[0])
	}
	if errors.Is(err, subscribers.ErrNotFound) {
		return fmt.Errorf("no subscriber has the address %s", pos[0])
	}
	if err != nil {
		return err
	}
	if *forget {
		fmt.Fprintf(a.Stdout, "forgot %s: only a one-way hash is kept, so imports never add it again\n", pos[0])
		return nil
	}
	if s.Status == subscribers.Unsubscribed {
		fmt.Fprintf(a.Stdout, "%s was already unsubscribed\n", s.Email)
		return nil
	}
	if err := st.SetStatus(ctx, s.ID, subscribers.Unsubscribed, "cli"); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "unsubscribed %s\n", s.Email)
	return nil
}

func runSubsImport(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("subscribers import", "subscribers import FILE.csv [--status active|pending]",
		"Import subscribers from a CSV file with a header row; columns email,name,digests,tags,timezone,status\n"+
			"in any order, only email required, several digests or tags separated by ';'. Empty cells keep what\n"+
			"is stored; new subscribers without a status get --status (active by default). Import mails nobody:\n"+
			"pending rows get no confirmation mail and no digest until they sign up on the site. Suppressed (unsubscribed, bounced,\n"+
			"complained or forgotten) addresses are never reactivated: a row asking to is counted as\n"+
			"suppressed (its other cells still apply). Cells starting with a ' before =, +, -, @ (as export\n"+
			"writes them, so spreadsheets show no formula) are read without it. Each invalid row is reported on stderr\n"+
			"as FILE:LINE and skipped. Exit status 0 once the file was processed, even with rejected rows;\n"+
			"1 when it could not be read.")
	newStatus := fs.String("status", "active", "status of new subscribers whose row has none: active or pending")
	pos, err := a.Args(fs, args, 1)
	if err != nil {
		return err
	}
	if *newStatus != string(subscribers.Active) && *newStatus != string(subscribers.Pending) {
		fmt.Fprintf(a.Stderr, "briefcast subscribers import: --status must be active or pending, got %q\n", *newStatus)
		return errUsage
	}
	path := pos[0]
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	cfg, st, err := a.OpenConfigStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	bar := progress.New(a.Stderr, "importing", size)
	total, rejected, err := subscribers.ImportCSV(ctx, st, &progress.Reader{R: f, Bar: bar}, importBatch,
		func(r *subscribers.ImportRow) *subscribers.RowError {
			r.NewStatus = subscribers.Status(*newStatus)
			if msg := unknownDigests(cfg, r.Digests); msg != "" {
				return &subscribers.RowError{Line: r.Line, Field: "digests", Msg: msg}
			}
			return nil
		})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, r := range rejected {
		msg := r.Msg
		if r.Field != "" {
			msg = r.Field + ": " + msg
		}
		fmt.Fprintf(a.Stderr, "%s:%d: %s\n", path, r.Line, msg)
	}
	fmt.Fprintf(a.Stdout, "added %d, updated %d, unchanged %d, suppressed %d, rejected %d\n",
		total.Added, total.Updated, total.Unchanged, total.Suppressed, total.Rejected)
	return nil
}

// maxReason bounds the --reason of a re-subscription, as stored in the
// subscriber's history.
const maxReason = 300

// subsAddOpts are the flags of `subscribers add`.
type subsAddOpts struct {
	name        string
	digests     []string
	tags        []string
	tz          string
	active      bool
	resubscribe bool
	reason      string
	set         map[string]bool // the flags given
}

func runSubsAdd(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("subscribers add", "subscribers add EMAIL [--name N] [--digest D]... [--tag T]... [--timezone TZ] [--active] [--resubscribe --reason TEXT]",
		"Add a subscriber, or update the preferences of an existing one (what no flag says is kept).\n"+
			"A new subscriber without --digest gets every configured digest. Without --active they are pending\n"+
			"and are mailed the confirmation link the sign-up form sends; they get no digest until they follow it.\n"+
			"--active skips double opt-in, for addresses whose consent you already hold.\n"+
			"An unsubscribed, bounced or complained address is refused: it was the person's choice (or their\n"+
			"mailbox's). If they asked you to take them back, pass --resubscribe with --reason saying so; the\n"+
			"reason is kept in their history. An erased (forgotten) address can only come back by the person\n"+
			"signing up again on the site.")
	var o subsAddOpts
	fs.StringVar(&o.name, "name", "", "display name")
	fs.Func("digest", "digest `NAME` to receive (repeatable; default: every digest)", appendTo(&o.digests))
	fs.Func("tag", "only send articles with this `TAG` (repeatable)", appendTo(&o.tags))
	fs.StringVar(&o.tz, "timezone", "", "IANA time zone, e.g. Europe/Berlin")
	fs.BoolVar(&o.active, "active", false, "make the subscriber active at once (you hold their consent)")
	fs.BoolVar(&o.resubscribe, "resubscribe", false, "take back an unsubscribed, bounced or complained address (needs --reason)")
	fs.StringVar(&o.reason, "reason", "", "why the address is taken back, e.g. \"asked by email on 2026-03-02\" (with --resubscribe)")
	pos, err := a.Args(fs, args, 1)
	if err != nil {
		return err
	}
	o.reason = strings.TrimSpace(o.reason)
	if err := o.checkReason(a); err != nil {
		return err
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	addr, err := subscribers.NormalizeEmail(pos[0])
	if err != nil {
		return fmt.Errorf("invalid address: %w", err)
	}
	cfg, st, err := a.OpenConfigStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	old, err := addTarget(ctx, cfg, st, addr, &o)
	if err != nil {
		return err
	}
	s, outcome, err := subsAddWrite(ctx, a, st, addr, old, &o)
	if err != nil {
		return err
	}
	switch {
	case outcome == subscribers.Unchanged:
		fmt.Fprintf(a.Stdout, "%s is already active; preferences updated\n", s.Email)
		return nil
	case s.Status != subscribers.Pending:
		fmt.Fprintf(a.Stdout, "%s %s as %s\n", verb(outcome), s.Email, s.Status)
		return nil
	}
	fmt.Fprintf(a.Stdout, "%s %s as pending: they receive no digest until they follow the confirmation link\n", verb(outcome), s.Email)
	where, err := mailConfirmation(ctx, a, cfg, s)
	if err != nil {
		return fmt.Errorf("%s is pending, but the confirmation could not be sent: %w; run the command again to send it", s.Email, err)
	}
	fmt.Fprintf(a.Stdout, "mailed the confirmation link to %s (%s)\n", s.Email, where)
	return nil
}

// appendTo is the Set of a flag that may be repeated.
func appendTo(list *[]string) func(string) error {
	return func(v string) error {
		*list = append(*list, v)
		return nil
	}
}

// checkReason checks that --resubscribe and --reason come together.
func (o *subsAddOpts) checkReason(a *App) error {
	switch {
	case o.resubscribe && o.reason == "":
		fmt.Fprintln(a.Stderr, "briefcast subscribers add: --resubscribe needs --reason TEXT saying why the address is taken back")
		return errUsage
	case !o.resubscribe && o.reason != "":
		fmt.Fprintln(a.Stderr, "briefcast subscribers add: --reason goes with --resubscribe")
		return errUsage
	case len(o.reason) > maxReason || strings.IndexFunc(o.reason, unicode.IsControl) >= 0:
		fmt.Fprintf(a.Stderr, "briefcast subscribers add: --reason must be one line of at most %d bytes\n", maxReason)
		return errUsage
	}
	return nil
}

// addTarget looks up what is stored for addr (nil when nothing is), refuses
// to undo the person's choice unless told to, and fills in o from the
// stored preferences a flag does not override.
func addTarget(ctx context.Context, cfg *config.Config, st *store.DB, addr string, o *subsAddOpts) (*subscribers.Subscriber, error) {
	old, err := st.GetByEmail(ctx, addr)
	switch {
	case errors.Is(err, subscribers.ErrNotFound):
		old = nil
		gone, err := st.Suppressed(ctx, addr)
		if err != nil {
			return nil, err
		}
		if gone {
			return nil, fmt.Errorf("%s was erased at the person's request (forgotten): only they can bring it back, by signing up again on the site", addr)
		}
		if len(o.digests) == 0 {
			o.digests = digestNames(cfg)
		}
	case err != nil:
		return nil, err
	default:
		if !o.set["digest"] {
			o.digests = old.Digests
		}
		if !o.set["tag"] {
			o.tags = old.Tags
		}
		if !o.set["timezone"] {
			o.tz = old.Timezone
		}
	}
	suppressed := old != nil && old.Status.Suppressed()
	switch {
	case suppressed && !o.resubscribe:
		return nil, fmt.Errorf("%s is %s%s: adding it would undo %s; if they asked to come back, run again with --resubscribe --reason TEXT",
			old.Email, old.Status, since(old), whose[old.Status])
	case !suppressed && o.resubscribe:
		status := "new"
		if old != nil {
			status = string(old.Status)
		}
		return nil, fmt.Errorf("%s is %s, not unsubscribed, bounced or complained: leave out --resubscribe and --reason", addr, status)
	}
	if msg := unknownDigests(cfg, o.digests); msg != "" {
		return nil, errors.New(msg)
	}
	return old, nil
}

// since says from when a suppressed subscriber has been so, when known.
func since(s *subscribers.Subscriber) string {
	t := s.UnsubscribedAt
	if t.IsZero() {
		t = s.UpdatedAt
	}
	if t.IsZero() {
		return ""
	}
	return " since " + t.UTC().Format(time.DateOnly)
}

// whose names what each suppressed status records.
var whose = map[subscribers.Status]string{
	subscribers.Unsubscribed: "their choice to leave",
	subscribers.Bounced:      "their mail server's refusal",
	subscribers.Complained:   "their spam report",
}

// subsAddWrite writes the subscriber. A re-subscription first moves the
// suppressed subscriber back to pending with an event carrying the
// operator's reason, then signs them up like any pending address.
func subsAddWrite(ctx context.Context, a *App, st *store.DB, addr string, old *subscribers.Subscriber, o *subsAddOpts) (*subscribers.Subscriber, subscribers.Outcome, error) {
	if o.resubscribe {
		if err := st.SetStatus(ctx, old.ID, subscribers.Pending, "resubscribed by the operator: "+o.reason); err != nil {
			return nil, "", err
		}
	}
	req := subscribers.SubscribeRequest{
		Email: addr, Name: o.name, Digests: o.digests, Tags: o.tags, Timezone: o.tz,
		Active: o.active, Source: subscribers.SourceCLI,
	}
	if o.active {
		req.ConsentAt = a.Now().UTC()
		req.ConsentText = "added as active by the operator (briefcast subscribers add --active)"
	}
	if o.resubscribe {
		req.ConsentAt = a.Now().UTC()
		req.ConsentText = "resubscribed by the operator: " + o.reason
	}
	s, outcome, err := st.Subscribe(ctx, req)
	if err != nil || outcome == subscribers.Created {
		return s, outcome, err
	}
	// A sign-up leaves a stored subscriber's choices alone; the operator's
	// flags are applied here instead.
	p := subscribers.Preferences{Digests: o.digests, Tags: o.tags, Timezone: o.tz}
	if err := st.UpdatePreferences(ctx, s.ID, p); err != nil {
		return nil, "", err
	}
	return s, outcome, nil
}

func verb(o subscribers.Outcome) string {
	if o == subscribers.Created {
		return "added"
	}
	return "re-subscribed"
}

// mailConfirmation sends s the double opt-in message the sign-up form
// sends, composed by the same Composer, with a link signed with the site's
// secret, over the configured transport. It returns where the message
// went, for the operator.
func mailConfirmation(ctx context.Context, a *App, cfg *config.Config, s *subscribers.Subscriber) (string, error) {
	composer, signer, err := daemon.NewComposer(cfg, a.Log)
	if err != nil {
		return "", err
	}
	tok := signer.Sign(tokens.Confirm, s.ID, s.TokenKey, a.Now().Add(cfg.Subscriptions.ConfirmTTL.Duration))
	msg, err := composer.Confirmation(email.Recipient{ID: s.ID, Email: s.Email, Timezone: s.Timezone, TokenKey: s.TokenKey}, email.ConfirmURL(cfg.Site.BaseURL, tok))
	if err != nil {
		return "", err
	}
	t, err := daemon.NewTransport(cfg, a.Log)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := t.Open(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.Send(ctx, msg); err != nil {
		return "", err
	}
	if cfg.Email.Transport == "smtp" {
		return fmt.Sprintf("through %s:%d", cfg.Email.SMTP.Host, cfg.Email.SMTP.Port), nil
	}
	return "written to the outbox " + cfg.Email.OutboxDir, nil
}
