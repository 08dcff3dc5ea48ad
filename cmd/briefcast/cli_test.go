package main

import (
	"strings"
	"testing"
)

// TestConfigFlagAnywhere puts --config before the command, between a
// command group and its subcommand, and after the arguments.
func TestConfigFlagAnywhere(t *testing.T) {
	cfgPath := digestSite(t, `transport = "file"
outbox_dir = "data/outbox"`)
	t.Chdir(t.TempDir()) // no ./config.toml to fall back on
	for _, args := range [][]string{
		{"--config", cfgPath, "digest", "status", "daily"},
		{"digest", "--config", cfgPath, "status", "daily"},
		{"digest", "--config=" + cfgPath, "status", "daily"},
		{"digest", "status", "daily", "--config", cfgPath},
		{"digest", "status", "--config", cfgPath, "daily"},
	} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "digest daily: no edition yet") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	code, out, _ := runCLI(t, "subscribers", "--config", cfgPath, "list")
	if code != 0 {
		t.Errorf("subscribers --config X list: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "digest", "status", "daily", "--config"); code != 2 || !strings.Contains(errs, "--config needs a path") {
		t.Errorf("--config without a path: exit %d, stderr %q", code, errs)
	}
}

// TestHelpOnStdout: every form of --help prints its usage on stdout and
// exits 0, so `briefcast --help | less` works.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{
		{"--help"},
		{"-h"},
		{"help"},
		{"--config", "x.toml", "--help"},
		{"digest", "--help"},
		{"digest", "--config", "x.toml", "--help"},
		{"subscribers", "--help"},
		{"check", "--help"},
		{"serve", "--help"},
		{"digest", "send", "--help"},
	} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "Usage: briefcast") || errs != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if code, out, errs := runCLI(t, "--bogus"); code != 2 || out != "" || !strings.Contains(errs, "unknown flag --bogus") {
		t.Errorf("--bogus: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
