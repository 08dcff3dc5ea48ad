package digest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"briefcast/config"
	"briefcast/editions"
	"briefcast/email"
	"briefcast/email/smtptest"
	"briefcast/subscribers"
	"briefcast/templates"
	"briefcast/tokens"
)

// composerWith builds a composer for cfg whose digest.txt is text.
func composerWith(t *testing.T, cfg *config.Config, text string) *email.Composer {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, email.DigestText), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tokens.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := email.NewComposer(email.OptionsOf(cfg), fsys, signer)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRunBrokenSubject sends with a subject that parses but cannot be
// rendered: the run must fail before any recipient is recorded, leave the
// edition to resume, and the run after the fix must send it to everyone.
func TestRunBrokenSubject(t *testing.T) {
	f := newFixture(t, 8, smtptest.Options{})
	ctx := context.Background()
	d := f.cfg.Digests[0]
	d.Subject = "{{.Titel}}"
	broken := *f.cfg
	broken.Digests = []config.Digest{d}
	s := f.sender(t)
	s.Composer = mustComposer(t, &broken)
	rep, err := s.Run(ctx, d, testArticles(), cutoff)
	var re *email.RenderError
	if !errors.As(err, &re) || re.Digest != "daily" || re.Template != "subject" {
		t.Fatalf("Run with a broken subject: %+v, %v; want a RenderError of daily's subject", rep, err)
	}
	e, err := f.store.UnfinishedEdition(ctx, "daily")
	if err != nil {
		t.Fatalf("no unfinished edition left to resume: %v", err)
	}
	if p, err := f.store.Progress(ctx, e.ID); err != nil || p != (editions.Progress{Queued: 8}) {
		t.Errorf("progress %+v (%v), want all 8 still queued", p, err)
	}
	if n := f.srv.Count(); n != 0 {
		t.Errorf("%d messages sent", n)
	}

	// Fixed: the same edition goes to everyone.
	rep, err = f.sender(t).Run(ctx, f.cfg.Digests[0], testArticles(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Resumed || rep.Edition.ID != e.ID {
		t.Errorf("the fixed run did not resume edition %d: %+v", e.ID, rep)
	}
	f.check(t, rep, want{})
}

// TestDeliverRenderErrorMidRun uses a body template that fails only for a
// recipient whose tag filter leaves one article: the check before the run
// passes, the run stops at that recipient without marking them failed, and
// the run after the fix sends every recipient exactly once.
func TestDeliverRenderErrorMidRun(t *testing.T) {
	f := newFixture(t, 12, smtptest.Options{})
	ctx := context.Background()
	d := f.cfg.Digests[0]
	if err := f.store.UpdatePreferences(ctx, f.subs[5].ID, subscribers.Preferences{Digests: []string{"daily"}, Tags: []string{"energy"}}); err != nil {
		t.Fatal(err)
	}
	s := f.sender(t)
	s.Composer = composerWith(t, f.cfg, "{{(index .Articles 1).Title}}\n{{.UnsubscribeURL}}\n")
	_, err := s.Run(ctx, d, testArticles(), cutoff)
	var re *email.RenderError
	if !errors.As(err, &re) || re.Template != email.DigestText {
		t.Fatalf("Run: %v, want a RenderError of %s", err, email.DigestText)
	}
	e, err := f.store.UnfinishedEdition(ctx, "daily")
	if err != nil {
		t.Fatalf("no unfinished edition: %v", err)
	}
	p, err := f.store.Progress(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Failed != 0 || p.InFlight != 0 || p.Queued+p.Retrying == 0 {
		t.Errorf("progress %+v: want nobody failed or leased, subscriber 5 still due", p)
	}
	if got := f.received()[f.subs[5].Email]; got != 0 {
		t.Errorf("subscriber 5 received %d messages", got)
	}

	rep, err := f.sender(t).Run(ctx, d, testArticles(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, rep, want{})
}
