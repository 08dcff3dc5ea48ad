package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is what differs between SQLite and PostgreSQL in the SQL the
// store writes once. The larger differences (the delivery claim, a group
// commit, the bulk insert of an import) are methods that branch on
// postgres, each in one place.
type dialect struct {
	name     string // "sqlite" or "postgres"
	postgres bool
	// forUpdate locks a row read inside a write transaction. SQLite runs
	// one write transaction at a time, so it needs none.
	forUpdate string
	// idList is a table of the ids in a JSON array parameter (see
	// jsonIDs), one column named value.
	idList string
}

var sqliteDialect = &dialect{
	name:   "sqlite",
	idList: `SELECT value FROM json_each(?)`,
}

var postgresDialect = &dialect{
	name:      "postgres",
	postgres:  true,
	forUpdate: ` FOR UPDATE`,
	idList:    `SELECT value::bigint AS value FROM json_array_elements_text(?::json)`,
}

// q turns the ? placeholders of a query into the dialect's: $1, $2, ... on
// PostgreSQL. Queries here hold no ? inside a literal.
func (d *dialect) q(query string) string {
	if !d.postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// t encodes a time for a column: unix microseconds in UTC on SQLite (see
// migrations/sqlite/001_subscribers.sql), timestamptz on PostgreSQL; NULL
// for the zero time. Both keep microseconds.
func (d *dialect) t(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if d.postgres {
		return t.UTC()
	}
	return t.UnixMicro()
}

// timeCol scans a time column of either dialect: unix microseconds
// (SQLite), a timestamptz (PostgreSQL), or NULL for the zero time.
type timeCol struct{ T time.Time }

// Scan implements sql.Scanner.
func (c *timeCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		c.T = time.Time{}
	case int64:
		c.T = time.UnixMicro(x).UTC()
	case time.Time:
		c.T = x.UTC()
	default:
		return fmt.Errorf("store: time column holds %T", v)
	}
	return nil
}

// isUnique reports whether err is a unique constraint violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// jsonIDs encodes ids as a JSON array for the dialect's idList.
func jsonIDs(ids []int64) string {
	b := make([]byte, 0, len(ids)*8+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// limitArg is a LIMIT parameter for limit, where limit <= 0 means none.
func limitArg(limit int) int64 {
	if limit <= 0 {
		return 1<<63 - 1
	}
	return int64(limit)
}
