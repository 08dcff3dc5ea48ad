package subscribers

import (
	"context"
	"errors"
)

// Open opens the store for driver ("sqlite" or "postgres") at dsn and applies
// any pending migrations.
func Open(ctx context.Context, driver, dsn string) (Store, error) {
	return nil, errors.New("subscribers: not implemented yet")
}
