package email

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"briefcast/tokens"
)

// parsed is a message read back with the standard library.
type parsed struct {
	header     mail.Header
	rawHeader  string
	text, html string
	flowedText string // the text part as sent, before unflowing
}

func mustParse(t *testing.T, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	p := parsed{header: m.Header}
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		p.rawHeader = string(raw[:i+2])
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, want multipart/alternative (%v)", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		body, err := io.ReadAll(part) // quoted-printable is decoded by NextPart
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		ct, cp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if cp["charset"] != "UTF-8" && cp["charset"] != "utf-8" {
			t.Errorf("part %s charset = %q, want UTF-8", ct, cp["charset"])
		}
		types = append(types, ct)
		switch ct {
		case "text/plain":
			p.flowedText = string(body)
			p.text = string(body)
			if cp["format"] == "flowed" {
				p.text = unflow(string(body))
			}
		case "text/html":
			p.html = string(body)
		}
	}
	if diff := cmp.Diff([]string{"text/plain", "text/html"}, types); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	return p
}

// unflow joins the soft-broken lines of format=flowed text (RFC 3676
// 4.1 and 4.4, DelSp=no) and removes space-stuffing.
func unflow(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\r\n") {
		l = strings.TrimPrefix(l, " ")
		if strings.HasSuffix(l, " \r\n") {
			b.WriteString(strings.TrimSuffix(l, "\r\n"))
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

func msgBytes(t testing.TB, m *Message) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	return b.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./email -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, cmp.Diff(string(want), string(got)))
	}
}

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	d, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode %q: %v", v, err)
	}
	return d
}

// htmlLinks returns every href and src in doc.
func htmlLinks(t *testing.T, doc string) (links []string, hasImgOrScript bool) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("html: %v", z.Err())
			}
			return links, hasImgOrScript
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if tok.Data == "img" || tok.Data == "script" || tok.Data == "link" || tok.Data == "iframe" {
			hasImgOrScript = true
		}
		for _, a := range tok.Attr {
			if a.Key == "href" || a.Key == "src" {
				links = append(links, a.Val)
			}
		}
	}
}

var textURL = regexp.MustCompile(`https?://[^\s<>"]+`)

// testTokenKey is the token key of every test recipient.
var testTokenKey = []byte("0123456789abcdef")

// keyOf42 is the token key lookup of a store holding subscriber 42 only.
func keyOf42(id int64) ([]byte, error) {
	if id != 42 {
		return nil, errors.New("no such subscriber")
	}
	return testTokenKey, nil
}

func TestDigestMessage(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg)
	e := testEdition(cfg)
	r := Recipient{ID: 42, TokenKey: testTokenKey, Email: "ada@example.com", Name: "Ada Lovelace"}
	m, ok, err := c.Digest(e, r, nil)
	if err != nil || !ok {
		t.Fatalf("Digest: ok=%v err=%v", ok, err)
	}
	raw := msgBytes(t, m)
	checkGolden(t, "digest.eml", raw)

	if m.From != "brief@example.org" || m.To != "ada@example.com" {
		t.Errorf("envelope = %q -> %q", m.From, m.To)
	}
	if m.Folder != "daily/20261125T1200Z" || m.Name != "42" {
		t.Errorf("file = %q/%q, want daily/20261125T1200Z/42", m.Folder, m.Name)
	}

	p := mustParse(t, raw)
	h := p.header
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 || strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d is %d octets or holds a bare CR/LF", i+1, len(line))
		}
	}
	for i := 0; i < len(p.html); i++ {
		if p.html[i] >= 0x80 {
			t.Fatalf("HTML part is not 7-bit clean at %q", p.html[max(0, i-20):i+1])
		}
	}
	if !strings.Contains(p.html, "caf&#233; on the ground floor &#8212; closed") {
		t.Error("HTML part lacks the non-ASCII bullet as character references")
	}
	wantHeaders := map[string]string{
		"From":                  `"The Test Brief" <brief@example.org>`,
		"To":                    `"Ada Lovelace" <ada@example.com>`,
		"Reply-To":              `"Desk" <desk@example.org>`,
		"Subject":               "The Daily Test — Wed, 25 Nov 2026 (3)",
		"List-Id":               `"The Daily Test" <daily.example.org>`,
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Precedence":            "bulk",
		"MIME-Version":          "1.0",
	}
	for k, want := range wantHeaders {
		if got := decodeHeader(t, h.Get(k)); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if d, err := h.Date(); err != nil || !d.Equal(fixedNow) {
		t.Errorf("Date = %v (%v), want %v", d, err, fixedNow)
	}
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[0-9a-f]{32}@example\.org>$`).MatchString(id) {
		t.Errorf("Message-ID = %q, want <hex@example.org>", id)
	}
	if h.Get("User-Agent") != "" || h.Get("X-Mailer") != "" {
		t.Errorf("message names its mailer: %q %q", h.Get("User-Agent"), h.Get("X-Mailer"))
	}

	signer := mustSigner(t)
	base := "https://example.org/news/"
	checkToken := func(where, link string) {
		u, err := url.Parse(link)
		if err != nil {
			t.Errorf("%s: bad link %q", where, link)
			return
		}
		var purpose tokens.Purpose
		switch u.Path {
		case "/news/unsubscribe":
			purpose = tokens.Unsubscribe
		case "/news/preferences":
			purpose = tokens.Preferences
		default:
			return
		}
		id, err := signer.Verify(purpose, u.Query().Get("token"), fixedNow.Add(399*24*time.Hour), keyOf42)
		if err != nil || id != 42 {
			t.Errorf("%s: %s token: id=%d err=%v, want 42", where, purpose, id, err)
		}
		if _, err := signer.Verify(purpose, u.Query().Get("token"), fixedNow.Add(401*24*time.Hour), keyOf42); err == nil {
			t.Errorf("%s: %s token still valid after 400 days", where, purpose)
		}
	}

	lu := h.Get("List-Unsubscribe")
	m1 := regexp.MustCompile(`^<(https://example\.org/news/unsubscribe\?token=[A-Za-z0-9_-]+)>, <mailto:leave@example\.org\?subject=unsubscribe>$`).FindStringSubmatch(lu)
	if m1 == nil {
		t.Fatalf("List-Unsubscribe = %q", lu)
	}
	checkToken("List-Unsubscribe", m1[1])

	wantArticleURLs := []string{
		base + "articles/tide-tables/#full-depth",
		base + "articles/library%20hours%2Fext/", // no full depth: no anchor to land on
		base + "articles/bridge-works/",
	}
	links, bad := htmlLinks(t, p.html)
	if bad {
		t.Error("HTML part has images, scripts or external resources")
	}
	seen := map[string]int{}
	for _, l := range links {
		if !strings.HasPrefix(l, base) {
			t.Errorf("HTML link %q is not absolute under %s", l, base)
		}
		seen[l]++
		checkToken("HTML", l)
	}
	for _, u := range wantArticleURLs {
		if seen[u] != 2 {
			t.Errorf("HTML links %s %d times, want 2 (title and read-more)", u, seen[u])
		}
	}
	var unsub, prefs int
	for l := range seen {
		if strings.HasPrefix(l, base+"unsubscribe?token=") {
			unsub++
		}
		if strings.HasPrefix(l, base+"preferences?token=") {
			prefs++
		}
	}
	if unsub != 1 || prefs != 1 {
		t.Errorf("HTML footer: %d unsubscribe and %d preferences links, want 1 each", unsub, prefs)
	}
	for _, l := range textURL.FindAllString(p.text, -1) {
		if !strings.HasPrefix(l, base) {
			t.Errorf("text link %q is not under %s", l, base)
		}
		checkToken("text", l)
	}
	for _, u := range wantArticleURLs {
		if !strings.Contains(p.text, u) {
			t.Errorf("text part lacks %s", u)
		}
	}
	for _, want := range []string{"unsubscribe?token=", "preferences?token=", "1 Sample Road, Testville", "Hello Ada Lovelace"} {
		if !strings.Contains(p.text, want) || !strings.Contains(p.html, want) {
			t.Errorf("text or HTML part lacks %q", want)
		}
	}
	for _, a := range e.Articles {
		for _, b := range a.Take {
			want := cleanLine(b.Text)
			if !strings.Contains(p.text, want) {
				t.Errorf("text part lacks bullet %q", want)
			}
			if !strings.Contains(p.html, asciiHTML(html.EscapeString(want))) {
				t.Errorf("HTML part lacks bullet %q", html.EscapeString(want))
			}
		}
	}
	for _, want := range []string{
		`<meta name="color-scheme" content="light dark">`,
		"Library &lt;extends&gt; evening hours &amp; weekends",
		"a &lt;b&gt;trial&lt;/b&gt;",
		"Read the full analysis",
	} {
		if !strings.Contains(p.html, want) {
			t.Errorf("HTML part lacks %q", want)
		}
	}
	// The preheader is the first take bullet, hidden.
	if !regexp.MustCompile(`<div dir="auto" style="display:none;[^"]*">The harbour office released`).MatchString(p.html) {
		t.Error("HTML part lacks a hidden preheader with the first bullet")
	}
	if strings.Contains(p.html, "<b>trial") || strings.Contains(p.text, "\r\nBcc") {
		t.Error("unescaped content in a part")
	}
	if strings.Contains(p.text, c.ph.prefix) || strings.Contains(p.html, c.ph.prefix) {
		t.Error("a placeholder was left in the message")
	}
}

func TestDigestPersonalisation(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg)
	e := testEdition(cfg)
	tests := []struct {
		name      string
		r         Recipient
		tags      []string
		wantOK    bool
		wantCount int
		wantIn    []string
		wantOut   []string
	}{
		{"all", Recipient{ID: 1, Email: "a@example.com"}, nil, true, 3, []string{"Here are the 3 latest briefs"}, []string{"Hello"}},
		{"tag filter", Recipient{ID: 2, Email: "b@example.com", Name: "B"}, []string{"Science"}, true, 1, []string{"Hello B, here is the latest brief", "tide-tables"}, []string{"library"}},
		{"two tags", Recipient{ID: 3, Email: "c@example.com"}, []string{"city", "nothing"}, true, 2, []string{"library"}, []string{"tide-tables"}},
		{"nothing left", Recipient{ID: 4, Email: "d@example.com"}, []string{"sport"}, false, 0, nil, nil},
		{"html in name", Recipient{ID: 5, Email: "e@example.com", Name: `<i>Eve</i> & "co"`}, nil, true, 3, []string{"Hello &lt;i&gt;Eve&lt;/i&gt; &amp; &#34;co&#34;"}, nil},
		{"zone", Recipient{ID: 6, Email: "f@example.com", Timezone: "Pacific/Kiritimati"}, nil, true, 3, []string{"Thursday, 26 November 2026"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok, err := c.Digest(e, tt.r, tt.tags)
			if err != nil || ok != tt.wantOK {
				t.Fatalf("Digest: ok=%v err=%v, want ok=%v", ok, err, tt.wantOK)
			}
			if !ok {
				if m != nil {
					t.Error("a message for nobody")
				}
				return
			}
			p := mustParse(t, msgBytes(t, m))
			subj := decodeHeader(t, p.header.Get("Subject"))
			if !strings.HasSuffix(subj, "("+string(rune('0'+tt.wantCount))+")") {
				t.Errorf("Subject = %q, want count %d", subj, tt.wantCount)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(p.html, w) {
					t.Errorf("HTML lacks %q", w)
				}
			}
			if strings.Contains(p.html, "<i>") {
				t.Error("HTML holds an unescaped name")
			}
			if tt.r.Name != "" && !strings.Contains(p.text, "Hello "+tt.r.Name+", here") {
				t.Errorf("text part lacks the plain name %q", tt.r.Name)
			}
			for _, w := range tt.wantOut {
				if strings.Contains(p.html, w) || strings.Contains(p.text, w) {
					t.Errorf("message holds %q", w)
				}
			}
		})
	}
}
