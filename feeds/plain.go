package feeds

import (
	"bytes"
	"regexp"
	"strings"
)

// plainElements are the RSS elements whose content is plain text, not
// escaped HTML.
var plainElements = regexp.MustCompile(`<(title|category|dc:creator|author|managingEditor|webMaster|generator|language)>([^<]*)</(title|category|dc:creator|author|managingEditor|webMaster|generator|language)>`)

// hexRefs rewrites "&amp;", "&lt;" and "&gt;" in RSS's plain-text elements
// as hexadecimal character references ("&#x26;"). Both mean the same
// character, but validators read the named ones there as HTML that was
// escaped into a plain-text element, and warn; readers that treat the
// element as HTML would show "&amp;" as "&". The HTML elements
// (description) keep their escaping.
func hexRefs(doc []byte) []byte {
	if !bytes.Contains(doc, []byte("&")) {
		return doc
	}
	r := strings.NewReplacer("&amp;", "&#x26;", "&lt;", "&#x3C;", "&gt;", "&#x3E;")
	return plainElements.ReplaceAllFunc(doc, func(m []byte) []byte {
		if !bytes.Contains(m, []byte("&")) {
			return m
		}
		open := bytes.IndexByte(m, '>') + 1
		close := bytes.LastIndexByte(m, '<')
		out := make([]byte, 0, len(m)+8)
		out = append(out, m[:open]...)
		out = append(out, r.Replace(string(m[open:close]))...)
		return append(out, m[close:]...)
	})
}
