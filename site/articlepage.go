package site

import (
	"bytes"
	"io/fs"
	"strings"

	"briefcast/templates"
)

// An article page is the one page a build renders once per article, so at
// ten thousand articles html/template's cost per action (a reflective call
// for every escaped value) is most of the build. When layout.html and
// article.html are the built-in ones, writeArticlePage writes the same bytes
// directly, and so does writeArchived for the archive entry that every
// article has on the index. An operator who overrides either template gets the templates
// executed as usual. TestArticlePageDirect checks, on every test article,
// that both ways give identical pages, and the escapers below are checked
// against html/template on hostile strings.

// builtinArticlePage reports whether tmpl's layout.html and article.html
// are the built-in ones.
func builtinArticlePage(tmpl fs.FS) bool {
	return builtinTemplates(tmpl, "layout.html", "article.html")
}

// builtinListings reports whether the templates of every listing
// (layout.html, index.html, tag.html and 404.html) are the built-in ones,
// which show the articles only through each one's "card" and "archived"
// fragments, and the 404 page's titles and links: then a build keeps
// those of each article instead of its whole view.
// TestArticlePageDirect checks that this changes no byte.
func builtinListings(tmpl fs.FS) bool {
	return builtinTemplates(tmpl, "layout.html", "index.html", "tag.html", "404.html")
}

// builtinTemplates reports whether tmpl's templates names are the built-in
// ones.
func builtinTemplates(tmpl fs.FS, names ...string) bool {
	for _, name := range names {
		got, err := fs.ReadFile(tmpl, name)
		if err != nil {
			return false
		}
		want, err := fs.ReadFile(templates.Embedded(), name)
		if err != nil || !bytes.Equal(got, want) {
			return false
		}
	}
	return true
}

// writeArchived writes what executing layout.html's "archived" with v
// writes.
func writeArchived(w *bytes.Buffer, v *articleView) {
	w.WriteString("\n<li><time datetime=\"")
	escText(w, v.PublishedISO)
	w.WriteString("\">")
	escText(w, v.PublishedDate)
	w.WriteString("</time> <a href=\"")
	escURL(w, v.URL)
	w.WriteString("\">")
	escText(w, v.Title)
	w.WriteString("</a></li>")
}

// writeCard writes what executing layout.html's "card" with v writes.
func writeCard(w *bytes.Buffer, v *articleView) {
	w.WriteString("\n<li class=\"card\">\n<h2><a href=\"")
	escURL(w, v.URL)
	w.WriteString("\">")
	escText(w, v.Title)
	w.WriteString("</a></h2>\n<p class=\"meta\"><time datetime=\"")
	escText(w, v.PublishedISO)
	w.WriteString("\">")
	escText(w, v.PublishedDate)
	w.WriteString("</time>")
	for _, t := range v.Tags {
		w.WriteString(" <a class=\"tag\" href=\"")
		escURL(w, t.URL)
		w.WriteString("\">")
		escText(w, t.Name)
		w.WriteString("</a>")
	}
	w.WriteString("</p>\n<ul class=\"take\">")
	for _, t := range v.Take {
		w.WriteString("\n<li>")
		w.WriteString(string(t))
		w.WriteString("</li>")
	}
	w.WriteString("\n</ul>")
	if v.HasDigest || v.HasFull {
		w.WriteString("\n<p class=\"more\">")
		if v.HasDigest {
			w.WriteString("<a href=\"")
			escURL(w, v.URL)
			w.WriteString("#digest\">2-minute digest</a>")
		}
		if v.HasDigest && v.HasFull {
			w.WriteString(" · ")
		}
		if v.HasFull {
			w.WriteString("<a href=\"")
			escURL(w, v.URL)
			w.WriteString("#full-depth\">Full depth</a>")
		}
		w.WriteString("</p>")
	}
	w.WriteString("\n</li>")
}

// writeArticlePage writes what executing "layout" of article.html with p
// writes.
func writeArticlePage(w *bytes.Buffer, p *pageView) {
	s := p.Site
	w.WriteString("<!doctype html>\n<html lang=\"")
	escText(w, s.Language)
	w.WriteString("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
	if p.Title != "" {
		escText(w, p.Title)
		w.WriteString(" · ")
	}
	escText(w, s.Title)
	w.WriteString("</title>")
	w.WriteString(string(s.Head))
	w.WriteString(string(p.FeedLinks))
	if p.Canonical != "" {
		w.WriteString("\n<link rel=\"canonical\" href=\"")
		escURL(w, p.Canonical)
		w.WriteString("\">")
	}
	w.WriteString("\n</head>\n<body>\n")
	w.WriteString(string(s.Masthead))
	w.WriteString("\n<main>\n")
	if p.Article != nil {
		writeArticle(w, p.Article)
	}
	w.WriteString("\n\n</main>\n")
	w.WriteString(string(s.Footer))
	w.WriteString("\n</body>\n</html>\n")
}

// writeArticle writes article.html's "content" without its last newline.
func writeArticle(w *bytes.Buffer, v *articleView) {
	w.WriteString("\n<article class=\"brief\">\n<header>\n<h1>")
	escText(w, v.Title)
	w.WriteString("</h1>\n<p class=\"meta\"><time datetime=\"")
	escText(w, v.PublishedISO)
	w.WriteString("\">")
	escText(w, v.PublishedDate)
	w.WriteString("</time>")
	if v.Revised {
		w.WriteString(" · updated <time datetime=\"")
		escText(w, v.UpdatedISO)
		w.WriteString("\">")
		escText(w, v.UpdatedDate)
		w.WriteString("</time>")
	}
	if v.Author != "" {
		w.WriteString(" · by ")
		escText(w, v.Author)
	}
	w.WriteString("</p>")
	if len(v.Tags) > 0 {
		w.WriteString("\n<p class=\"tags\">")
		for _, t := range v.Tags {
			w.WriteString("<a class=\"tag\" href=\"")
			escURL(w, t.URL)
			w.WriteString("\">")
			escText(w, t.Name)
			w.WriteString("</a> ")
		}
		w.WriteString("</p>")
	}
	w.WriteString("\n<nav class=\"tiers\" aria-label=\"Depth\"><a href=\"#take\">30-second take</a>")
	if v.HasDigest {
		w.WriteString(" · <a href=\"#digest\">2-minute digest</a>")
	}
	if v.HasFull {
		w.WriteString(" · <a href=\"#full-depth\">Full depth</a>")
	}
	w.WriteString("</nav>\n</header>\n\n<section id=\"take\" class=\"tier\" aria-labelledby=\"take-title\">\n<h2 id=\"take-title\">The 30-second take</h2>\n<ul class=\"take\">")
	for _, t := range v.Take {
		w.WriteString("\n<li>")
		w.WriteString(string(t))
		w.WriteString("</li>")
	}
	w.WriteString("\n</ul>\n</section>")
	if v.HasDigest {
		w.WriteString("\n\n<section id=\"digest\" class=\"tier\" aria-labelledby=\"digest-title\">\n<h2 id=\"digest-title\">The 2-minute digest</h2>")
		writeSections(w, v.Digest)
		if len(v.Players) > 0 {
			w.WriteString("\n<h3>Core players</h3>\n<dl class=\"players\">")
			for _, pl := range v.Players {
				w.WriteString("\n<div><dt>")
				escText(w, pl.Name)
				w.WriteString("</dt><dd>")
				escText(w, pl.Role)
				w.WriteString("</dd></div>")
			}
			w.WriteString("\n</dl>")
		}
		if len(v.Numbers) > 0 {
			w.WriteString("\n<h3>Key numbers</h3>\n<table class=\"numbers\">\n<thead><tr><th scope=\"col\">Figure</th><th scope=\"col\">What it means</th></tr></thead>\n<tbody>")
			for _, n := range v.Numbers {
				w.WriteString("\n<tr><th scope=\"row\">")
				escText(w, n.Figure)
				w.WriteString("</th><td>")
				escText(w, n.Meaning)
				w.WriteString("</td></tr>")
			}
			w.WriteString("\n</tbody>\n</table>")
		}
		w.WriteString("\n</section>")
	}
	if v.HasFull {
		w.WriteString("\n\n<section id=\"full-depth\" class=\"tier\" aria-labelledby=\"full-title\">\n<h2 id=\"full-title\">Full depth</h2>")
		writeSections(w, v.Full)
		if len(v.Points) > 0 {
			w.WriteString("\n<h3>Data points</h3>\n<ol class=\"timeline\">")
			for _, pt := range v.Points {
				w.WriteString("\n<li><span class=\"when\">")
				escText(w, pt.Date)
				w.WriteString("</span> <span class=\"what\">")
				escText(w, pt.Event)
				w.WriteString("</span></li>")
			}
			w.WriteString("\n</ol>")
		}
		for _, c := range v.Closing {
			w.WriteString("\n<p class=\"closing\">")
			escText(w, c)
			w.WriteString("</p>")
		}
		w.WriteString("\n</section>")
	}
	w.WriteString("\n</article>")
}

func writeSections(w *bytes.Buffer, secs []sectionView) {
	for _, s := range secs {
		w.WriteString("\n<h3>")
		escText(w, s.Title)
		w.WriteString("</h3>\n")
		w.WriteString(string(s.HTML))
	}
}

// escText writes s as html/template escapes a string in text, in RCDATA
// (<title>) and in a quoted attribute value: NUL becomes U+FFFD, and
// " & ' + < > become character references.
func escText(w *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case 0:
			rep = "\uFFFD"
		case '"':
			rep = "&#34;"
		case '&':
			rep = "&amp;"
		case '\'':
			rep = "&#39;"
		case '+':
			rep = "&#43;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		default:
			continue
		}
		w.WriteString(s[last:i])
		w.WriteString(rep)
		last = i + 1
	}
	w.WriteString(s[last:])
}

// escURL writes s as html/template writes a string into a quoted href: a
// URL with a scheme other than http, https or mailto becomes "#ZgotmplZ";
// bytes outside the URL alphabet are percent-encoded in lower-case hex
// (valid existing escapes are kept); the result is then escaped as an attribute value.
func escURL(w *bytes.Buffer, s string) {
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") {
		if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
			w.WriteString("#ZgotmplZ")
			return
		}
	}
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~',
			c == '!', c == '#', c == '$', c == '*', c == ',', c == '/', c == ':', c == ';', c == '=', c == '?', c == '@', c == '[', c == ']',
			c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			w.WriteByte(c)
		case c == '&':
			w.WriteString("&amp;")
		case c == '+':
			w.WriteString("&#43;")
		default:
			w.WriteByte('%')
			w.WriteByte(hex[c>>4])
			w.WriteByte(hex[c&15])
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
