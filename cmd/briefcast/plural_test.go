package main

import (
	"os"
	"strings"
	"testing"
)

// TestSubjectPlural: a subject template may say {{plural .Count "brief"
// "briefs"}}; check accepts it and one article gives "1 new brief".
func TestSubjectPlural(t *testing.T) {
	cfgPath := digestSite(t, `transport = "file"
outbox_dir = "data/outbox"`)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), `subject = "{{.Title}}"`,
		`subject = '{{.Count}} new {{plural .Count "brief" "briefs"}}'`, 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "--config", cfgPath, "check"); code != 0 {
		t.Fatalf("check exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, "--config", cfgPath, "digest", "preview", "daily", "--format", "eml")
	if code != 0 {
		t.Fatalf("preview exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Subject: 1 new brief\r\n") {
		t.Errorf("preview lacks the subject \"1 new brief\":\n%s", out)
	}
}
