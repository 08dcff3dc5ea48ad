package email

import (
	"cmp"
	"encoding/hex"
	"errors"
	"mime"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"briefcast/articles"
	"briefcast/config"
	"briefcast/links"
	"briefcast/subscribers"
	"briefcast/tokens"
)

// textFlowed is the type of every plain-text part (RFC 3676); go-mail adds
// the charset.
const textFlowed gomail.ContentType = "text/plain; format=flowed"

// DefaultSubject is the subject template of a digest that sets none.
const DefaultSubject = "{{.Title}} — {{.Date}}"

// variant is one edition rendered for one article set, zone, depth and
// with-or-without name, ready to be filled in per recipient.
type variant struct {
	subject string // encoded for the header (RFC 2047 when not ASCII)
	listID  string // the List-Id header value
	folder  string // the file transport folder
	html    segments
	text    flowedText
}

// qp encodes both parts of every message quoted-printable: a 7-bit message
// is never re-encoded by a relay, so its DKIM body hash still holds.
var qp = gomail.WithPartEncoding(gomail.EncodingQP)

// Digest composes one recipient's message for the edition, with only the
// articles matching tags (nil/empty tags = all), at the recipient's depth
// (r.Depth, else the digest's). ok=false (and no error) when the tag
// filter leaves nothing: that recipient gets no message.
func (c *Composer) Digest(e *Edition, r Recipient, tags []string) (m *Message, ok bool, err error) {
	if e == nil {
		return nil, false, errors.New("email: no edition")
	}
	to, err := recipientAddress(r)
	if err != nil {
		return nil, false, err
	}
	var picked []*articles.Article
	for _, a := range e.Articles {
		if a != nil && matches(a, tags) {
			picked = append(picked, a)
		}
	}
	if len(picked) == 0 {
		return nil, false, nil
	}
	loc := c.location(r.Timezone, e.Digest.Location)
	v, err := c.variant(e, picked, loc, depthOf(r, e.Digest.Depth), to.Name != "")
	if err != nil {
		return nil, false, err
	}
	expires := e.Date.Add(TokenTTL)
	unsubTok := c.signer.Sign(tokens.Unsubscribe, r.ID, r.TokenKey, expires)
	prefsTok := c.signer.Sign(tokens.Preferences, r.ID, r.TokenKey, expires)
	if m, err = c.newMessage(to, v.subject, c.unsubscribeURL(unsubTok), e.ID, r.ID); err != nil {
		return nil, false, err
	}
	m.Folder, m.Name = v.folder, strconv.FormatInt(r.ID, 10)
	m.Msg.SetGenHeader("List-Id", v.listID)
	m.Msg.SetBulk()
	m.Msg.SetBodyWriter(textFlowed, v.text.writer(to.Name, unsubTok, prefsTok), qp)
	m.Msg.AddAlternativeWriter(gomail.TypeTextHTML, v.html.writer(htmlText(to.Name), unsubTok, prefsTok), qp)
	return m, true, nil
}

// unsubscribeURL is the unsubscribe link of a token.
func (c *Composer) unsubscribeURL(tok string) string {
	return links.New(c.o.BaseURL).Unsubscribe(tok)
}

// newMessage starts a message of edition editionID (0 for a confirmation)
// to subscriber id, with the headers every message has: List-Unsubscribe
// names unsubURL (and the mailto address when configured).
func (c *Composer) newMessage(to *mail.Address, subject, unsubURL string, editionID, id int64) (*Message, error) {
	var rnd [28]byte
	if err := c.randomBytes(rnd[:]); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithBoundary(hex.EncodeToString(rnd[16:])))
	from := *c.from
	msg.FromMailAddress(&from)
	msg.ToMailAddress(to)
	if c.replyTo != nil {
		rt := *c.replyTo
		msg.ReplyToMailAddress(&rt)
	}
	msg.Subject(subject)
	msg.SetDateWithValue(c.now())
	msg.SetMessageIDWithValue(hex.EncodeToString(rnd[:16]) + "@" + c.fromDomain)
	if c.unsubMail != "" {
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+unsubURL+">, <mailto:"+c.unsubMail+"?subject=unsubscribe>")
	} else {
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+unsubURL+">")
	}
	if strings.HasPrefix(c.o.BaseURL, "https://") {
		// RFC 8058 one-click needs an https URL; go-mail refuses anything
		// else, and so do mailbox providers.
		msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	return &Message{From: c.envelopeFrom(editionID, id), To: to.Address, Msg: msg, dkim: c.dkim}, nil
}

// matches reports whether a carries one of tags; no tags match everything.
func matches(a *articles.Article, tags []string) bool {
	return len(tags) == 0 || slices.ContainsFunc(tags, func(t string) bool {
		return slices.ContainsFunc(a.Tags, func(at string) bool { return strings.EqualFold(strings.TrimSpace(t), at) })
	})
}

// variant returns the edition rendered for picked articles in loc at
// depth, from the cache when it is there.
func (c *Composer) variant(e *Edition, picked []*articles.Article, loc *time.Location, depth string, named bool) (*variant, error) {
	parts := []string{e.Digest.Name, e.Key, strconv.FormatInt(e.Date.UnixNano(), 36), loc.String(), depth, strconv.FormatBool(named)}
	for _, a := range picked {
		parts = append(parts, a.ID)
	}
	key := strings.Join(parts, "\x00")
	c.cacheMu.Lock()
	v, ok := c.cache[key]
	c.cacheMu.Unlock()
	if ok {
		return v, nil
	}
	v, err := c.renderVariant(e, picked, loc, depth, named)
	if err != nil {
		return nil, err
	}
	c.cacheMu.Lock()
	if len(c.cache) >= c.cacheMax {
		// A plain reset keeps the bound; an edition has few variants.
		clear(c.cache)
	}
	c.cache[key] = v
	c.cacheMu.Unlock()
	return v, nil
}

func (c *Composer) renderVariant(e *Edition, picked []*articles.Article, loc *time.Location, depth string, named bool) (*variant, error) {
	ln := links.New(c.o.BaseURL)
	date := e.Date.In(loc)
	d := &DigestData{
		SiteTitle:      cleanLine(c.o.SiteTitle),
		BaseURL:        c.o.BaseURL,
		Title:          cmp.Or(cleanLine(e.Digest.Title), e.Digest.Name),
		Digest:         e.Digest.Name,
		Date:           date.Format("Monday, 2 January 2006"),
		Count:          len(picked),
		UnsubscribeURL: ln.Unsubscribe(c.ph.of(phUnsub)),
		PreferencesURL: ln.Preferences(c.ph.of(phPrefs)),
		PostalAddress:  strings.TrimSpace(c.o.PostalAddress),
		Depth:          depth,
	}
	if e.ID != 0 && e.Digest.Archived() {
		// Only a stored edition has a page: a preview of the next one has none yet.
		d.ArchiveURL = ln.Edition(e.Digest.Name, e.Key)
	}
	if named {
		d.Name = c.ph.of(phName)
	}
	// The content folder, for the size of local lead images.
	var images *os.Root
	if c.o.ContentDir != "" {
		if root, err := os.OpenRoot(c.o.ContentDir); err == nil {
			images = root
			defer root.Close()
		}
	}
	for _, a := range picked {
		av := ArticleView{
			Title:     cleanLine(a.Title),
			URL:       ln.Deepest(a.Slug, a.HasFull()),
			Tags:      a.Tags,
			Published: a.Published,
		}
		setImage(&av, a, ln, images)
		for _, b := range a.Take {
			if t := cleanLine(b.Text); t != "" {
				av.Take = append(av.Take, t)
			}
		}
		if depth == subscribers.DepthDigest {
			if err := addDigestTier(&av, a); err != nil {
				return nil, err
			}
		}
		if d.Preheader == "" && len(av.Take) > 0 {
			d.Preheader = av.Take[0]
		}
		d.Articles = append(d.Articles, av)
	}
	st, err := parseSubject(e.Digest.Name, e.Digest.Subject)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	sd := SubjectData{Title: d.Title, Date: date.Format("Mon, 2 Jan 2006"), Count: d.Count,
		Digest: DigestInfo{Name: e.Digest.Name, Title: d.Title}}
	if err := st.Execute(&sb, sd); err != nil {
		return nil, &RenderError{Digest: e.Digest.Name, Template: "subject", Err: err}
	}
	d.Subject = cmp.Or(cleanLine(sb.String()), d.Title)
	h, t, err := c.digestTmpl.render(e.Digest.Name, d)
	if err != nil {
		return nil, err
	}
	// The List-Id domain: [email] list_id when set, else From's domain.
	listDomain := cmp.Or(headerToken(strings.TrimSpace(c.o.ListIDDomain)), headerToken(c.fromDomain))
	return &variant{
		// Encoded once here, go-mail passes the ASCII result through
		// instead of encoding it for every recipient.
		subject: mime.QEncoding.Encode("UTF-8", d.Subject),
		folder:  fileToken(e.Digest.Name) + "/" + fileToken(e.Key),
		listID:  phrase(d.Title) + " <" + headerToken(e.Digest.Name) + "." + listDomain + ">",
		html:    c.ph.split(breakLongLines(asciiHTML(h))),
		text:    c.ph.flowedText(t),
	}, nil
}

// parseSubject parses the subject template src of digest name.
func parseSubject(name, src string) (*template.Template, error) {
	if strings.TrimSpace(src) == "" {
		src = DefaultSubject
	}
	t, err := template.New("subject").Funcs(config.SubjectFuncs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, &RenderError{Digest: name, Template: "subject", Err: err}
	}
	return t, nil
}

// ConfirmURL is the absolute address of the double opt-in link carrying
// token, as the site serves it: <base>confirm?token=<token>.
func ConfirmURL(baseURL, token string) string { return links.New(baseURL).Confirm(token) }

// Confirmation composes the double opt-in email with its signed link. It
// carries no user-chosen text but the address in To: r.Name is ignored
// (the sign-up form lets anyone type one and mail it to any address). Its
// List-Unsubscribe lets the owner of the address say "this was not me".
func (c *Composer) Confirmation(r Recipient, confirmURL string) (*Message, error) {
	r.Name = ""
	to, err := recipientAddress(r)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(confirmURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("email: confirmation link must be an absolute http(s) URL")
	}
	now := c.now()
	unsubURL := c.unsubscribeURL(c.signer.Sign(tokens.Unsubscribe, r.ID, r.TokenKey, now.Add(TokenTTL)))
	data := &ConfirmData{
		SiteTitle:      cleanLine(c.o.SiteTitle),
		BaseURL:        c.o.BaseURL,
		ConfirmURL:     u.String(),
		UnsubscribeURL: unsubURL,
		PostalAddress:  strings.TrimSpace(c.o.PostalAddress),
	}
	if c.o.ConfirmTTL > 0 {
		loc := c.location(r.Timezone, c.o.Location)
		data.Expires = now.Add(c.o.ConfirmTTL).In(loc).Format("Mon, 2 Jan 2006 15:04 MST")
	}
	h, t, err := c.confirmTmpl.render("", data)
	if err != nil {
		return nil, err
	}
	subject, err := c.confirmTmpl.subject(data)
	if err != nil {
		return nil, err
	}
	m, err := c.newMessage(to, cmp.Or(subject, "Confirm your subscription to "+data.SiteTitle), unsubURL, 0, r.ID)
	if err != nil {
		return nil, err
	}
	// The Message-ID's random part names the file, so two requests from
	// one subscriber never overwrite each other in the outbox.
	m.Folder, m.Name = "confirm", strconv.FormatInt(r.ID, 10)+"-"+strings.TrimPrefix(m.Msg.GetMessageID(), "<")[:12]
	m.Msg.SetGenHeader("Auto-Submitted", "auto-generated")
	m.Msg.SetBodyString(textFlowed, flowed(t), qp)
	m.Msg.AddAlternativeString(gomail.TypeTextHTML, h, qp)
	return m, nil
}

// checkConfirmTemplates renders the confirmation templates once with sample
// data, so an override naming a field ConfirmData lacks stops start-up
// rather than every sign-up.
func checkConfirmTemplates(p *pageTemplates) error {
	d := &ConfirmData{
		SiteTitle: "Site", BaseURL: "https://example.org/",
		ConfirmURL: "https://example.org/confirm?token=t", UnsubscribeURL: "https://example.org/unsubscribe?token=t",
		Expires: "Mon, 2 Jan 2006 15:04 UTC", PostalAddress: "1 Street",
	}
	if _, _, err := p.render("", d); err != nil {
		return err
	}
	_, err := p.subject(d)
	return err
}

// fileToken makes s safe as one path component: letters, digits, "-",
// "_" and "." only, never "." or "..".
func fileToken(s string) string { return cmp.Or(headerToken(s), "_") }
