package store

// SchemaVersion is the highest migration version this binary embeds for
// dialect ("sqlite" or "postgres"); 0 if there is none.
func SchemaVersion(dialect string) int {
	ms, err := loadMigrations(dialect)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
