package subscribers_test

import (
	"testing"

	"briefcast/subscribers/storetest"
)

func TestTmpEditionsSQLite(t *testing.T)   { storetest.RunEditions(t, storetest.SQLite) }
func TestTmpEditionsPostgres(t *testing.T) { storetest.RunEditions(t, storetest.Postgres) }
