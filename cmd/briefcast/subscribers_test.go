package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// briefcastBin is the real binary, built once by TestMain for the tests
// that run it as an operator would.
var briefcastBin string

func TestMain(m *testing.M) {
	if lease := os.Getenv(serveLeaseEnv); lease != "" {
		os.Exit(serveWithLease(lease))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "briefcast-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	briefcastBin = filepath.Join(dir, "briefcast")
	out, err := exec.Command("go", "build", "-o", briefcastBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build briefcast: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// subsEnv is a temp folder with a config whose store is a fresh SQLite
// file (or the PostgreSQL URL given).
type subsEnv struct {
	dir, config, dsn string
}

func mustSubsEnv(t *testing.T) *subsEnv {
	t.Helper()
	dir := t.TempDir()
	e := &subsEnv{dir: dir, config: filepath.Join(dir, "config.toml"), dsn: filepath.Join(dir, "data", "subs.db")}
	cfg := `data_dir = "data"

[site]
title = "Test Brief"
base_url = "http://localhost:8080/"
language = "en"
timezone = "UTC"
content_dir = "content"
output_dir = "public"

[store]
driver = "sqlite"
dsn = "data/subs.db"

[email]
from = "Test Brief <brief@example.org>"
postal_address = "1 Example Street"
transport = "file"
outbox_dir = "data/outbox"

[[digests]]
name = "daily"
title = "Daily"
schedule = "0 7 * * *"
subject = "{{.Title}}"

[[digests]]
name = "weekly"
title = "Weekly"
schedule = "0 9 * * 1"
subject = "{{.Title}}"
`
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the binary and returns its stdout, stderr and exit status.
func (e *subsEnv) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(briefcastBin, args...)
	cmd.Dir = e.dir
	cmd.Env = []string{"BRIEFCAST_CONFIG=" + e.config, "BRIEFCAST_SECRET=0123456789abcdef0123456789abcdef", "HOME=" + e.dir}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// mustRun runs the binary and fails unless it exits with want.
func (e *subsEnv) mustRun(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := e.run(t, "", args...)
	if code != want {
		t.Fatalf("briefcast %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

func (e *subsEnv) write(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSubscribersHelp(t *testing.T) {
	e := mustSubsEnv(t)
	for _, sub := range []string{"add", "list", "remove", "import", "export"} {
		t.Run(sub, func(t *testing.T) {
			out, _ := e.mustRun(t, 0, "subscribers", sub, "--help")
			if !strings.Contains(out, "Usage: briefcast subscribers "+sub) {
				t.Errorf("help:\n%s", out)
			}
		})
	}
	out, _ := e.mustRun(t, 0, "subscribers", "--help")
	if !strings.Contains(out, "import FILE") {
		t.Errorf("help:\n%s", out)
	}
	e.mustRun(t, 2, "subscribers")
	e.mustRun(t, 2, "subscribers", "frobnicate")
	e.mustRun(t, 2, "subscribers", "add")
	e.mustRun(t, 2, "subscribers", "list", "--format", "xml")
	e.mustRun(t, 2, "subscribers", "list", "--status", "gone")
	e.mustRun(t, 2, "subscribers", "remove", "a@example.com", "b@example.com")
}

func TestSubscribersAddListRemove(t *testing.T) {
	e := mustSubsEnv(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"pending", []string{"add", "Ann@Example.COM", "--name", "Ann", "--digest", "daily"}, 0, "added Ann@example.com as pending"},
		{"active, flags first", []string{"add", "--active", "--tag", "space", "--tag", "science", "bob@example.com", "--timezone", "Asia/Tokyo"}, 0, "added bob@example.com as active"},
		{"again", []string{"add", "bob@EXAMPLE.com"}, 0, "already active"},
		{"confirm pending", []string{"add", "ann@example.com", "--active", "--digest", "weekly"}, 0, "re-subscribed Ann@example.com as active"},
		{"bad address", []string{"add", "not-an-address"}, 1, ""},
		{"unknown digest", []string{"add", "c@example.com", "--digest", "monthly"}, 1, ""},
		{"bad zone", []string{"add", "c@example.com", "--timezone", "Mars/Base"}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := e.run(t, "", append([]string{"subscribers"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("exit %d, want %d; stdout %q (want %q); stderr %q", code, tt.wantCode, out, tt.wantOut, errOut)
			}
			if code != 0 && errOut == "" {
				t.Error("failed without a message")
			}
		})
	}

	out, _ := e.mustRun(t, 0, "subscribers", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "Ann@example.com") ||
		!strings.Contains(lines[1], "weekly") || !strings.Contains(lines[2], "daily,weekly") {
		t.Errorf("table:\n%s", out)
	}
	out, _ = e.mustRun(t, 0, "subscribers", "list", "--digest", "daily", "--format", "csv")
	if want := "email,name,digests,tags,timezone,status\nbob@example.com,,daily;weekly,space;science,Asia/Tokyo,active\n"; out != want {
		t.Errorf("csv:\n%s\nwant:\n%s", out, want)
	}
	out, _ = e.mustRun(t, 0, "subscribers", "list", "--format", "json", "--status", "active")
	var n int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("json line %q: %v", line, err)
		}
		if v["source"] != "cli" || v["consent_at"] == nil {
			t.Errorf("json %v", v)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d JSON lines, want 2", n)
	}

	out, _ = e.mustRun(t, 0, "subscribers", "remove", "ANN@example.com")
	if !strings.Contains(out, "unsubscribed Ann@example.com") {
		t.Errorf("remove: %q", out)
	}
	out, _ = e.mustRun(t, 0, "subscribers", "list", "--status", "unsubscribed", "--format", "csv")
	if !strings.Contains(out, "Ann@example.com,Ann,weekly,,,unsubscribed") {
		t.Errorf("after remove:\n%s", out)
	}
	out, _ = e.mustRun(t, 0, "subscribers", "remove", "bob@example.com", "--forget")
	if !strings.Contains(out, "forgot") {
		t.Errorf("forget: %q", out)
	}
	_, errOut := e.mustRun(t, 1, "subscribers", "remove", "bob@example.com")
	if !strings.Contains(errOut, "no subscriber") {
		t.Errorf("remove unknown: %q", errOut)
	}
	out, _ = e.mustRun(t, 0, "subscribers", "list", "--format", "csv")
	if strings.Contains(out, "bob") {
		t.Errorf("forgotten address still listed:\n%s", out)
	}
	// A forgotten address is not brought back by an import.
	p := e.write(t, "back.csv", "email,status\nbob@example.com,active\n")
	out, _ = e.mustRun(t, 0, "subscribers", "import", p)
	if out != "added 0, updated 0, unchanged 0, suppressed 1, rejected 0\n" {
		t.Errorf("import forgotten: %q", out)
	}
}

func TestSubscribersImportExport(t *testing.T) {
	e := mustSubsEnv(t)
	csv := "\uFEFFemail,name,digests,status\r\n" +
		"one@example.com,One,daily,\r\n" +
		"two@example.com,\"Two, \"\"2\"\"\",daily;weekly,pending\r\n" +
		"bad@@example.com,Bad,,\r\n" +
		"ONE@example.com,Dup,,\r\n" +
		"three@example.com,,monthly,\r\n" +
		"\"four@example.com\",\"multi\nline\",,\r\n" +
		"five@bücher.example,Five,,active\r\n"
	p := e.write(t, "subs.csv", csv)
	out, errOut := e.mustRun(t, 0, "subscribers", "import", p)
	if out != "added 3, updated 0, unchanged 0, suppressed 0, rejected 4\n" {
		t.Errorf("stdout %q", out)
	}
	wantErr := []string{p + ":4: email:", p + ":5: email: duplicate of line 2", p + ":6: digests: unknown digest monthly", p + ":7: name:"}
	gotErr := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(gotErr) != len(wantErr) {
		t.Fatalf("stderr:\n%s", errOut)
	}
	for i, w := range wantErr {
		if !strings.HasPrefix(gotErr[i], w) {
			t.Errorf("stderr line %d = %q, want prefix %q", i, gotErr[i], w)
		}
	}
	if strings.Contains(errOut, "\r") || strings.Contains(errOut, "[=") {
		t.Error("progress bar drawn on a non-terminal")
	}
	// Again: nothing changes.
	out, _ = e.mustRun(t, 0, "subscribers", "import", p)
	if out != "added 0, updated 0, unchanged 3, suppressed 0, rejected 4\n" {
		t.Errorf("re-import: %q", out)
	}
	export, _ := e.mustRun(t, 0, "subscribers", "export")
	want := "email,name,digests,tags,timezone,status\n" +
		"one@example.com,One,daily,,,active\n" +
		"two@example.com,\"Two, \"\"2\"\"\",daily;weekly,,,pending\n" +
		"five@xn--bcher-kva.example,Five,,,,active\n"
	if export != want {
		t.Errorf("export:\n%s\nwant:\n%s", export, want)
	}
	// The export imports into another store unchanged.
	e2 := mustSubsEnv(t)
	p2 := e2.write(t, "export.csv", export)
	out, _ = e2.mustRun(t, 0, "subscribers", "import", p2)
	if out != "added 3, updated 0, unchanged 0, suppressed 0, rejected 0\n" {
		t.Errorf("import export: %q", out)
	}
	if again, _ := e2.mustRun(t, 0, "subscribers", "export"); again != export {
		t.Errorf("export after round trip:\n%s", again)
	}
	jsonOut, _ := e.mustRun(t, 0, "subscribers", "export", "--format", "json")
	if strings.Count(jsonOut, "\n") != 3 || !strings.Contains(jsonOut, `"source":"import"`) {
		t.Errorf("json export:\n%s", jsonOut)
	}

	// Files that cannot be read at all.
	_, errOut = e.mustRun(t, 1, "subscribers", "import", filepath.Join(e.dir, "missing.csv"))
	if errOut == "" {
		t.Error("no message for a missing file")
	}
	bad := e.write(t, "bad.csv", "mail,phone\nx@example.com,1\n")
	_, errOut = e.mustRun(t, 1, "subscribers", "import", bad)
	if !strings.Contains(errOut, `unknown column(s) "mail", "phone"`) {
		t.Errorf("bad header: %q", errOut)
	}
}
