package site

import (
	"cmp"
	"time"

	"briefcast/articles"
)

// Options are the settings a build uses, from the configuration.
type Options struct {
	BaseURL     string // absolute URL the site is served at
	Title       string
	Description string
	Language    string
	Author      string // "Name <email>", optional
	ContentDir  string // where articles and their lead images are read
	Slugs       string // tag slug style: see articles.TagSlug
	PageSize    int    // articles per home and tag page; 0 for 10

	FeedItems   int      // newest articles in each feed
	FeedContent string   // the depth of the main feeds' items
	FeedDepths  []string // the depths with their own feeds

	Digests []Digest // in the configuration's order
}

// Digest is one digest: a sign-up choice and, when Archived, an archive.
type Digest struct {
	Name     string
	Title    string // Name when empty
	Archived bool
	Location *time.Location // dates its editions; UTC when nil
}

// title is the digest's title as pages show it: Title, else Name.
func (d *Digest) title() string { return articles.CleanText(cmp.Or(d.Title, d.Name)) }
