package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBouncesParseCommand runs `briefcast bounces parse` on two fixture
// mails and a path that does not exist: both mails are printed, the error
// names the missing file, and the exit status is 1.
func TestBouncesParseCommand(t *testing.T) {
	fixtures := filepath.Join("..", "..", "bounces", "testdata")
	hard := filepath.Join(fixtures, "hard-qmail-two-recipients.eml")
	complaint := filepath.Join(fixtures, "complaint-arf-abuse.eml")
	missing := filepath.Join(t.TempDir(), "missing.eml")
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"bounces", "parse", hard, missing, complaint}, &stdout, &stderr, func(string) string { return "" })
	if code != 1 {
		t.Errorf("exit status = %d, want 1; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), missing) {
		t.Errorf("stderr does not name %s: %q", missing, stderr.String())
	}
	want := []string{
		`{"file":"` + hard + `","kind":"hard","recipient":"xia@example.com","status":"5.1.1",`,
		`{"file":"` + hard + `","kind":"soft","recipient":"yan@example.net","status":"5.2.2",`,
		`{"file":"` + complaint + `","kind":"complaint","recipient":"ada@example.com","status":"",`,
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), stdout.String())
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, want[i]) {
			t.Errorf("line %d = %s\nwant prefix %s", i+1, l, want[i])
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil || v["reason"] == "" {
			t.Errorf("line %d is not JSON with a reason: %v", i+1, err)
		}
	}
}

func TestBouncesParseUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"bounces", "parse"}, &stdout, &stderr, os.Getenv); code != 2 {
		t.Errorf("no FILE: exit status %d, want 2", code)
	}
	if code := Run(context.Background(), []string{"bounces", "process"}, &stdout, &stderr, os.Getenv); code != 2 {
		t.Errorf("unknown subcommand: exit status %d, want 2", code)
	}
}
