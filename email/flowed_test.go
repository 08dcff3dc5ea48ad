package email

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"mime"
	"strings"
	"testing"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"briefcast/articles"
	"briefcast/email/smtptest"
)

// TestTextPartFlowed checks the plain-text part as a mail reader gets it:
// format=flowed, no line over 78 characters unless it is one unbreakable
// word (a link), valid UTF-8 on every line (no character cut in two), and
// the bullets whole again once the soft breaks are joined.
func TestTextPartFlowed(t *testing.T) {
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg)
	e := testEdition(cfg)
	long := strings.Repeat("Ünïcödé façade naïveté — ", 12) + "末尾の文章はここで終わります。" + strings.Repeat("長", 100)
	e.Articles[0].Take = append(e.Articles[0].Take, articles.Bullet{Text: long}, articles.Bullet{Text: "From now on > quoted"})
	m, _, err := c.Digest(e, Recipient{ID: 2, Email: "a@example.com", Name: strings.Repeat("Zoë ", 20)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := msgBytes(t, m)
	p := mustParse(t, raw)
	ct := ""
	for _, l := range strings.Split(string(raw), "\r\n") {
		if strings.HasPrefix(l, "Content-Type: text/plain") {
			ct = strings.TrimPrefix(l, "Content-Type: ")
		}
	}
	if mt, params, err := mime.ParseMediaType(ct); err != nil || mt != "text/plain" || params["format"] != "flowed" {
		t.Fatalf("text part Content-Type %q, want format=flowed", ct)
	}
	for _, l := range strings.Split(strings.TrimSuffix(p.flowedText, "\r\n"), "\r\n") {
		if !utf8.ValidString(l) {
			t.Errorf("line is not valid UTF-8: %q", l)
		}
		if n := utf8.RuneCountInString(l); n > 78 && strings.Contains(strings.TrimSpace(l), " ") {
			t.Errorf("line of %d characters: %q", n, l)
		}
		if strings.HasPrefix(l, "From ") || strings.HasPrefix(l, ">") {
			t.Errorf("line not space-stuffed: %q", l)
		}
	}
	for _, want := range []string{"  * " + long, "  * From now on > quoted", "Hello " + strings.TrimSpace(strings.Repeat("Zoë ", 20)) + ", here"} {
		if !strings.Contains(p.text, want) {
			t.Errorf("unflowed text lacks %q", want)
		}
	}
}

// TestDigestSevenBit checks that a digest is 7-bit data with every part
// quoted-printable: a relay passing it to a server without 8BITMIME has
// nothing to re-encode, so the DKIM body hash survives the trip.
func TestDigestSevenBit(t *testing.T) {
	cfg := mustConfig(t, "")
	m, _, err := mustComposer(t, cfg).Digest(testEdition(cfg), Recipient{ID: 2, Email: "a@example.com", Name: "Zoë"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := msgBytes(t, m)
	for i, b := range raw {
		if b >= 0x80 {
			t.Fatalf("byte %d is %#x: the message is not 7-bit", i, b)
		}
	}
	for _, l := range strings.Split(string(raw), "\r\n") {
		if len(l) > 998 {
			t.Errorf("line of %d octets", len(l))
		}
		if v, ok := strings.CutPrefix(l, "Content-Transfer-Encoding: "); ok && v != "quoted-printable" {
			t.Errorf("a part is %s, want quoted-printable", v)
		}
	}
	if !strings.Contains(mustParse(t, raw).text, "The café on the ground floor") {
		t.Error("text part lost its UTF-8 text")
	}
}

// TestSMTPSevenBitThenSign sends a message with an 8-bit part to a server
// without 8BITMIME: the transport re-encodes the part before it signs, so
// what arrives is 7-bit and its DKIM signature verifies.
func TestSMTPSevenBitThenSign(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t, smtptest.Options{No8BitMIME: true})
	cfg := mustDKIMConfig(t, key)
	smtp := smtpConfig(t, srv, "none", "", "")
	cfg.Email.Transport, cfg.Email.SMTP = smtp.Email.Transport, smtp.Email.SMTP
	m, _, err := mustComposer(t, cfg).Digest(testEdition(cfg), Recipient{ID: 3, Email: "zoe@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Msg.GetParts() {
		p.SetEncoding(gomail.NoEncoding) // an 8-bit message, as a template override could make
	}
	if err := mustOpen(t, cfg).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	for i, b := range got[0].Data {
		if b >= 0x80 {
			t.Fatalf("byte %d is %#x: not 7-bit data", i, b)
		}
	}
	if err := verifyDKIM(got[0].Data, key.Public()); err != nil {
		t.Errorf("DKIM of the re-encoded message: %v", err)
	}
}

// TestFlowedLineEnds pins how flowed reads line ends: CRLF and LF end a
// line, a CR elsewhere is text, one final line end adds no empty line,
// and long lines break after a space with the space kept.
func TestFlowedLineEnds(t *testing.T) {
	long := strings.Repeat("abcd ", 20)
	for _, tt := range []struct{ in, want string }{
		{"", "\r\n"},
		{"\n", "\r\n"},
		{"a\r\nb\n", "a\r\nb\r\n"},
		{"a\r\r\n", "a\r\r\n"},
		{"a\rb", "a\rb\r\n"},
		{"a  \r\n\r\n>b\r\nFrom c", "a\r\n\r\n >b\r\n From c\r\n"},
		{long, strings.Repeat("abcd ", 15) + "\r\n" + strings.Repeat("abcd ", 4) + "abcd\r\n"},
	} {
		if got := flowed(tt.in); got != tt.want {
			t.Errorf("flowed(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// flowedPerRecipient is the text for one recipient the plain way: every
// value filled in, then the whole text flowed.
func flowedPerRecipient(ph placeholders, s, name, unsub, prefs string) string {
	var b strings.Builder
	f := newFill(name, unsub, prefs)
	ph.split(s).writeTo(&b, &f)
	return flowed(b.String())
}

// checkFlowedText compares the text flowed from its pre-flowed pieces
// with the whole text flowed after filling in the values.
func checkFlowedText(t *testing.T, ph placeholders, s, name, unsub, prefs string) {
	t.Helper()
	var got strings.Builder
	if _, err := ph.flowedText(s).writer(name, unsub, prefs)(&got); err != nil {
		t.Fatal(err)
	}
	if want := flowedPerRecipient(ph, s, name, unsub, prefs); got.String() != want {
		t.Errorf("text %q, name %q, unsub %q, prefs %q:\npieces flowed %q\nwhole flowed  %q", s, name, unsub, prefs, got.String(), want)
	}
}

// TestFlowedTextPieces checks that flowing the lines without a recipient's
// values once per edition gives every recipient the bytes that flowing
// the whole filled-in text gives, whatever the values hold (line ends,
// spaces, nothing) and wherever the placeholders fall.
func TestFlowedTextPieces(t *testing.T) {
	ph := placeholders{prefix: "zq0123x"}
	n, u, p := ph.of(phName), ph.of(phUnsub), ph.of(phPrefs)
	long := strings.Repeat("word ", 30)
	texts := []string{
		"",
		"\n",
		n,
		n + "\n",
		"Hello " + n + ", here.\n\nBody\n" + long + "\nUnsubscribe: " + u + "\nPreferences: " + p + "\n",
		"a\r\nHi " + n + "\r\n\r\nb " + long + u + " " + p + "\r\nend",
		"top\n" + n,
		"top\n" + n + "\nbottom",
		"top\n\n\n" + n + "\n\n",
		"x  \n From " + n + "  \n>" + u + "\r\r\n",
		long + n + long + "\n" + long,
		ph.prefix + "\n" + n, // a prefix without a kind is text
		"a" + ph.prefix,
	}
	values := []string{"", "Ada Lovelace", "Zoë " + strings.Repeat("Ünïcödé ", 15), "a\nb", "tail\n", "cr\r", "\r\n", " lead", "trail  ", "\n\n"}
	for _, s := range texts {
		for _, v := range values {
			checkFlowedText(t, ph, s, v, "TOKEN-"+v, v)
			checkFlowedText(t, ph, s, v, "", "")
		}
	}
}

// FuzzFlowedText is TestFlowedTextPieces on any text and values.
func FuzzFlowedText(f *testing.F) {
	f.Add("Hi zq0123xn,\nbye zq0123xu\n", "Ada", "tok")
	f.Add("zq0123xn", "\n", "")
	f.Add("a\r\nzq0123xu\r", "x", "\r\n")
	ph := placeholders{prefix: "zq0123x"}
	f.Fuzz(func(t *testing.T, s, name, tok string) {
		checkFlowedText(t, ph, s, name, tok, name+tok)
	})
}
