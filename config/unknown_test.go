package config

import (
	"strconv"
	"strings"
	"testing"
)

// TestUnknownKeyLine: an unknown key is reported with its line and, inside
// [[digests]], the digest's index and name, even when name comes later.
func TestUnknownKeyLine(t *testing.T) {
	body := minimal + `
[[digests]]
name = "daily"
schedule = "@daily"

[[digests]]
schedule = "@weekly"
max_itmes = 5   # line 13
name = "weekly" # after the typo

[sitee]
title = "x"
"odd key".a = 1

[email.smtp]
prot = 25
`
	path := mustWrite(t, t.TempDir(), "config.toml", body)
	_, err := Load(path, nil)
	if err == nil {
		t.Fatal("got no error")
	}
	lineOf := func(s string) int {
		for i, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, s) {
				return i + 1
			}
		}
		t.Fatalf("no line %q", s)
		return 0
	}
	for _, want := range []string{
		path + ": line " + strconv.Itoa(lineOf("max_itmes")) + ": unknown key digests[1] (weekly).max_itmes",
		"line " + strconv.Itoa(lineOf("[sitee]")) + ": unknown table sitee",
		"line " + strconv.Itoa(lineOf("prot")) + ": unknown key email.smtp.prot",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "sitee.title") {
		t.Errorf("error %q names the keys of an unknown table one by one", err)
	}
}
