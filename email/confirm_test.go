package email

import (
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"briefcast/templates"
	"briefcast/tokens"
)

func TestConfirmationMessage(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg)
	signer := mustSigner(t)
	tok := signer.Sign(tokens.Confirm, 7, testTokenKey, fixedNow.Add(72*time.Hour))
	link := "https://example.org/news/confirm?token=" + tok
	m, err := c.Confirmation(Recipient{ID: 7, Email: "grace@example.com", Name: "Grace", TokenKey: testTokenKey}, link)
	if err != nil {
		t.Fatal(err)
	}
	raw := msgBytes(t, m)
	checkGolden(t, "confirm.eml", raw)
	if m.Folder != "confirm" || !strings.HasPrefix(m.Name, "7-") {
		t.Errorf("file = %s/%s", m.Folder, m.Name)
	}
	p := mustParse(t, raw)
	if got := decodeHeader(t, p.header.Get("Subject")); got != "Confirm your subscription to The Test Brief" {
		t.Errorf("Subject = %q", got)
	}
	// No name anywhere: the sign-up form lets anyone choose one.
	if got := p.header.Get("To"); got != `<grace@example.com>` {
		t.Errorf("To = %q", got)
	}
	if strings.Contains(string(raw), "Grace") {
		t.Errorf("the name reached the message:\n%s", raw)
	}
	// "This was not me": an unsubscribe link for subscriber 7, in the
	// header (with one-click, the base URL being https) and in both parts.
	lu := p.header.Get("List-Unsubscribe")
	unsub := regexp.MustCompile(`^<(https://example\.org/news/unsubscribe\?token=[A-Za-z0-9_-]+)>$`).FindStringSubmatch(strings.TrimSuffix(lu, ", <mailto:leave@example.org?subject=unsubscribe>"))
	if unsub == nil {
		t.Fatalf("List-Unsubscribe = %q", lu)
	}
	u, _ := url.Parse(unsub[1])
	if id, err := signer.Verify(tokens.Unsubscribe, u.Query().Get("token"), fixedNow.Add(300*24*time.Hour), func(int64) ([]byte, error) { return testTokenKey, nil }); err != nil || id != 7 {
		t.Errorf("unsubscribe token: id=%d err=%v", id, err)
	}
	if got := p.header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	if !strings.Contains(p.text, unsub[1]) || !strings.Contains(p.html, unsub[1]) {
		t.Errorf("a part lacks the unsubscribe link")
	}
	links, bad := htmlLinks(t, p.html)
	if bad {
		t.Error("HTML part has images or scripts")
	}
	found := 0
	for _, l := range append(links, textURL.FindAllString(p.text, -1)...) {
		if !strings.HasPrefix(l, "https://example.org/news/") {
			t.Errorf("link %q is not under the base URL", l)
		}
		if l == link {
			found++
			u, _ := url.Parse(l)
			if id, err := signer.Verify(tokens.Confirm, u.Query().Get("token"), fixedNow, func(int64) ([]byte, error) { return testTokenKey, nil }); err != nil || id != 7 {
				t.Errorf("confirm token: id=%d err=%v", id, err)
			}
		}
	}
	if found < 2 {
		t.Errorf("confirm link appears %d times, want it in both parts", found)
	}
	for _, want := range []string{"The Test Brief", "Sat, 28 Nov 2026"} {
		if !strings.Contains(p.text, want) || !strings.Contains(p.html, want) {
			t.Errorf("confirmation lacks %q", want)
		}
	}
	// Not even the address: its local part is the sender's to choose
	// (grace+anything@...), so it stays in To.
	if strings.Contains(p.text, "grace@") || strings.Contains(p.html, "grace@") {
		t.Errorf("the address is in the body")
	}
}

func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"digest.txt":        "CUSTOM {{.Title}} {{range .Articles}}[{{.Title}} {{.URL}}]{{end}} {{.UnsubscribeURL}}\n",
		"confirm_email.txt": "{{define \"subject\"}}Please confirm {{.SiteTitle}}\r\nBcc: x@y{{end}}Go: {{.ConfirmURL}}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustConfig(t, "")
	c, err := NewComposer(OptionsOf(cfg), fsys, mustSigner(t), WithClock(func() time.Time { return fixedNow }))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 3, Email: "a@example.com"}, []string{"science"})
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, msgBytes(t, m))
	if !regexp.MustCompile(`^CUSTOM The Daily Test \[Harbour publishes new tide tables https://example\.org/news/articles/tide-tables/#full-depth\] https://example\.org/news/unsubscribe\?token=[A-Za-z0-9_-]+\r?\n$`).MatchString(p.text) {
		t.Errorf("overridden text part = %q", p.text)
	}
	if !strings.Contains(p.html, "Read the full analysis") {
		t.Error("the embedded HTML template was not used for the file left alone")
	}
	cm, err := c.Confirmation(Recipient{ID: 3, Email: "a@example.com", Name: "Al"}, "https://example.org/news/confirm?token=x")
	if err != nil {
		t.Fatal(err)
	}
	cp := mustParse(t, msgBytes(t, cm))
	if got := cp.header.Get("Subject"); got != "Please confirm The Test Brief Bcc: x@y" {
		t.Errorf("Subject = %q", got)
	}

	// An override still naming .Name (which confirmations no longer carry)
	// fails NewComposer, not every sign-up.
	if err := os.WriteFile(filepath.Join(dir, "confirm_email.txt"), []byte("Hello {{.Name}}: {{.ConfirmURL}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, _ = templates.Load(dir)
	if _, err := NewComposer(OptionsOf(cfg), fsys, mustSigner(t)); err == nil || !strings.Contains(err.Error(), "Name") {
		t.Errorf("NewComposer with {{.Name}} in the confirmation: %v", err)
	}

	// A broken or missing template fails NewComposer.
	if err := os.WriteFile(filepath.Join(dir, "digest.html"), []byte("{{.Nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, _ = templates.Load(dir)
	if _, err := NewComposer(OptionsOf(cfg), fsys, mustSigner(t)); err == nil {
		t.Error("NewComposer accepted a broken template")
	}
}

func TestConcurrentCompose(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg, WithCacheSize(2))
	e := testEdition(cfg)
	tagSets := [][]string{nil, {"science"}, {"city"}, {"transport"}}
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; i < 50; i++ {
				r := Recipient{ID: int64(g*100 + i), Email: "x@example.com", Name: []string{"", "N"}[i%2]}
				m, ok, err := c.Digest(e, r, tagSets[(g+i)%len(tagSets)])
				if err != nil || !ok {
					done <- err
					return
				}
				if _, err := m.Msg.WriteTo(io.Discard); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.cache); n > 2 {
		t.Errorf("cache holds %d variants, bound is 2", n)
	}
}

// TestDigestViewInBrowser: a digest with a web archive links each message
// to its edition's page there, in both parts; a private one does not.
func TestDigestViewInBrowser(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg)
	r := Recipient{ID: 42, TokenKey: testTokenKey, Email: "ada@example.com"}
	const page = "https://example.org/news/digests/daily/20261125T1200Z/"
	for _, private := range []bool{false, true} {
		e := testEdition(cfg)
		e.ID = 7
		if private {
			off := false
			e.Digest.Archive = &off
			e.Key = "20261126T1200Z" // rendered variants are kept per edition
		}
		m, ok, err := c.Digest(e, r, nil)
		if err != nil || !ok {
			t.Fatalf("Digest: ok=%v err=%v", ok, err)
		}
		p := mustParse(t, msgBytes(t, m))
		for part, body := range map[string]string{"html": p.html, "text": p.text} {
			if got := strings.Contains(body, page); got == private {
				t.Errorf("private=%v: %s part links the archive page: %v", private, part, got)
			}
		}
	}
}
