package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"briefcast/config"
	"briefcast/progress"
	"briefcast/subscribers"
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
		return a.fail(errUsage, "subscribers list", "unknown --status %q", *status)
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
		return a.fail(errUsage, "subscribers export", "--format must be csv or json")
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
		return a.fail(errUsage, "subscribers "+cmd, "unknown --format %q", format)
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
		return a.fail(errUsage, "subscribers import", "--status must be active or pending, got %q", *newStatus)
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
