package main

import (
	"context"
	"fmt"

	"briefcast/config"
	"briefcast/editions"
)

// archiveEditions reads the editions the digest archives publish, when
// some digest has archive = true and the store is there. Without a store
// (a site with no subscribers yet, a build machine without the database)
// the site is built without archives, and note says why.
func archiveEditions(ctx context.Context, a *App, cfg *config.Config) (eds []*editions.Edition, note string) {
	if !cfg.Archived() {
		return nil, ""
	}
	st, why := openStoreIfExists(ctx, a, cfg)
	if st == nil {
		return nil, why
	}
	defer st.Close()
	eds, err := st.Editions(ctx, "", 0)
	if err != nil {
		return nil, fmt.Sprintf("the editions could not be read (%v)", err)
	}
	return eds, ""
}
