package subscribers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// forgottenStatus is the to_status of the last event of a forgotten
// subscriber. It is not a Status a subscriber can have.
const forgottenStatus Status = "forgotten"

func emptyCounts() map[Status]int64 {
	return map[Status]int64{Pending: 0, Active: 0, Unsubscribed: 0, Bounced: 0, Complained: 0}
}

// historyWindow returns midnight UTC of the first of days days ending
// today, and midnight after today.
func historyWindow(days int, now time.Time) (start, end time.Time) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	return today.AddDate(0, 0, -(days - 1)), today.AddDate(0, 0, 1)
}

// historyDays turns the active count before start and each day's net
// change into running totals.
func historyDays(start time.Time, base int64, deltas []int64) []DayCount {
	out := make([]DayCount, len(deltas))
	n := base
	for i, d := range deltas {
		n += d
		out[i] = DayCount{Day: start.AddDate(0, 0, i), Active: n}
	}
	return out
}

// listSpan is how many ids one List query covers.
const listSpan = 2000

// walkSpans reads (after, max] in spans of listSpan ids with workers
// goroutines and calls fn for each row in order, at most limit rows (0 = all).
func walkSpans(ctx context.Context, after, max int64, limit, workers int, fetch func(ctx context.Context, lo, hi int64) ([]*Subscriber, error), fn func(*Subscriber) error) error {
	type result struct {
		page []*Subscriber
		err  error
	}
	type span struct {
		lo, hi int64
		out    chan result
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	jobs := make(chan span)
	order := make(chan span, workers+1) // bounds the spans read ahead
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		for lo := after; lo < max; lo += listSpan {
			sp := span{lo: lo, hi: min(lo+listSpan, max), out: make(chan result, 1)}
			select {
			case order <- sp:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- sp:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sp := range jobs {
				page, err := fetch(ctx, sp.lo, sp.hi)
				sp.out <- result{page, err}
			}
		}()
	}
	seen := 0
	for sp := range order {
		var r result
		select {
		case r = <-sp.out:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return fmt.Errorf("subscribers: list: %w", r.err)
		}
		for _, sub := range r.page {
			if limit > 0 && seen == limit {
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

// listQuery builds List's query for both dialects: cols of the subscribers
// matching f, for one id span whose bounds are the last two parameters
// (id > lo AND id <= hi, appended by the caller after args), in id order
// when ordered (cols of an aggregate take the rows as scanned instead).
// placeholder writes the n-th parameter ("?" or "$n").
func listQuery(f Filter, cols string, ordered bool, placeholder func(n int) string) (q string, args []any) {
	var where []string
	from, idCol := `subscribers s`, "s.id"
	if f.Digest != "" {
		from = `subscriber_digests d JOIN subscribers s ON s.id = d.subscriber_id`
		idCol = "d.subscriber_id"
		args = append(args, f.Digest)
		where = append(where, "d.digest = "+placeholder(len(args)))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, "s.status = "+placeholder(len(args)))
	}
	where = append(where, idCol+" > "+placeholder(len(args)+1), idCol+" <= "+placeholder(len(args)+2))
	q = `SELECT ` + cols + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ")
	if ordered {
		q += ` ORDER BY ` + idCol
	}
	return q, args
}
