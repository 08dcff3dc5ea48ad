package subscribers

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations are numbered files, NNN_name.sql, applied in numeric order,
// each in its own transaction, and recorded in schema_migrations.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one embedded schema step.
type migration struct {
	Version int
	Name    string
	SQL     string
	// ForeignKeysOff: the SQLite step rebuilds a table that others
	// reference, so it runs with foreign key enforcement off (which only
	// works outside a transaction) and is checked before it commits. Its
	// file starts with the line "-- briefcast: foreign_keys off".
	ForeignKeysOff bool
}

// foreignKeysOff marks a migration that runs with foreign keys off.
const foreignKeysOff = "-- briefcast: foreign_keys off\n"

// loadMigrations reads the migrations of one dialect ("sqlite" or
// "postgres"), sorted by version.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("subscribers: read migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("subscribers: migration %s: name must be NNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("subscribers: migration %s: bad version number", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("subscribers: migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("subscribers: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{Version: v, Name: name, SQL: string(b), ForeignKeysOff: strings.HasPrefix(string(b), foreignKeysOff)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// SchemaVersion is the highest migration version this binary embeds for
// dialect ("sqlite" or "postgres"); 0 if there is none.
func SchemaVersion(dialect string) int {
	ms, err := loadMigrations(dialect)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// tooNew is the refusal for a database migrated by a newer binary.
func tooNew(db, binary int) error {
	return fmt.Errorf("%w: the database is at schema version %d but this binary knows only up to version %d; upgrade briefcast",
		ErrSchemaTooNew, db, binary)
}
