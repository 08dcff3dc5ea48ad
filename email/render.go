package email

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/subscribers"
)

// pageTemplates is the HTML and plain-text template of one kind of message.
type pageTemplates struct {
	html *htmltemplate.Template
	text *template.Template
}

func parsePage(fsys fs.FS, htmlName, textName string) (*pageTemplates, error) {
	h, err := htmltemplate.New(htmlName).Option("missingkey=error").ParseFS(fsys, htmlName)
	if err != nil {
		return nil, fmt.Errorf("email: template %s: %w", htmlName, err)
	}
	t, err := template.New(textName).Option("missingkey=error").ParseFS(fsys, textName)
	if err != nil {
		return nil, fmt.Errorf("email: template %s: %w", textName, err)
	}
	return &pageTemplates{html: h, text: t}, nil
}

// RenderError is a template that could not be executed ({{.Titel}}): the
// operator's mistake, not the recipient's, so the digest sender stops on
// one. Templates run strictly, so a mistake is never a blank in a message.
type RenderError struct {
	Digest   string // the digest rendered; "" for a confirmation
	Template string // "subject", "digest.html", "digest.txt", ...
	Err      error
}

// Error names the digest (when there is one) and the template.
func (e *RenderError) Error() string {
	if e.Digest != "" {
		return fmt.Sprintf("email: digest %s: template %s: %v", e.Digest, e.Template, e.Err)
	}
	return fmt.Sprintf("email: template %s: %v", e.Template, e.Err)
}

// Unwrap returns the template package's error.
func (e *RenderError) Unwrap() error { return e.Err }

// render executes both templates with data, for digest ("" for a
// confirmation).
func (p *pageTemplates) render(digest string, data any) (html, text string, err error) {
	var hb, tb bytes.Buffer
	if err := p.html.Execute(&hb, data); err != nil {
		return "", "", &RenderError{Digest: digest, Template: p.html.Name(), Err: err}
	}
	if err := p.text.Execute(&tb, data); err != nil {
		return "", "", &RenderError{Digest: digest, Template: p.text.Name(), Err: err}
	}
	return hb.String(), normaliseText(tb.String()), nil
}

// subject renders the template "subject" the plain-text template defines;
// "" when it defines none.
func (p *pageTemplates) subject(data any) (string, error) {
	st := p.text.Lookup("subject")
	if st == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := st.Execute(&b, data); err != nil {
		return "", &RenderError{Template: "subject of " + p.text.Name(), Err: err}
	}
	return cleanLine(b.String()), nil
}

// sampleAddress receives the sample renderings of CheckEdition: nothing is
// ever sent to it.
const sampleAddress = "reader@example.org"

// CheckEdition renders e with every article, at every depth, with and
// without a recipient name: a template that fails here would fail for
// everyone, so the sender calls it before it claims any recipient.
func (c *Composer) CheckEdition(e *Edition) error {
	for _, depth := range subscribers.Depths {
		for _, r := range []Recipient{{Email: sampleAddress, Name: "Sample Reader"}, {Email: sampleAddress}} {
			r.Depth = depth
			if _, _, err := c.Digest(e, r, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckDigest executes the subject and body templates of digest d on three
// made-up articles dated around now, carrying d's tags, as `briefcast
// check` does, so a mistake that only shows when a template runs fails
// before the digest is sent.
func (c *Composer) CheckDigest(d config.Digest, now time.Time) error {
	tags := d.Tags
	if len(tags) == 0 {
		tags = []string{"sample"}
	}
	e := &Edition{Digest: d, Key: "sample", Date: now}
	for i, title := range []string{"First sample article", "Second sample article", "Third sample article"} {
		e.Articles = append(e.Articles, articles.WithTiers(&articles.Article{
			ID: fmt.Sprintf("sample-%d", i+1), Title: title, Slug: fmt.Sprintf("sample-article-%d", i+1),
			Published: now.Add(-time.Duration(i+1) * time.Hour), Updated: now.Add(-time.Duration(i+1) * time.Hour),
			Tags: tags,
			Take: []articles.Bullet{
				{Text: "The first point of the take, one sentence long."},
				{Text: "A second point, with <markup> & \"quotes\" to escape."},
			},
		}, articles.Tiers{Digest: articles.Digest{
			Sections: []articles.Section{{Title: "Essential Context", Paragraphs: []string{"Why this matters, in a paragraph."}}},
			Numbers:  []articles.Number{{Figure: "42%", Meaning: "a key number & what it means"}},
			Players:  []articles.Player{{Name: "A Player", Role: "the role it plays"}},
		}}))
	}
	return c.CheckEdition(e)
}

// normaliseText trims trailing spaces from every line and collapses runs
// of more than one blank line, which templates tend to leave behind.
func normaliseText(s string) string {
	var out []string
	for l := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		l = strings.TrimRight(l, " \t")
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

// DigestData is what digest.html and digest.txt render. Every string is
// plain text: html/template escapes it in the HTML part.
type DigestData struct {
	SiteTitle      string
	BaseURL        string // ends in "/"
	Title          string // the digest's title
	Digest         string // the digest's name
	Subject        string
	Date           string // the edition's date, e.g. "Wednesday, 25 November 2026"
	Count          int    // number of articles
	Preheader      string // the first take bullet, for the inbox preview line
	Articles       []ArticleView
	Name           string // the recipient's, "" when unknown; text only: it is substituted after rendering
	UnsubscribeURL string
	PreferencesURL string
	PostalAddress  string
	// ArchiveURL is the edition's page in the web archive ("View in
	// browser"); "" for a private digest and for a preview.
	ArchiveURL string
	Depth      string // "take", or "digest": each article's Sections, Numbers and Players are filled in
}

// ArticleView is one article of a digest.
type ArticleView struct {
	Title     string
	URL       string // the absolute full-depth URL; the page itself when the article has no full depth
	Take      []string
	Tags      []string
	Published time.Time
	// The lead image, absolute ("" = none), its text alternative ("" marks
	// it decorative) and its size scaled to the 536px column (0 = unknown).
	ImageURL, ImageAlt      string
	ImageWidth, ImageHeight int
	// The 2-minute digest, at depth "digest" only.
	Sections []SectionView
	Numbers  []NumberView
	Players  []PlayerView
}

// ConfirmData is what confirm_email.html and confirm_email.txt render. It
// holds nothing the sign-up form lets a stranger choose, not even the
// address: the message must not carry a stranger's words to anybody.
type ConfirmData struct {
	SiteTitle      string
	BaseURL        string
	ConfirmURL     string
	UnsubscribeURL string // "this was not me": no more confirmation requests
	Expires        string // when the link stops working, e.g. "Sat, 28 Nov 2026 07:00 UTC"
	PostalAddress  string
}

// SubjectData is what a digest's subject template renders.
type SubjectData struct {
	Title  string
	Date   string // e.g. "Wed, 25 Nov 2026", in the digest's (or recipient's) zone
	Count  int
	Digest DigestInfo
}

// DigestInfo names a digest in subject templates.
type DigestInfo struct{ Name, Title string }

// Placeholders stand in for the per-recipient values while an edition is
// rendered once; they are random letters and digits, so no escaping
// changes them and no article can contain them by chance.
type placeholders struct{ prefix string }

// The kinds of placeholder, which index a fill (0 is none), and the
// letters that follow the prefix for them.
const (
	phName = iota + 1
	phUnsub
	phPrefs
	phLetters = "nup"
)

func newPlaceholders() placeholders {
	var b [10]byte
	rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return placeholders{prefix: "zq" + hex.EncodeToString(b[:]) + "x"}
}

func (p placeholders) of(kind int) string { return p.prefix + phLetters[kind-1:kind] }

// segment is a run of literal text followed by one placeholder (kind 0
// for none, at the end). The text is kept as bytes: go-mail's encoders
// take no strings, and a string would be copied for every recipient.
type segment struct {
	lit  []byte
	kind byte
}

// segments is a rendered body cut at its placeholders.
type segments []segment

// split cuts s at every placeholder. The prefix followed by anything but
// a kind is text, so no placeholder spans a line end.
func (p placeholders) split(s string) segments {
	var segs segments
	lit := 0 // start of the literal text not yet in segs
	for pos := 0; ; {
		i := strings.Index(s[pos:], p.prefix)
		if i < 0 {
			return append(segs, segment{lit: []byte(s[lit:])})
		}
		i += pos
		pos = i + len(p.prefix)
		if pos < len(s) && strings.IndexByte(phLetters, s[pos]) >= 0 {
			kind := byte(strings.IndexByte(phLetters, s[pos]) + 1)
			segs = append(segs, segment{lit: []byte(s[lit:i]), kind: kind})
			pos++
			lit = pos
		}
	}
}

// fill is one recipient's values for the placeholders by kind, as bytes
// in one allocation.
type fill [len(phLetters) + 1][]byte

func newFill(name, unsub, prefs string) fill {
	b := make([]byte, 0, len(name)+len(unsub)+len(prefs))
	b = append(append(append(b, name...), unsub...), prefs...)
	n, u := len(name), len(name)+len(unsub)
	return fill{phName: b[:n:n], phUnsub: b[n:u:u], phPrefs: b[u:]}
}

// size is the length of the segments filled in with f.
func (segs segments) size(f *fill) int {
	n := 0
	for _, s := range segs {
		n += len(s.lit) + len(f[s.kind])
	}
	return n
}

// writeTo writes the segments with one recipient's values.
func (segs segments) writeTo(w io.Writer, f *fill) (int64, error) {
	var total int64
	for _, s := range segs {
		n, err := w.Write(s.lit)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if v := f[s.kind]; len(v) > 0 {
			n, err = w.Write(v)
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// writer returns a go-mail body writer for one recipient. It can run any
// number of times (a message may be written again on a retry).
func (segs segments) writer(name, unsub, prefs string) func(io.Writer) (int64, error) {
	f := newFill(name, unsub, prefs)
	return func(w io.Writer) (int64, error) { return segs.writeTo(w, &f) }
}

// asciiHTML replaces every non-ASCII character of an HTML document by a
// numeric character reference, so the part is 7-bit clean.
func asciiHTML(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 64)
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
			continue
		}
		b.WriteString("&#")
		b.WriteString(strconv.Itoa(int(r)))
		b.WriteByte(';')
	}
	return b.String()
}

// htmlText escapes s for HTML text or a quoted attribute, in pure ASCII.
func htmlText(s string) string { return asciiHTML(html.EscapeString(s)) }

// maxLine is the longest line a body keeps: SMTP allows 998 octets, and a
// substituted name (100 characters, 10 octets each escaped) must still fit.
const maxLine = 900 - 100*10/2

// breakLongLines breaks every line longer than maxLine at a space (or,
// failing that, hard), with CRLF line ends throughout.
func breakLongLines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s) + len(s)/32)
	for line := range strings.SplitSeq(s, "\n") {
		for len(line) > maxLine {
			cut := strings.LastIndexByte(line[:maxLine], ' ')
			if cut <= 0 {
				cut = maxLine
				for cut > 0 && !utf8.RuneStart(line[cut]) {
					cut--
				}
			}
			b.WriteString(line[:cut])
			b.WriteString("\r\n")
			line = strings.TrimLeft(line[cut:], " ")
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return strings.TrimSuffix(b.String(), "\r\n")
}
