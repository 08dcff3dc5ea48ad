package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// cliDSN is a delivery status notification (RFC 3464) saying that
// ann@example.org is unknown.
const cliDSN = "From: MAILER-DAEMON@mx.example.net\r\nTo: brief@example.org\r\nMessage-ID: <dsn-7@mx.example.net>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b7\"\r\n\r\n" +
	"--b7\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
	"--b7\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
	"Final-Recipient: rfc822;ann@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 user unknown\r\n" +
	"--b7--\r\n"

// TestBouncesProcess: each file is applied once, with one line saying what
// was recorded; the same file again changes nothing; a missing file is
// named on stderr while the others are still applied.
func TestBouncesProcess(t *testing.T) {
	e := mustSubsEnv(t)
	e.mustRun(t, 0, "subscribers", "add", "--digest", "daily", "ann@example.org")
	dsn := e.write(t, "dsn.eml", cliDSN)
	plain := e.write(t, "hello.eml", "From: a@example.net\r\nSubject: hi\r\n\r\nhello\r\n")

	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		getenv := func(k string) string {
			return map[string]string{"BRIEFCAST_CONFIG": e.config, "BRIEFCAST_SECRET": "0123456789abcdef0123456789abcdef"}[k]
		}
		code := Run(context.Background(), args, &out, &errOut, getenv)
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
