package subscribers

import (
	"context"
	"fmt"
)

// Open opens the store for driver ("sqlite" or "postgres") at dsn and applies
// any pending migrations.
func Open(ctx context.Context, driver, dsn string) (Store, error) {
	switch driver {
	case "sqlite":
		return OpenSQLite(ctx, dsn)
	case "postgres":
		return OpenPostgres(ctx, dsn)
	}
	return nil, fmt.Errorf("subscribers: unknown store driver %q (want \"sqlite\" or \"postgres\")", driver)
}
