// Package links is the public URL layout of a briefcast site under base_url:
// the site writes its files there, the server routes them, and the feeds and
// the mail link to them, all through one Layout, so they cannot drift apart.
package links

import (
	"net/url"
	"path"
	"strings"
)

// The paths below base_url of the layout's parts; routes put the base path in front.
const (
	ArticlesDir     = "articles/"
	TagsDir         = "tags/"
	DigestsDir      = "digests/" // the digest archives
	ConfirmPath     = "confirm"
	UnsubscribePath = "unsubscribe"
	PreferencesPath = "preferences"
	SubscribePath   = "subscribe"

	// FullDepthAnchor is the id of an article page's full-depth section.
	FullDepthAnchor = "full-depth"
)

// The feed files, in the site's folder and in every tag's folder.
const (
	RSS  = "feed.xml"
	Atom = "atom.xml"
	JSON = "feed.json"
)

// Layout makes the absolute URLs of one site; the zero Layout makes root-relative ones.
type Layout struct {
	base string // base_url, ending in "/"
}

// New returns the layout of the site at baseURL, which may carry a path
// (https://example.org/news/); a missing final slash is supplied.
func New(baseURL string) Layout { return Layout{base: strings.TrimSuffix(baseURL, "/") + "/"} }

// Base is base_url, ending in "/".
func (l Layout) Base() string {
	if l.base == "" {
		return "/"
	}
	return l.base
}

// Article is the page of the article with slug.
func (l Layout) Article(slug string) string {
	return l.Base() + ArticlesDir + url.PathEscape(slug) + "/"
}

// ArticleFile is the file at rel (slash-separated, such as "img/a.jpg")
// published beside the page of the article with slug, each segment escaped.
func (l Layout) ArticleFile(slug, rel string) string {
	segs := strings.Split(path.Clean(rel), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return l.Article(slug) + strings.Join(segs, "/")
}

// FullDepth is the full-depth section of the article with slug.
func (l Layout) FullDepth(slug string) string { return l.Article(slug) + "#" + FullDepthAnchor }

// Deepest is where a reader who wants more of the article with slug is sent:
// its full-depth section when it has one, else the page (no anchor to land on).
func (l Layout) Deepest(slug string, hasFull bool) string {
	if hasFull {
		return l.FullDepth(slug)
	}
	return l.Article(slug)
}

// Tag is the page of the tag whose folder name is slug.
func (l Layout) Tag(slug string) string { return l.Base() + TagDir(slug) }

// TagDir is the folder of the tag whose folder name is slug, escaped for a URL.
func TagDir(slug string) string { return TagsDir + url.PathEscape(slug) + "/" }

// DepthDir is the folder of the feeds at depth ("take", "digest" or "full").
func DepthDir(depth string) string { return depth + "/" }

// DigestDir is the folder of the archive of the digest name, escaped for a URL.
func DigestDir(name string) string { return DigestsDir + url.PathEscape(name) + "/" }

// Archive is the page listing the editions of the digest name.
func (l Layout) Archive(name string) string { return l.Base() + DigestDir(name) }

// Edition is the archive page of edition key of digest name: its mail's "View in browser" link.
func (l Layout) Edition(name, key string) string { return l.Archive(name) + url.PathEscape(key) + "/" }

// Confirm is the double opt-in link carrying token.
func (l Layout) Confirm(token string) string { return l.withToken(ConfirmPath, token) }

// Unsubscribe is the one-click unsubscribe link carrying token.
func (l Layout) Unsubscribe(token string) string { return l.withToken(UnsubscribePath, token) }

// Preferences is the preferences page of the subscriber token names.
func (l Layout) Preferences(token string) string { return l.withToken(PreferencesPath, token) }

func (l Layout) withToken(path, token string) string {
	return l.Base() + path + "?token=" + url.QueryEscape(token)
}
