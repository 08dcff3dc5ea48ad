package main

import (
	"context"
	"io"
	"mime/quotedprintable"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"briefcast/store"
	"briefcast/subscribers"
	"briefcast/tokens"
)

// subsSecret is the BRIEFCAST_SECRET subsEnv.run passes.
const subsSecret = "0123456789abcdef0123456789abcdef"

// openStore opens the environment's SQLite store directly.
func (e *subsEnv) openStore(t *testing.T) *store.DB {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// confirmations returns the confirmation messages in the file outbox, each
// decoded from quoted-printable.
func (e *subsEnv) confirmations(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(e.dir, "data", "outbox", "confirm", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(fh))
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, string(b))
	}
	return out
}

var confirmLink = regexp.MustCompile(`https?://[^\s"<>]+/confirm\?token=([^\s"<>&]+)`)

// TestSubscribersAddMailsConfirmation adds a subscriber without --active:
// they stay pending, so the command must mail them the confirmation the
// sign-up form sends, with a link the site accepts, and say so.
func TestSubscribersAddMailsConfirmation(t *testing.T) {
	e := mustSubsEnv(t)
	out, _ := e.mustRun(t, 0, "subscribers", "add", "new@example.com", "--name", "New Reader")
	if !strings.Contains(out, "added new@example.com as pending") || !strings.Contains(out, "mailed the confirmation link to new@example.com") {
		t.Errorf("stdout %q does not say the confirmation was mailed", out)
	}
	msgs := e.confirmations(t)
	if len(msgs) != 1 {
		t.Fatalf("%d confirmation messages in the outbox, want 1", len(msgs))
	}
	if !strings.Contains(msgs[0], "To: <new@example.com>") || strings.Contains(msgs[0], "New Reader") {
		t.Errorf("message is not addressed to the subscriber:\n%s", msgs[0])
	}
	m := confirmLink.FindStringSubmatch(msgs[0])
	if m == nil {
		t.Fatalf("no confirmation link in:\n%s", msgs[0])
	}
	tok, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tokens.NewSigner([]byte(subsSecret))
	if err != nil {
		t.Fatal(err)
	}
	sub, gerr := e.openStore(t).GetByEmail(context.Background(), "new@example.com")
	if gerr != nil {
		t.Fatal(gerr)
	}
	id, err := signer.Verify(tokens.Confirm, tok, time.Now(), func(int64) ([]byte, error) { return sub.TokenKey, nil })
	if err != nil || gerr != nil || id != sub.ID || sub.Status != subscribers.Pending {
		t.Errorf("link token gives id %d (%v); subscriber %+v (%v)", id, err, sub, gerr)
	}
	// An active subscriber is mailed nothing.
	e.mustRun(t, 0, "subscribers", "add", "kept@example.com", "--active")
	if n := len(e.confirmations(t)); n != 1 {
		t.Errorf("%d confirmation messages after adding an active subscriber, want still 1", n)
	}
}

// TestSubscribersAddRespectsChoice checks that add never silently undoes an
// unsubscribe, a bounce, a complaint or an erasure, that --resubscribe
// --reason does and records why, and that import counts such rows apart.
func TestSubscribersAddRespectsChoice(t *testing.T) {
	e := mustSubsEnv(t)
	for _, a := range []string{"unsub@example.com", "bounce@example.com", "spam@example.com", "erased@example.com"} {
		e.mustRun(t, 0, "subscribers", "add", a, "--active", "--digest", "daily")
	}
	e.mustRun(t, 0, "subscribers", "remove", "unsub@example.com")
	e.mustRun(t, 0, "subscribers", "remove", "erased@example.com", "--forget")
	ctx := context.Background()
	st := e.openStore(t)
	for addr, status := range map[string]subscribers.Status{"bounce@example.com": subscribers.Bounced, "spam@example.com": subscribers.Complained} {
		s, err := st.GetByEmail(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetStatus(ctx, s.ID, status, "test"); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := e.mustRun(t, 0, "subscribers", "export")

	refused := []struct{ addr, status string }{
		{"unsub@example.com", "is unsubscribed"},
		{"bounce@example.com", "is bounced"},
		{"spam@example.com", "is complained"},
		{"erased@example.com", "forgotten"},
	}
	for _, tt := range refused {
		for _, extra := range [][]string{{"--active"}, nil, {"--active", "--name", "X", "--digest", "weekly"}} {
			t.Run(tt.addr+" "+strings.Join(extra, " "), func(t *testing.T) {
				_, errOut := e.mustRun(t, 1, append([]string{"subscribers", "add", tt.addr}, extra...)...)
				if !strings.Contains(errOut, tt.status) {
					t.Errorf("stderr %q does not name the status (%q)", errOut, tt.status)
				}
			})
		}
	}
	if after, _ := e.mustRun(t, 0, "subscribers", "export"); after != before {
		t.Errorf("a refused add changed the store:\n%s\nthen\n%s", before, after)
	}
	if n := len(e.confirmations(t)); n != 0 {
		t.Errorf("%d confirmations mailed to suppressed addresses", n)
	}

	// Import reports the rows it refused to reactivate apart.
	p := e.write(t, "back.csv", "email,status\nunsub@example.com,active\nbounce@example.com,pending\nerased@example.com,active\nspam@example.com,\nfresh@example.com,\n")
	out, _ := e.mustRun(t, 0, "subscribers", "import", p)
	if out != "added 1, updated 0, unchanged 1, suppressed 3, rejected 0\n" {
		t.Errorf("import: %q", out)
	}

	// --resubscribe needs a reason; it is recorded with the change.
	e.mustRun(t, 2, "subscribers", "add", "unsub@example.com", "--active", "--resubscribe")
	e.mustRun(t, 2, "subscribers", "add", "unsub@example.com", "--active", "--reason", "asked")
	_, errOut := e.mustRun(t, 1, "subscribers", "add", "erased@example.com", "--active", "--resubscribe", "--reason", "asked")
	if !strings.Contains(errOut, "forgotten") {
		t.Errorf("re-subscribing an erased address: %q", errOut)
	}
	out, _ = e.mustRun(t, 0, "subscribers", "add", "unsub@example.com", "--active", "--resubscribe", "--reason", "asked by email on 2026-03-02")
	if !strings.Contains(out, "re-subscribed unsub@example.com as active") {
		t.Errorf("resubscribe --active: %q", out)
	}
	s, err := st.GetByEmail(ctx, "unsub@example.com")
	if err != nil || s.Status != subscribers.Active {
		t.Fatalf("after resubscribe: %+v, %v", s, err)
	}
	evs, err := st.Events(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		if ev.From == subscribers.Unsubscribed && strings.Contains(ev.Reason, "asked by email on 2026-03-02") {
			found = true
		}
	}
	if !found {
		t.Errorf("no event records the reason: %+v", evs)
	}
	// Without --active the taken-back address is pending and mailed.
	out, _ = e.mustRun(t, 0, "subscribers", "add", "bounce@example.com", "--resubscribe", "--reason", "new mailbox works again")
	if !strings.Contains(out, "as pending") || !strings.Contains(out, "mailed the confirmation link") {
		t.Errorf("resubscribe pending: %q", out)
	}
	if n := len(e.confirmations(t)); n != 1 {
		t.Errorf("%d confirmations, want 1", n)
	}
	// --resubscribe on an address that is not suppressed is a mistake.
	_, errOut = e.mustRun(t, 1, "subscribers", "add", "unsub@example.com", "--resubscribe", "--reason", "again")
	if !strings.Contains(errOut, "is active") {
		t.Errorf("resubscribe of an active address: %q", errOut)
	}
}

// TestSubscribersCSVFormulas checks that list --format csv and export
// neutralise cells a spreadsheet would run as formulas, that JSON keeps the
// values as stored, and that the CSV imports back unchanged.
func TestSubscribersCSVFormulas(t *testing.T) {
	e := mustSubsEnv(t)
	e.mustRun(t, 0, "subscribers", "add", "eq@example.com", "--active", "--digest", "daily", "--name", `=HYPERLINK("http://evil.example","x")`, "--tag", "@risk")
	e.mustRun(t, 0, "subscribers", "add", "plus@example.com", "--active", "--digest", "daily", "--name", "+1 555", "--tag", "-minus")
	want := "email,name,digests,tags,timezone,status\n" +
		`eq@example.com,"'=HYPERLINK(""http://evil.example"",""x"")",daily,'@risk,,active` + "\n" +
		"plus@example.com,'+1 555,daily,'-minus,,active\n"
	list, _ := e.mustRun(t, 0, "subscribers", "list", "--format", "csv")
	if list != want {
		t.Errorf("list --format csv:\n%s\nwant:\n%s", list, want)
	}
	export, _ := e.mustRun(t, 0, "subscribers", "export")
	if export != want {
		t.Errorf("export:\n%s\nwant:\n%s", export, want)
	}
	js, _ := e.mustRun(t, 0, "subscribers", "export", "--format", "json")
	if !strings.Contains(js, `"name":"=HYPERLINK(\"http://evil.example\",\"x\")"`) || !strings.Contains(js, `"tags":["@risk"]`) {
		t.Errorf("json export should keep the values as stored:\n%s", js)
	}
	e2 := mustSubsEnv(t)
	out, _ := e2.mustRun(t, 0, "subscribers", "import", e2.write(t, "export.csv", export))
	if out != "added 2, updated 0, unchanged 0, suppressed 0, rejected 0\n" {
		t.Errorf("import: %q", out)
	}
	s, err := e2.openStore(t).GetByEmail(context.Background(), "eq@example.com")
	if err != nil || s.Name != `=HYPERLINK("http://evil.example","x")` || len(s.Tags) != 1 || s.Tags[0] != "@risk" {
		t.Errorf("imported %+v (%v), want the values as exported from", s, err)
	}
	if again, _ := e2.mustRun(t, 0, "subscribers", "export"); again != export {
		t.Errorf("export after the round trip:\n%s", again)
	}
}
