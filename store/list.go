package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"briefcast/subscribers"
)

// listPage is how many subscribers one List query reads.
const listPage = 1000

// List calls fn for each subscriber matching f, in id order; an error from
// fn stops it and is returned. It pages by keyset, reading the next page on
// another connection while fn works through the current one, whose query
// is closed first, so fn may use the store.
func (s *DB) List(ctx context.Context, f subscribers.Filter, fn func(*subscribers.Subscriber) error) error {
	q, args := s.listQuery(f)
	type result struct {
		page []*subscribers.Subscriber
		err  error
	}
	// read reads the page after an id on its own goroutine.
	read := func(after int64) <-chan result {
		out := make(chan result, 1)
		go func() {
			page := make([]*subscribers.Subscriber, 0, listPage)
			err := s.each(ctx, func(rows *sql.Rows) error {
				sub, err := scanSubscriber(rows)
				page = append(page, sub)
				return err
			}, q, append(args[:len(args):len(args)], after)...)
			out <- result{page, err}
		}()
		return out
	}
	next := read(f.AfterID)
	defer func() {
		if next != nil {
			<-next // no query outlives List
		}
	}()
	for seen := 0; next != nil; {
		r := <-next
		next = nil
		if r.err != nil {
			return fmt.Errorf("store: list: %w", r.err)
		}
		if len(r.page) == listPage {
			next = read(r.page[len(r.page)-1].ID)
		}
		for _, sub := range r.page {
			if f.Limit > 0 && seen == f.Limit {
				return nil
			}
			if err := fn(sub); err != nil {
				return err
			}
			seen++
		}
	}
	return ctx.Err()
}

// listQuery is List's query: the subscribers matching f after an id, the
// last parameter (appended by the caller after args), in id order.
func (s *DB) listQuery(f subscribers.Filter) (string, []any) {
	var args []any
	from, idCol, where := `subscribers s`, "s.id", ""
	if f.Digest != "" {
		from = `subscriber_digests d JOIN subscribers s ON s.id = d.subscriber_id`
		idCol = "d.subscriber_id"
		args = append(args, f.Digest)
		where += "d.digest = ? AND "
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where += "s.status = ? AND "
	}
	q := `SELECT ` + subscriberCols + ` FROM ` + from + ` WHERE ` + where + idCol + ` > ? ORDER BY ` + idCol +
		fmt.Sprintf(` LIMIT %d`, listPage)
	return q, args
}

// Counts returns how many subscribers there are in each status.
func (s *DB) Counts(ctx context.Context) (map[subscribers.Status]int64, error) {
	n, err := s.counts(ctx, `SELECT status, COUNT(*) FROM subscribers GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: counts: %w", err)
	}
	counts := map[subscribers.Status]int64{subscribers.Pending: 0, subscribers.Active: 0,
		subscribers.Unsubscribed: 0, subscribers.Bounced: 0, subscribers.Complained: 0}
	for st, c := range n {
		counts[subscribers.Status(st)] = c
	}
	return counts, nil
}

// History returns, for each of the last days days (oldest first, the last
// one being today in UTC), the number of active subscribers at the end of
// that day, computed from the event table.
func (s *DB) History(ctx context.Context, days int, now time.Time) ([]subscribers.DayCount, error) {
	if days <= 0 {
		return nil, nil
	}
	today := now.UTC().Truncate(24 * time.Hour) // midnight UTC: days since the zero time are whole
	start, end := today.AddDate(0, 0, -(days-1)), today.AddDate(0, 0, 1)
	// The day of an event: whole days since start, -1 for any before.
	day := `(at - ?) / 86400000000`
	if s.d.postgres {
		day = `floor(extract(epoch FROM at - ?::timestamptz) / 86400)::bigint`
	}
	var active int64 // before start, then at the end of each day
	deltas := make([]int64, days)
	err := s.each(ctx, func(rows *sql.Rows) error {
		var d, delta int64
		if err := rows.Scan(&d, &delta); err != nil {
			return err
		}
		if d < 0 {
			active += delta
		} else if d < int64(days) {
			deltas[d] += delta
		}
		return nil
	}, `SELECT CASE WHEN at < ? THEN -1 ELSE `+day+` END AS day,
		       CAST(SUM((CASE WHEN to_status = 'active' THEN 1 ELSE 0 END) - (CASE WHEN from_status = 'active' THEN 1 ELSE 0 END)) AS bigint)
		FROM subscriber_events WHERE at < ? AND (to_status = 'active' OR from_status = 'active')
		GROUP BY day`, s.d.t(start), s.d.t(start), s.d.t(end))
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	out := make([]subscribers.DayCount, days)
	for i, d := range deltas {
		active += d
		out[i] = subscribers.DayCount{Day: start.AddDate(0, 0, i), Active: active}
	}
	return out, nil
}
