package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"briefcast/editions"
)

// noZone stands in editions.zones for the subscribers without a zone.
const noZone = "-"

// encodeZones writes a wave's zones for editions.zones.
func encodeZones(zones []string) string {
	out := make([]string, len(zones))
	for i, z := range zones {
		if z == "" {
			z = noZone
		}
		out[i] = z
	}
	return strings.Join(out, " ")
}

// decodeZones reads editions.zones back; nil for an edition to everyone.
func decodeZones(s string) []string {
	if s == "" {
		return nil
	}
	zs := strings.Fields(s)
	for i, z := range zs {
		if z == noZone {
			zs[i] = ""
		}
	}
	return zs
}

// SubscriberZones returns the distinct time zones of digest's active
// subscribers, "" for those without one, sorted.
func (s *DB) SubscriberZones(ctx context.Context, digest string) ([]string, error) {
	counts, err := s.ZoneCounts(ctx, digest)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(counts)), nil
}

// ZoneCounts counts digest's active subscribers by time zone, "" for
// those without one.
func (s *DB) ZoneCounts(ctx context.Context, digest string) (map[string]int64, error) {
	counts, err := s.counts(ctx, `SELECT s.timezone, COUNT(*)
		  FROM subscriber_digests d JOIN subscribers s ON s.id = d.subscriber_id
		 WHERE d.digest = ? AND s.status = 'active' GROUP BY s.timezone`, digest)
	if err != nil {
		return nil, fmt.Errorf("store: zones of %s: %w", digest, err)
	}
	return counts, nil
}

// CreateWave is CreateEdition for one wave of a local-time digest: its
// deliveries go to the active subscribers whose zone is in e.Zones (""
// for those without one) and who have no delivery of the digest from a
// wave cut off less than gap away, which keeps one who changes zone to
// one edition a day. Waves may share articles.
func (s *DB) CreateWave(ctx context.Context, e *editions.Edition, gap time.Duration) error {
	return s.createEdition(ctx, e, true, gap)
}

// EarlierArticles returns the ids of the articles of digest that earlier
// editions (by id, below editionID) sent or still mean to send to the
// subscriber: what a wave leaves out of their message.
func (s *DB) EarlierArticles(ctx context.Context, digest string, subscriberID, editionID int64) (map[string]bool, error) {
	got, err := s.set(ctx, `SELECT DISTINCT a.article_id
		  FROM deliveries p JOIN edition_articles a ON a.edition_id = p.edition_id
		 WHERE p.subscriber_id = ? AND a.digest = ? AND p.edition_id < ?
		   AND p.state IN ('queued', 'sent', 'retrying')`, subscriberID, digest, editionID)
	if err != nil {
		return nil, fmt.Errorf("store: earlier articles of subscriber %d in %s: %w", subscriberID, digest, err)
	}
	return got, nil
}

// LatestWave returns the newest wave of digest (by cut-off) whose zones
// include zone, or ErrNotFound.
func (s *DB) LatestWave(ctx context.Context, digest, zone string) (*editions.Edition, error) {
	if zone == "" {
		zone = noZone
	}
	return s.editionOne(ctx, "latest wave of "+digest+" in "+zone,
		`WHERE digest = ? AND (' ' || zones || ' ') LIKE ? ORDER BY cutoff DESC, id DESC LIMIT 1`, digest, "% "+zone+" %")
}

// WaveStatus is one wave and how far its delivery has gone, for `digest
// status` and /admin/.
type WaveStatus struct {
	Edition  *editions.Edition
	Progress editions.Progress
}

// Waves returns the waves of digest with a cut-off in [from, to), oldest
// first, each with its progress.
func (s *DB) Waves(ctx context.Context, digest string, from, to time.Time) ([]WaveStatus, error) {
	es, err := s.editionList(ctx, `WHERE digest = ? AND zones <> '' AND cutoff >= ? AND cutoff < ? ORDER BY cutoff, id`,
		digest, s.d.t(from), s.d.t(to))
	if err != nil {
		return nil, fmt.Errorf("store: waves of %s: %w", digest, err)
	}
	out := make([]WaveStatus, 0, len(es))
	for _, e := range es {
		p, err := s.Progress(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, WaveStatus{Edition: e, Progress: p})
	}
	return out, nil
}
