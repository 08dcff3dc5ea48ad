// Package digest turns a digest of config.toml into editions and delivers
// them: it picks the articles of each edition (Plan), records the edition
// and its recipients in the subscriber store, and sends one message per
// recipient over persistent connections with durable, crash-safe state
// (Sender).
package digest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/editions"
	"briefcast/scheduler"
)

// KeyLayout and KeyLayoutSeconds are the time layouts of edition keys:
// the cut-off in UTC, to the minute, or to the second when the cut-off is
// not on a whole minute.
const (
	KeyLayout        = "20060102T1504Z"
	KeyLayoutSeconds = "20060102T150405Z"
)

// MinGrace is the shortest look-back before the previous cut-off that Plan
// accepts late-added articles from.
const MinGrace = 7 * 24 * time.Hour

// EditionKey is the stable key of the edition of a digest due at cutoff:
// "20261125T0700Z", or "20261125T070012Z" for a cut-off not on a whole
// minute. Instances racing for one scheduled run compute the same key, so
// the store creates the edition once.
func EditionKey(cutoff time.Time) string {
	t := cutoff.UTC().Truncate(time.Second)
	if t.Second() == 0 {
		return t.Format(KeyLayout)
	}
	return t.Format(KeyLayoutSeconds)
}

// Plan picks the articles of the next edition of digest d due at cutoff:
// the newest max_items of those
//
//   - no earlier edition of the digest included (sent holds their ids);
//   - published at or before the cut-off;
//   - with one of the digest's tags (no tags takes every article);
//   - after the first edition, published after the previous edition's
//     cut-off minus a grace window of one schedule period or MinGrace,
//     whichever is longer.
//
// The first edition (prev is nil) has no age limit, so a new digest starts
// with the latest articles instead of "nothing new". The grace window lets
// an article dropped in late, dated before the previous cut-off, still go
// out, while an imported archive of old articles never floods an edition.
func Plan(d config.Digest, arts []*articles.Article, sent map[string]bool, prev *editions.Edition, cutoff time.Time) ([]*articles.Article, error) {
	period, err := Period(d, cutoff)
	if err != nil {
		return nil, err
	}
	first := prev == nil
	var after time.Time
	if !first {
		after = prev.Cutoff.Add(-max(period, MinGrace))
	}
	return newest(d, arts, func(a *articles.Article) bool {
		return !sent[a.ID] && !a.Published.After(cutoff) && (first || a.Published.After(after))
	}), nil
}

// Latest returns the newest articles of digest d published at or before
// cutoff, whether sent before or not, capped at max_items: what a preview
// shows when nothing new is due.
func Latest(d config.Digest, arts []*articles.Article, cutoff time.Time) []*articles.Article {
	return newest(d, arts, func(a *articles.Article) bool { return !a.Published.After(cutoff) })
}

// newest returns the articles of arts that keep takes and that carry one
// of d's tags, newest first, capped at max_items.
func newest(d config.Digest, arts []*articles.Article, keep func(*articles.Article) bool) []*articles.Article {
	var picked []*articles.Article
	for _, a := range arts {
		if a != nil && keep(a) && matchTags(d.Tags, a.Tags) {
			picked = append(picked, a)
		}
	}
	slices.SortStableFunc(picked, func(x, y *articles.Article) int {
		if c := y.Published.Compare(x.Published); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	if d.MaxItems > 0 && len(picked) > d.MaxItems {
		picked = picked[:d.MaxItems]
	}
	return picked
}

// ByID indexes articles by id, as Deliver takes them.
func ByID(arts []*articles.Article) map[string]*articles.Article {
	byID := make(map[string]*articles.Article, len(arts))
	for _, a := range arts {
		byID[a.ID] = a
	}
	return byID
}

// Period is the time between the last two scheduled runs of d at or before
// t, in the digest's time zone, as the scheduler runs it. A schedule with no
// two runs in about the last 400 days counts as daily.
func Period(d config.Digest, t time.Time) (time.Duration, error) {
	s, err := scheduler.ParseSchedule(d.Schedule, d.Location)
	if err != nil {
		return 0, fmt.Errorf("digest %s: schedule: %w", d.Name, err)
	}
	if every := s.Interval(); every > 0 {
		return every, nil
	}
	for _, back := range lookBacks {
		if last, ok := s.Latest(t.Add(-back), t, 0); ok {
			return periodBefore(s, last), nil
		}
	}
	return 24 * time.Hour, nil
}

// matchTags reports whether any of have is in want; an empty want matches
// everything. Article tags are already lower-case.
func matchTags(want, have []string) bool {
	return len(want) == 0 || slices.ContainsFunc(want, func(w string) bool {
		return slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(w, h) })
	})
}
