package site

import (
	"briefcast/feeds"
	"briefcast/links"
)

// depthTitles name the depths in feed titles, as the pages name the tiers.
var depthTitles = map[string]string{
	feeds.ContentTake:   "30-second takes",
	feeds.ContentDigest: "2-minute digests",
	feeds.ContentFull:   "full depth",
}

// depthChannel is the channel of the feeds under /<depth>/: every article,
// each item carrying the tiers down to depth.
func (b *builder) depthChannel(depth string) feeds.Channel {
	c := b.siteChannel()
	c.Dir = links.DepthDir(depth)
	c.Title = b.opts.Title + " (" + depthTitles[depth] + ")"
	c.Description = "Every article of " + b.opts.Title + ", " + depthTitles[depth]
	return c
}

// depthJobs renders the feeds of every depth of feeds.depths.
func (b *builder) depthJobs(all []int) []func() ([]*File, error) {
	var jobs []func() ([]*File, error)
	for _, d := range b.opts.FeedDepths {
		jobs = append(jobs, func() ([]*File, error) { return b.feedFilesAt(b.depthChannel(d), all, d) })
	}
	return jobs
}

// depthFeedLinks are the autodiscovery links of the depth feeds, which
// every page advertises after the site's own.
func (b *builder) depthFeedLinks(siteTitle string) []feedLink {
	var out []feedLink
	for _, d := range b.opts.FeedDepths {
		out = append(out, feedLinks(b.baseURL, links.DepthDir(d), siteTitle+", "+depthTitles[d])...)
	}
	return out
}
