package subscribers

import "time"

// listPage is how many rows the PostgreSQL List reads per keyset query:
// large enough that the per-query cost vanishes, small enough to keep
// memory flat.
const listPage = 2000

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
