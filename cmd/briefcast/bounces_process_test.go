package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/textproto"
	"strings"
	"testing"

	"briefcast/bounces/record"
)

// tinyDSNParser reads the per-recipient fields of a minimal RFC 3464
// report, standing in for the bounces package's parser.
func tinyDSNParser(r io.Reader) ([]record.Finding, error) {
	var out []record.Finding
	var f record.Finding
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch textproto.CanonicalMIMEHeaderKey(k) {
		case "Final-Recipient":
			f = record.Finding{Recipient: strings.TrimPrefix(v, "rfc822;")}
		case "Status":
			f.Status = v
			f.Kind = map[byte]string{'5': "hard", '4': "soft"}[v[0]]
		case "Diagnostic-Code":
			f.Reason = v
			out = append(out, f)
		}
	}
	return out, sc.Err()
}

const cliDSN = "From: MAILER-DAEMON@mx.example.net\r\nTo: brief@example.org\r\nMessage-ID: <dsn-7@mx.example.net>\r\n\r\n" +
	"Final-Recipient: rfc822;ann@example.org\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 user unknown\r\n"

// TestBouncesProcess: each file is applied once, with one line saying what
// was recorded; the same file again changes nothing; a missing file is
// named on stderr while the others are still applied.
func TestBouncesProcess(t *testing.T) {
	old := parseBounce
	parseBounce = tinyDSNParser
	t.Cleanup(func() { parseBounce = old })
	e := mustSubsEnv(t)
	e.mustRun(t, 0, "subscribers", "add", "--digest", "daily", "ann@example.org")
	dsn := e.write(t, "dsn.eml", cliDSN)
	plain := e.write(t, "hello.eml", "From: a@example.net\r\nSubject: hi\r\n\r\nhello\r\n")

	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		getenv := func(k string) string {
			return map[string]string{"BRIEFCAST_CONFIG": e.config, "BRIEFCAST_SECRET": "0123456789abcdef0123456789abcdef"}[k]
		}
		code := Run(context.Background(), args, strings.NewReader(""), &out, &errOut, getenv)
		return out.String(), errOut.String(), code
	}
	out, errOut, code := run("bounces", "process", dsn, "missing.eml", plain)
	if code != 1 || !strings.Contains(errOut, "missing.eml") {
		t.Fatalf("exit %d, stderr %q: want 1 naming missing.eml", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "hard 5.1.1 ann@example.org: subscriber") || !strings.Contains(lines[0], "-> bounced") ||
		!strings.HasSuffix(lines[1], "no bounce found") {
		t.Fatalf("stdout:\n%s", out)
	}
	if out, _, code = run("bounces", "process", dsn); code != 0 || !strings.Contains(out, "already recorded, nothing changed") {
		t.Fatalf("second run: exit %d, stdout %q", code, out)
	}
	list, _ := e.mustRun(t, 0, "subscribers", "list", "--status", "bounced")
	if !strings.Contains(list, "ann@example.org") {
		t.Fatalf("bounced list:\n%s", list)
	}
}
