// Package links is the public URL layout of a briefcast site: where each
// article, tag page, feed and subscription link lives under base_url. The
// site writes its files at these places, the server routes them, and the
// feeds and the mail link to them, all through one Layout, so they cannot
// drift apart.
package links

import (
	"net/url"
	"path"
	"strconv"
	"strings"
)

// The paths below base_url of the layout's parts. Routes use them with the
// base URL's path in front.
const (
	ArticlesDir     = "articles/"
	TagsDir         = "tags/"
	ConfirmPath     = "confirm"
	UnsubscribePath = "unsubscribe"
	PreferencesPath = "preferences"
	SubscribePath   = "subscribe"

	// FullDepthAnchor is the id of an article page's full-depth section.
	FullDepthAnchor = "full-depth"
)

// The feed files, in the site's folder and in every tag's folder.
const (
	RSS  Feed = "feed.xml"
	Atom Feed = "atom.xml"
	JSON Feed = "feed.json"
)

// Feed is one of the feed files.
type Feed string

// Layout makes the absolute URLs of one site. The zero Layout makes
// root-relative ones ("/articles/x/").
type Layout struct {
	base string // base_url, ending in "/"
}

// New returns the layout of the site at baseURL, which may carry a path
// (https://example.org/news/); a missing final slash is supplied.
func New(baseURL string) Layout {
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	return Layout{base: baseURL}
}

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

// ArticleFile is the file at rel (a slash-separated path, such as a lead
// image's "img/a.jpg") published beside the page of the article with
// slug, each segment escaped.
func (l Layout) ArticleFile(slug, rel string) string {
	segs := strings.Split(path.Clean(rel), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return l.Article(slug) + strings.Join(segs, "/")
}

// FullDepth is the full-depth section of the article with slug.
func (l Layout) FullDepth(slug string) string {
	return l.Article(slug) + "#" + FullDepthAnchor
}

// Deepest is where a reader who wants more of the article with slug is
// sent: its full-depth section when it has one (hasFull), else the page
// itself, since a take-only article has no such anchor to land on.
func (l Layout) Deepest(slug string, hasFull bool) string {
	if hasFull {
		return l.FullDepth(slug)
	}
	return l.Article(slug)
}

// Tag is the page of the tag whose folder name is slug.
func (l Layout) Tag(slug string) string {
	return l.Base() + TagsDir + url.PathEscape(slug) + "/"
}

// Feed is the site's feed of kind.
func (l Layout) Feed(kind Feed) string { return l.Base() + string(kind) }

// TagFeed is the feed of kind of the tag whose folder name is slug.
func (l Layout) TagFeed(slug string, kind Feed) string { return l.Tag(slug) + string(kind) }

// DepthDir is the folder of the feeds at depth ("take", "digest" or
// "full"), below base_url.
func DepthDir(depth string) string { return depth + "/" }

// DepthFeed is the feed of kind whose items carry depth.
func (l Layout) DepthFeed(depth string, kind Feed) string {
	return l.Base() + DepthDir(depth) + string(kind)
}

// DigestsDir is the folder of the digest archives.
const DigestsDir = "digests/"

// DigestDir is the folder of the archive of the digest name, below
// base_url, escaped for a URL.
func DigestDir(name string) string { return DigestsDir + url.PathEscape(name) + "/" }

// Archive is the page listing the editions of the digest name.
func (l Layout) Archive(name string) string { return l.Base() + DigestDir(name) }

// ArchivePage is page n (from 1) of that list; page 1 is Archive.
func (l Layout) ArchivePage(name string, n int) string {
	if n <= 1 {
		return l.Archive(name)
	}
	return l.Archive(name) + "page/" + strconv.Itoa(n) + "/"
}

// Edition is the archive page of the edition key of the digest name: the
// "View in browser" link of its mail.
func (l Layout) Edition(name, key string) string {
	return l.Archive(name) + url.PathEscape(key) + "/"
}

// ArchiveFeed is the feed of kind of the editions of the digest name.
func (l Layout) ArchiveFeed(name string, kind Feed) string { return l.Archive(name) + string(kind) }

// Subscribe is the sign-up page.
func (l Layout) Subscribe() string { return l.Base() + SubscribePath }

// Confirm is the double opt-in link carrying token.
func (l Layout) Confirm(token string) string { return l.withToken(ConfirmPath, token) }

// Unsubscribe is the one-click unsubscribe link carrying token.
func (l Layout) Unsubscribe(token string) string { return l.withToken(UnsubscribePath, token) }

// Preferences is the preferences page of the subscriber token names.
func (l Layout) Preferences(token string) string { return l.withToken(PreferencesPath, token) }

func (l Layout) withToken(path, token string) string {
	return l.Base() + path + "?token=" + url.QueryEscape(token)
}
