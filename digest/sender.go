package digest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/editions"
	"briefcast/email"
	"briefcast/subscribers"
)

// Defaults of the Sender's tuning fields, used when a field is zero.
const (
	DefaultConnections = 4
	DefaultLease       = 2 * time.Minute
	DefaultBackoffBase = 30 * time.Second
	DefaultBackoffMax  = 30 * time.Minute
	DefaultRetryMaxAge = 48 * time.Hour
	DefaultPoll        = 5 * time.Second
)

// Sender creates editions and delivers them. Its fields are set once, before
// the first Run or Deliver; after that it is safe for concurrent use on
// different digests.
type Sender struct {
	Store     Store
	Composer  *email.Composer
	Transport email.Transport
	Log       *slog.Logger
	Now       func() time.Time // time.Now when nil

	Connections int    // connections sending in parallel (DefaultConnections when 0)
	Owner       string // names this process in delivery leases, uniquely (NewOwner when "")
	// RetryMaxAge bounds retries: a temporary failure whose next attempt
	// would come later than this after the edition's creation fails the
	// recipient instead.
	RetryMaxAge time.Duration
	// BackoffBase and BackoffMax shape the retry delay after a temporary
	// failure, BackoffBase·2^(attempts-1) capped at BackoffMax plus up to a
	// quarter of jitter, and pace reconnecting to a server that is down.
	BackoffBase, BackoffMax time.Duration
	// Lease is how long claimed deliveries stay reserved for this process.
	// One that waited more than half of it is left for its lease to
	// expire, rather than risk a second sender taking it over mid-send.
	Lease      time.Duration
	ClaimBatch int // the most deliveries one claim leases (64 per connection when 0)
	// SingleInstance says no other process can use the store (SQLite), so
	// a lease left in the edition is from a crashed run and is dropped.
	SingleInstance bool
	// NoWait makes Deliver return as soon as nothing is due, leaving
	// retries to a later run.
	NoWait bool
	// Poll is how often an idle Deliver looks for work made due by other
	// senders or expired leases (DefaultPoll when 0).
	Poll time.Duration
	// Progress, when set, is called about twice a second while delivering.
	Progress func(p editions.Progress)
	// OnCreated, when set, is called once this Sender has created an
	// edition, before anyone is sent it (the daemon publishes its archive
	// page, so the mail's "View in browser" link works).
	OnCreated func(ctx context.Context, d config.Digest, e *editions.Edition)
	// OnResult, when set, is called with every result once it is durable,
	// on the committing goroutine: keep it fast.
	OnResult func(r editions.Result)
}

// Options are the settings of a Sender that come from the config.
type Options struct {
	Connections    int           // [email.smtp] connections
	RetryMaxAge    time.Duration // [email] retry_max_age
	Lease          time.Duration // [email] delivery_lease
	SingleInstance bool          // no other process can use the store (SQLite)
}

// NewSender returns a Sender with o's settings and a fresh lease owner.
func NewSender(o Options, st Store, c *email.Composer, t email.Transport, log *slog.Logger) *Sender {
	return &Sender{
		Store:          st,
		Composer:       c,
		Transport:      t,
		Log:            log,
		Connections:    o.Connections,
		Owner:          NewOwner(),
		RetryMaxAge:    o.RetryMaxAge,
		Lease:          o.Lease,
		SingleInstance: o.SingleInstance,
	}
}

// Report sums up one Run or Deliver.
type Report struct {
	Edition          *editions.Edition // nil when nothing was due
	Created, Resumed bool              // this call created the edition, or continued an unfinished one
	Done             bool              // every delivery is settled and the edition marked finished
	Progress         editions.Progress // the edition's counts at the end
	// Sent, Retried, Failed and Skipped count what this call did.
	Sent, Retried, Failed, Skipped int64
	Commits                        int64 // transactions that recorded this call's results
}

// Summary is the one-line outcome printed by `briefcast digest send`.
func (r *Report) Summary() string {
	if r == nil || r.Edition == nil {
		return "nothing new: no edition"
	}
	p := r.Progress
	return fmt.Sprintf("edition %s: %d sent, %d failed, %d retrying, %d skipped, %d cancelled",
		r.Edition.Key, p.Sent, p.Failed, p.Retrying+p.Queued+p.InFlight, p.Skipped, p.Cancelled)
}

// Run makes sure the edition of digest d due at cutoff exists and delivers
// it; an unfinished edition of d is resumed instead (Report.Resumed; call
// Run again for the edition due now). With skip_empty and nothing new the
// Report has a nil Edition.
func (s *Sender) Run(ctx context.Context, d config.Digest, arts []*articles.Article, cutoff time.Time) (*Report, error) {
	e, err := s.Store.UnfinishedEdition(ctx, d.Name)
	switch {
	case err == nil:
		s.log().Info("digest_resume", "digest", d.Name, "edition", e.Key)
		rep, err := s.Deliver(ctx, d, e, ByID(arts))
		if rep != nil {
			rep.Resumed = true
		}
		return rep, err
	case !errors.Is(err, subscribers.ErrNotFound):
		return nil, fmt.Errorf("digest %s: unfinished edition: %w", d.Name, err)
	}
	if d.PerSubscriber() {
		// Never one edition for everyone: only the wave due at cutoff.
		return s.RunWave(ctx, d, arts, cutoff)
	}
	return s.RunDue(ctx, d, arts, cutoff)
}

// RunDue creates the edition of digest d due at cutoff and delivers it,
// helping deliver it when another process created it first. It is Run
// without the resume step, for the daemon, which resumes editions itself.
func (s *Sender) RunDue(ctx context.Context, d config.Digest, arts []*articles.Article, cutoff time.Time) (*Report, error) {
	byID := ByID(arts)
	sent, err := s.Store.SentArticles(ctx, d.Name)
	if err != nil {
		return nil, fmt.Errorf("digest %s: sent articles: %w", d.Name, err)
	}
	prev, err := s.Store.LatestEdition(ctx, d.Name)
	if errors.Is(err, subscribers.ErrNotFound) {
		prev, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("digest %s: latest edition: %w", d.Name, err)
	}
	picked, err := Plan(d, arts, sent, prev, cutoff)
	if err != nil {
		return nil, err
	}
	key := EditionKey(cutoff)
	if len(picked) == 0 && d.SkipsEmpty() {
		// Another instance may have created this very edition already.
		if e, err := s.Store.EditionByKey(ctx, d.Name, key); err == nil && e.FinishedAt.IsZero() {
			return s.Deliver(ctx, d, e, byID)
		}
		s.log().Info("digest_nothing_new", "digest", d.Name, "cutoff", cutoff)
		return &Report{}, nil
	}
	e := &editions.Edition{Digest: d.Name, Key: key, Cutoff: cutoff}
	for _, a := range picked {
		e.Articles = append(e.Articles, a.ID)
	}
	err = s.Store.CreateEdition(ctx, e)
	if errors.Is(err, editions.ErrExists) {
		// Another run (here or on another instance) created it first.
		if e, err = s.Store.EditionByKey(ctx, d.Name, key); err == nil {
			return s.helpDeliver(ctx, d, e, byID)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("digest %s: create edition %s: %w", d.Name, key, err)
	}
	s.log().Info("digest_edition_created", "digest", d.Name, "edition", e.Key, "articles", len(e.Articles), "recipients", e.Recipients)
	if s.OnCreated != nil {
		s.OnCreated(ctx, d, e)
	}
	return created(s.Deliver(ctx, d, e, byID))
}

// created marks the report of delivering an edition this call created.
func created(rep *Report, err error) (*Report, error) {
	if rep != nil {
		rep.Created = true
	}
	return rep, err
}

// Deliver delivers an existing edition until nothing is due, waiting for
// retries due before the edition's maximum age (unless NoWait), then marks
// it finished; an article missing from arts is left out. On cancellation
// it lets every connection record the message it is sending, hands back
// its claims and returns the context's error. A template that cannot be
// rendered is the operator's mistake: it stops the run with the recipients
// not yet sent still queued, and is checked before anyone is claimed.
func (s *Sender) Deliver(ctx context.Context, d config.Digest, e *editions.Edition, arts map[string]*articles.Article) (*Report, error) {
	ed := &email.Edition{ID: e.ID, Digest: d, Key: e.Key, Date: e.Cutoff}
	for _, id := range e.Articles {
		if a, ok := arts[id]; ok {
			ed.Articles = append(ed.Articles, a)
		} else {
			s.log().Warn("digest_article_missing", "digest", d.Name, "edition", e.Key, "article", id)
		}
	}
	if err := s.Composer.CheckEdition(ed); err != nil {
		s.log().Error("digest_render_failed", "digest", d.Name, "edition", e.Key, "err", err)
		return nil, fmt.Errorf("digest %s: edition %s: %w; nothing was sent, fix the template and run again to send it", d.Name, e.Key, err)
	}
	if s.SingleInstance {
		if err := s.Store.ReleaseClaims(ctx, e.ID); err != nil {
			return nil, fmt.Errorf("digest %s: release claims: %w", d.Name, err)
		}
	}
	r := s.newRun(d, e, ed)
	err := r.deliver(ctx)
	rep := r.rep // a copy, so the run can go
	rep.Edition = e
	// The final counts are read even after a cancel, so the caller can
	// print where the edition stands.
	bg := context.WithoutCancel(ctx)
	p, perr := s.Store.Progress(bg, e.ID)
	if perr != nil && err == nil {
		err = fmt.Errorf("digest %s: progress: %w", d.Name, perr)
	}
	rep.Progress = p
	if err == nil && p.Done() {
		done, ferr := s.Store.FinishEdition(bg, e.ID, s.now())
		if ferr != nil {
			return &rep, fmt.Errorf("digest %s: finish edition: %w", d.Name, ferr)
		}
		rep.Done = done
		if done {
			s.log().Info("digest_edition_done", "digest", d.Name, "edition", e.Key,
				"sent", p.Sent, "failed", p.Failed, "skipped", p.Skipped, "cancelled", p.Cancelled)
		}
	}
	if s.Progress != nil {
		s.Progress(p)
	}
	return &rep, err
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// NewOwner returns a lease owner name unique to this process.
func NewOwner() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
