package main

import (
	"strings"
	"testing"
)

// TestCheckRefusesScheduleThatNeverRuns: a spec that parses but matches no
// date (30 February) fails check, naming the digest and the key, as
// `schedule` would only have shown "never" for it.
func TestCheckRefusesScheduleThatNeverRuns(t *testing.T) {
	path := checkConfig(t, 1, "[[digests]]\nname = \"leap\"\nschedule = \"0 7 30 2 *\"\n")
	code, out, errOut := runCheckCLI(t, nil, "--config", path, "check")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if want := "digests[0] (leap).schedule: never runs"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q lacks %q", errOut, want)
	}
}
