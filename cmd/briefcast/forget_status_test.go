package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusAfterForget: digest status of a sent edition reads the same
// after one of its recipients is forgotten.
func TestStatusAfterForget(t *testing.T) {
	cfgPath := digestSite(t, `transport = "file"
outbox_dir = "data/outbox"`)
	mustImport(t, filepath.Dir(cfgPath), 2)
	if code, _, errs := runCLI(t, "--config", cfgPath, "digest", "send", "daily"); code != 0 {
		t.Fatalf("send exit %d: %s", code, errs)
	}
	_, before, _ := runCLI(t, "--config", cfgPath, "digest", "status", "daily")
	if !strings.Contains(before, "recipients 2\n") || !strings.Contains(before, "2 sent") {
		t.Fatalf("status after send:\n%s", before)
	}
	if code, _, errs := runCLI(t, "--config", cfgPath, "subscribers", "remove", "--forget", "reader0@example.net"); code != 0 {
		t.Fatalf("forget exit %d: %s", code, errs)
	}
	if _, after, _ := runCLI(t, "--config", cfgPath, "digest", "status", "daily"); after != before {
		t.Errorf("status changed after a recipient was forgotten:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
