package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"briefcast/email/smtptest"
)

// checkConfig writes a config using the test fixtures' content and an SMTP
// server on port, and returns its path.
func checkConfig(t *testing.T, port int, extra string) string {
	t.Helper()
	dir := t.TempDir()
	content, err := filepath.Abs("testdata/content")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
[site]
title = "Check"
base_url = "https://example.org/"
content_dir = %q
[store]
dsn = "data/test.db"
[email.smtp]
host = "127.0.0.1"
port = %d
tls = "none"
username = "ops"
password_env = "CHECK_SMTP_PW"
%s`, content, port, extra)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCheckCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestCheckServices(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Username: "ops", Password: "right"})
	tests := []struct {
		name     string
		extra    string
		password string
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"content and store", "", "", nil, 0, "does not exist yet", ""},
		{"smtp login works", "", "right", []string{"--smtp"}, 0, "nothing sent", ""},
		{"smtp wrong password", "", "wrong", []string{"--smtp"}, 1, "", "email.smtp: 127.0.0.1:" + strconv.Itoa(srv.Port()) + " refused the session: 535"},
		{"bad schedule", "[[digests]]\nname = \"d\"\nschedule = \"99 * * * *\"\n", "", nil, 1, "", "digests[0] (d).schedule"},
		{"bad zone", "[[digests]]\nname = \"d\"\nschedule = \"@daily\"\ntimezone = \"Atlantis/Capital\"\n", "", nil, 1, "", "digests[0] (d).timezone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := checkConfig(t, srv.Port(), tt.extra)
			args := append([]string{"--config", path, "check"}, tt.args...)
			code, out, errOut := runCheckCLI(t, map[string]string{"CHECK_SMTP_PW": tt.password}, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stdout %q should hold %q; stderr %q should hold %q", out, tt.wantOut, errOut, tt.wantErr)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), "data")); !os.IsNotExist(err) {
				t.Errorf("check created the data folder: %v", err)
			}
		})
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("check sent %d messages", n)
	}
}

// TestCheckSMTPCannotConnect: with nothing listening, check --smtp says it
// cannot connect, naming the address, rather than "send failed".
func TestCheckSMTPCannotConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	path := checkConfig(t, port, "")
	code, out, errOut := runCheckCLI(t, map[string]string{"CHECK_SMTP_PW": "right"}, "--config", path, "check", "--smtp")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	want := "email.smtp: cannot connect to 127.0.0.1:" + strconv.Itoa(port) + ": "
	if !strings.Contains(errOut, want) || strings.Contains(errOut, "send failed") {
		t.Errorf("stderr %q, want it to hold %q and not \"send failed\"", errOut, want)
	}
}

// TestCheckRendersDigestTemplates makes check run every digest's templates:
// one that parses but cannot run must fail check, naming the digest and
// the template.
func TestCheckRendersDigestTemplates(t *testing.T) {
	tmplDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmplDir, "digest.txt"), []byte("{{range .Articles}}{{.Summary}}{{end}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const digests = "[[digests]]\nname = \"fine\"\nschedule = \"@daily\"\n" +
		"[[digests]]\nname = \"morning\"\nschedule = \"@daily\"\nsubject = \"{{.Titel}}\"\n"
	tests := []struct {
		name      string
		templates string   // site.templates_dir
		want      []string // in stderr
	}{
		{"subject", "", []string{"(morning)", "template subject", "Titel"}},
		{"body", tmplDir, []string{"(fine)", "(morning)", "template digest.txt", "Summary"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := checkConfig(t, 1, digests)
			if tt.templates != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				b = bytes.Replace(b, []byte("[site]\n"), []byte(fmt.Sprintf("[site]\ntemplates_dir = %q\n", tt.templates)), 1)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runCheckCLI(t, nil, "--config", path, "check")
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if strings.Contains(out, "email templates OK") {
				t.Errorf("stdout says the templates are fine: %q", out)
			}
		})
	}
}

// TestCheckStoreURIDSN: a SQLite DSN written as a file: URI with
// parameters names the same file as the plain path, so check pings the
// store there rather than calling it missing; one that is missing is
// still reported and not created.
func TestCheckStoreURIDSN(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	path := checkConfig(t, srv.Port(), "")
	dir := filepath.Dir(path)
	db := filepath.Join(dir, "data", "test.db")
	cfg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	uri := fmt.Sprintf(`dsn = "file:%s?_pragma=busy_timeout(5000)"`, db)
	if err := os.WriteFile(path, bytes.Replace(cfg, []byte(`dsn = "data/test.db"`), []byte(uri), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCheckCLI(t, nil, "--config", path, "check")
	if code != 0 || !strings.Contains(out, "does not exist yet") {
		t.Fatalf("missing store: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("check created the store: %v", err)
	}
	if code, out, errOut := runCheckCLI(t, nil, "--config", path, "subscribers", "list"); code != 0 {
		t.Fatalf("subscribers list: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCheckCLI(t, nil, "--config", path, "check")
	if code != 0 || !strings.Contains(out, "store (sqlite) answered") || strings.Contains(out, "does not exist yet") {
		t.Fatalf("existing store: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
