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
// store writes once; larger differences are methods branching on postgres.
type dialect struct {
	name      string // "sqlite" or "postgres"
	postgres  bool
	forUpdate string // locks a row read in a write transaction; SQLite needs none
	idList    string // a table, one column named value, of the ids in a jsonIDs parameter
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
	parts := strings.Split(query, "?")
	for i := 1; i < len(parts); i++ {
		parts[i] = "$" + strconv.Itoa(i) + parts[i]
	}
	return strings.Join(parts, "")
}

// t encodes a time for a column: unix microseconds on SQLite, timestamptz
// on PostgreSQL; NULL for the zero time.
func (d *dialect) t(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if d.postgres {
		return t.UTC()
	}
	return t.UnixMicro()
}

// timeCol scans a time column of either dialect (see dialect.t).
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
