package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
	"unicode"

	"briefcast/config"
	"briefcast/daemon"
	"briefcast/email"
	"briefcast/store"
	"briefcast/subscribers"
	"briefcast/tokens"
)

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
		return a.fail(errUsage, "subscribers add", "--resubscribe needs --reason TEXT saying why the address is taken back")
	case !o.resubscribe && o.reason != "":
		return a.fail(errUsage, "subscribers add", "--reason goes with --resubscribe")
	case len(o.reason) > maxReason || strings.IndexFunc(o.reason, unicode.IsControl) >= 0:
		return a.fail(errUsage, "subscribers add", "--reason must be one line of at most %d bytes", maxReason)
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
	t, err := email.NewTransport(email.TransportOptionsOf(cfg), a.Log)
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
