package feeds

import (
	"net/url"
	"strings"

	"briefcast/articles"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// XMLSafe returns s without the characters XML 1.0 forbids (see
// articles.CleanText). gorilla/feeds writes content raw into CDATA, where one
// such character makes the whole file ill-formed, so every string that does
// not come from a parsed article goes through here before it reaches a feed.
func XMLSafe(s string) string { return articles.CleanText(s) }

// ResolveHTML makes a fragment of article HTML safe to publish anywhere:
// every relative href or src becomes absolute against base (the article's
// URL; readers resolve a relative one against the feed), links with schemes
// other than http, https and mailto are dropped, and script-like elements
// and event-handler attributes are removed: the second line behind the parsers.
func ResolveHTML(fragment string, base *url.URL) string {
	if !NeedsResolve(fragment) {
		return fragment
	}
	var b strings.Builder
	b.Grow(len(fragment) + 64)
	z := html.NewTokenizer(strings.NewReader(fragment))
	skip := atom.Atom(0) // inside an element whose content is dropped
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		if skip != 0 {
			if tt == html.EndTagToken && tok.DataAtom == skip {
				skip = 0
			}
			continue
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			switch tok.DataAtom {
			case atom.Script, atom.Style, atom.Iframe, atom.Object, atom.Noscript, atom.Template, atom.Textarea, atom.Title, atom.Xmp, atom.Noembed, atom.Noframes:
				if tt == html.StartTagToken {
					skip = tok.DataAtom
				}
				continue
			case atom.Embed, atom.Base, atom.Link, atom.Meta, atom.Form, atom.Input, atom.Button, atom.Frame, atom.Frameset, atom.Html, atom.Head, atom.Body:
				continue
			}
			if tt != html.EndTagToken {
				tok.Attr = resolveAttrs(tok.Attr, base)
			}
			b.WriteString(tok.String())
		case html.TextToken:
			b.WriteString(html.EscapeString(tok.Data))
		}
	}
	return b.String()
}

// NeedsResolve reports whether ResolveHTML has work to do on s; when it has
// not, ResolveHTML returns s as it is and never looks at its base URL. It
// runs on every section of every article, so it only looks at tag names.
func NeedsResolve(s string) bool {
	for {
		_, after, ok := strings.Cut(s, "<")
		if !ok {
			return false
		}
		var tag string
		tag, s, _ = strings.Cut(after, ">")
		if riskyTag(tag) {
			return true
		}
	}
}

// riskyTag reports whether the inside of a tag is anything but one of the
// elements the parsers emit, written bare (no attributes).
func riskyTag(tag string) bool {
	tag = strings.TrimPrefix(tag, "/")
	if len(tag) > 12 {
		return true
	}
	switch strings.ToLower(tag) {
	case "p", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote",
		"br", "br/", "br /", "hr", "hr/", "hr /", "h1", "h2", "h3", "h4", "h5", "h6",
		"b", "i", "del", "sup", "sub", "table", "thead", "tbody", "tr", "th", "td",
		"dl", "dt", "dd", "span", "div", "s":
		return false
	}
	return true
}

func resolveAttrs(attrs []html.Attribute, base *url.URL) []html.Attribute {
	out := attrs[:0]
	for _, a := range attrs {
		key := strings.ToLower(a.Key)
		if strings.HasPrefix(key, "on") || key == "style" || key == "srcset" || key == "formaction" || key == "action" {
			continue
		}
		switch key {
		case "href", "src", "cite", "poster", "longdesc", "background":
			u, ok := absolute(a.Val, base)
			if !ok {
				continue
			}
			a.Val = u
		}
		a.Namespace = ""
		out = append(out, a)
	}
	return out
}

// absolute resolves ref against base and accepts only http, https and
// mailto results.
func absolute(ref string, base *url.URL) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return "", false
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "mailto" || (scheme == "http" || scheme == "https") && u.Host != "" {
		return u.String(), true
	}
	return "", false
}
