package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSubscribersImportStatus: --status pending makes new rows without a
// status pending; a stored subscriber and a row with its own status keep
// theirs, and nobody is mailed.
func TestSubscribersImportStatus(t *testing.T) {
	e := mustSubsEnv(t)
	first := e.write(t, "first.csv", "email,digests\nold@example.com,daily\n")
	e.mustRun(t, 0, "subscribers", "import", first)

	p := e.write(t, "second.csv", "email,digests,status\n"+
		"old@example.com,daily,\n"+
		"new@example.com,daily,\n"+
		"own@example.com,daily,active\n")
	out, _ := e.mustRun(t, 0, "subscribers", "import", "--status", "pending", p)
	if out != "added 2, updated 0, unchanged 1, suppressed 0, rejected 0\n" {
		t.Errorf("import: %q", out)
	}
	export, _ := e.mustRun(t, 0, "subscribers", "export")
	want := "email,name,digests,tags,timezone,status\n" +
		"old@example.com,,daily,,,active\n" +
		"new@example.com,,daily,,,pending\n" +
		"own@example.com,,daily,,,active\n"
	if export != want {
		t.Errorf("export:\n%s\nwant:\n%s", export, want)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "data", "outbox")); !os.IsNotExist(err) {
		t.Errorf("import wrote mail: outbox %v", err)
	}
	e.mustRun(t, 2, "subscribers", "import", "--status", "bounced", p)
}
