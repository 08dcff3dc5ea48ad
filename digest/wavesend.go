package digest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/editions"
	"briefcast/email"
)

// RunWave creates the wave of the send_at = "subscriber" digest d due at
// at, for the zones of d's subscribers whose local schedule time is at, and
// delivers it. With no zone due or nothing new it creates nothing (a nil
// Report.Edition); a wave another process created first it helps deliver.
func (s *Sender) RunWave(ctx context.Context, d config.Digest, arts []*articles.Article, at time.Time) (*Report, error) {
	byID := ByID(arts)
	key := EditionKey(at)
	if e, err := s.Store.EditionByKey(ctx, d.Name, key); err == nil {
		return s.helpDeliver(ctx, d, e, byID)
	}
	all, err := s.Store.SubscriberZones(ctx, d.Name)
	if err != nil {
		return nil, fmt.Errorf("digest %s: %w", d.Name, err)
	}
	zones, errs := WaveAt(d, all, at)
	for _, err := range errs {
		s.log().Warn("digest_zone_skipped", "digest", d.Name, "err", err)
	}
	if len(zones) == 0 {
		return &Report{}, nil
	}
	picked, gap, err := PlanWave(d, arts, zones, at)
	if err != nil {
		return nil, err
	}
	if len(picked) == 0 {
		s.log().Info("digest_nothing_new", "digest", d.Name, "cutoff", at, "zones", len(zones))
		return &Report{}, nil
	}
	e := &editions.Edition{Digest: d.Name, Key: key, Cutoff: at, Zones: zones}
	for _, a := range picked {
		e.Articles = append(e.Articles, a.ID)
	}
	err = s.Store.CreateWave(ctx, e, gap)
	if errors.Is(err, editions.ErrExists) {
		if e, err = s.Store.EditionByKey(ctx, d.Name, key); err != nil {
			return nil, fmt.Errorf("digest %s: wave %s: %w", d.Name, key, err)
		}
		return s.helpDeliver(ctx, d, e, byID)
	}
	if err != nil {
		return nil, fmt.Errorf("digest %s: create wave %s: %w", d.Name, key, err)
	}
	s.log().Info("digest_wave_created", "digest", d.Name, "edition", e.Key, "zones", len(zones),
		"articles", len(e.Articles), "recipients", e.Recipients)
	return created(s.Deliver(ctx, d, e, byID))
}

// helpDeliver delivers an edition another run created, unless it is
// already finished.
func (s *Sender) helpDeliver(ctx context.Context, d config.Digest, e *editions.Edition, byID map[string]*articles.Article) (*Report, error) {
	if !e.FinishedAt.IsZero() {
		p, err := s.Store.Progress(ctx, e.ID)
		return &Report{Edition: e, Done: true, Progress: p}, err
	}
	return s.Deliver(ctx, d, e, byID)
}

// editionFor returns the edition of res's recipient: the edition itself,
// or for a wave only the articles they have not had from an earlier edition
// of the digest (local-time delivery never sends an article twice). held
// says the store could not tell what they had: res is then a retry, never
// a guess.
func (r *run) editionFor(ctx context.Context, res *editions.Result) (ed *email.Edition, held bool) {
	if !r.e.Wave() {
		return r.ed, false
	}
	had, err := r.s.Store.EarlierArticles(ctx, r.d.Name, res.SubscriberID, r.e.ID)
	if err != nil {
		res.State, res.LastReply, res.At = editions.DeliveryRetrying, clip("earlier articles: "+err.Error()), r.s.now()
		res.NextAttempt = res.At.Add(r.s.BackoffBase)
		return nil, true
	}
	if len(had) == 0 {
		return r.ed, false
	}
	unsent := *r.ed
	unsent.Articles = slices.DeleteFunc(slices.Clone(r.ed.Articles), func(a *articles.Article) bool { return had[a.ID] })
	return &unsent, false
}
