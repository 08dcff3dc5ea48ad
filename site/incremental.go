package site

import (
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"time"

	"briefcast/articles"
	"briefcast/editions"
	"briefcast/feeds"
	"briefcast/links"
)

// incState is what a site keeps for Update to tell which files an article
// change reaches; no builder, so an old site is released once not served.
type incState struct {
	opts     Options
	tmpl     fs.FS
	pages    *renderer
	tagLinks map[string]*tagView            // by tag as articles spell it
	tags     map[string]*tagGroup           // by slug; Articles index the site's Articles
	all      []int                          // the index of every article built
	images   map[string]*leadImage          // the lead images published, by slug
	notes    map[*articles.Article][]string // each article's notes
	archive  []string                       // paths of the archive's files
}

// keep records the state of a finished build for the next Update.
func (b *builder) keep(archive []string) *incState {
	st := &incState{
		opts: b.opts, tmpl: b.tmpl, pages: b.pages, tagLinks: b.tagLinks, all: b.all,
		tags:   make(map[string]*tagGroup, len(b.tags)),
		images: b.images, notes: b.artNotes, archive: archive,
	}
	for _, g := range b.tags {
		st.tags[g.Slug] = g
	}
	return st
}

// Update builds the site for arts as BuildWithArchive would, byte for byte,
// rendering again only what the articles added, changed (a new *Article)
// or removed since prev reach: in full without a prev of equal opts and
// tmpl. A served prev is updated in its folder; after an error, serve prev.
func Update(prev *Site, opts Options, arts []*articles.Article, tmpl fs.FS, eds []*editions.Edition) (*Site, error) {
	if prev == nil || prev.inc == nil || !reflect.DeepEqual(prev.inc.opts, opts) || prev.inc.tmpl != tmpl ||
		(prev.inc.pages.pages["archive.html"] == nil && len(eds) > 0) {
		if prev != nil && prev.Dir != "" {
			return PublishServed(opts, arts, tmpl, prev.Dir, eds)
		}
		return build(opts, arts, tmpl, nil, eds)
	}
	b, err := newBuilder(opts, arts, tmpl, nil, eds, prev)
	if err != nil {
		return nil, err
	}
	u := &updater{b: b, prev: prev, files: maps.Clone(prev.Files), removed: map[string]bool{}}
	u.removeGone()
	results, err := run(u.jobs())
	if err != nil {
		return nil, err
	}
	archive := collect(u.files, results)
	s := &Site{Files: u.files, Articles: b.arts, Notes: b.notes, Feeds: feedPaths(u.files), Dir: prev.Dir}
	if s.Dir != "" {
		if err := s.writeLive(prev, results, u.removed); err != nil {
			return nil, err
		}
	}
	s.inc = b.keep(archive)
	return s, nil
}

// markDirty lists the articles whose own output must be made again: the
// new ones, and those with a tag another article's spelling renamed.
func (b *builder) markDirty() {
	b.dirty = make(map[*articles.Article]bool)
	relinked := make(map[string]bool) // the tags whose name or link changed: few, if any
	for t, v := range b.tagLinks {
		if old := b.prev.tagLinks[t]; old == nil || *old != *v {
			relinked[t] = true
		}
	}
	for _, a := range b.arts {
		if _, built := b.prevAt[a]; !built || (len(relinked) > 0 && slices.ContainsFunc(a.Tags, func(t string) bool { return relinked[t] })) {
			b.dirty[a] = true
		}
	}
}

// updater is one Update in progress; files starts as a copy of prev's.
type updater struct {
	b       *builder
	prev    *Site // its inc is b.prev
	files   map[string]*File
	removed map[string]bool // paths of prev taken out (some made again by the jobs)
}

// remove takes the file at p out of the new site.
func (u *updater) remove(p string) {
	if _, ok := u.files[p]; ok {
		delete(u.files, p)
		u.removed[p] = true
	}
}

// removeGone deletes the files of the articles and tag pages that went,
// the listing pages past the new last page, and the archive (made again).
func (u *updater) removeGone() {
	b := u.b
	for _, p := range b.prev.archive {
		u.remove(p)
	}
	bySlug := make(map[string]*articles.Article, len(b.arts))
	for _, a := range b.arts {
		bySlug[a.Slug] = a
	}
	for _, a := range u.prev.Articles {
		if bySlug[a.Slug] == nil {
			u.remove("/articles/" + a.Slug + "/index.html")
		}
		if img := b.prev.images[a.Slug]; img != nil && bySlug[a.Slug] != a {
			u.remove("/articles/" + a.Slug + "/" + img.rel)
		}
	}
	u.removePages("", len(u.prev.Articles), len(b.arts))
	now := make(map[string]int, len(b.tags))
	for _, g := range b.tags {
		now[g.Slug] = len(g.Articles)
	}
	for slug, t := range b.prev.tags {
		n, ok := now[slug]
		u.removePages(links.TagsDir+slug+"/", len(t.Articles), n)
		if !ok {
			for _, name := range []string{feeds.RSSFile, feeds.AtomFile, feeds.JSONFile} {
				u.remove("/" + links.TagsDir + slug + "/" + name)
			}
		}
	}
}

// removePages deletes the pages of the listing at dir that went from was articles to now.
func (u *updater) removePages(dir string, was, now int) {
	from := u.b.pageCount(now) + 1
	if now == 0 && was > 0 && dir != "" {
		from = 1 // the tag is gone: its first page too
	}
	for n := from; n <= u.b.pageCount(was); n++ {
		u.remove("/" + listingPath(dir, n) + "index.html")
	}
}

// jobs lists what the update renders again: the pages every change
// reaches, and those and the feeds whose articles changed.
func (u *updater) jobs() []job {
	b := u.b
	jobs := []job{b.tagsPage, b.notFoundPage, b.stylesheet, b.imageFiles, b.favicons}
	if u.sitemapChanged() {
		jobs = append(jobs, b.crawlerFiles)
	}
	if u.feedChanged(b.all, b.prev.all) {
		jobs = append(jobs, b.siteFeedJobs()...)
	}
	jobs = append(jobs, u.listingJobs(b.all, b.prev.all, nil, false)...)
	for _, g := range b.tags {
		old := b.prev.tags[g.Slug]
		var was []int
		renamed := old == nil || old.Name != g.Name
		if old != nil {
			was = old.Articles
		}
		// A tag page shows its count: any article in or out changes all.
		recount := len(was) != len(g.Articles)
		jobs = append(jobs, u.listingJobs(g.Articles, was, g, renamed || recount)...)
		if renamed || u.feedChanged(g.Articles, was) {
			jobs = append(jobs, b.tagFeedJob(g))
		}
	}
	jobs = append(jobs, u.articleJobs()...)
	return append(jobs, b.archiveJobs()...)
}

// sitemapChanged reports whether the sitemap (and robots.txt) may differ from
// prev's: on a large site it is the largest file an edit would make again.
func (u *updater) sitemapChanged() bool {
	was := u.prev.Articles
	if len(was) != len(u.b.arts) || u.files["/sitemap.xml"] == nil {
		return true
	}
	for i, a := range u.b.arts {
		o := was[i]
		if a != o && (a.Slug != o.Slug || !a.Updated.Equal(o.Updated) || !slices.Equal(a.Tags, o.Tags)) {
			return true
		}
	}
	for t, v := range u.b.tagLinks {
		if old := u.b.prev.tagLinks[t]; old == nil || old.URL != v.URL {
			return true
		}
	}
	return false
}

// changed reports whether the article at i of idx differs from the one at i
// of was (indexes into prev's articles), or was changed.
func (u *updater) changed(idx, was []int, i int) bool {
	a := u.b.arts[idx[i]]
	return i >= len(was) || u.prev.Articles[was[i]] != a || u.b.dirty[a]
}

// feedChanged reports whether the newest [feeds] items of idx and was differ.
func (u *updater) feedChanged(idx, was []int) bool {
	n := min(len(idx), u.b.opts.FeedItems)
	if n != min(len(was), u.b.opts.FeedItems) {
		return true
	}
	for i := range n {
		if u.changed(idx, was, i) {
			return true
		}
	}
	return false
}

// listingJobs renders again the pages of a listing whose articles changed
// (all, with all); a page kept gets the listing's new Modified.
func (u *updater) listingJobs(idx, was []int, g *tagGroup, all bool) []job {
	b := u.b
	all = all || b.pageCount(len(idx)) != b.pageCount(len(was))
	return b.listingJobs(idx, g, func(l *listing, n, lo, hi int) bool {
		// A page that held a different number of articles changed too.
		redo := all || min(lo+b.pageSize(), len(was))-lo != hi-lo
		for i := lo; i < hi && !redo; i++ {
			redo = u.changed(idx, was, i)
		}
		if !redo {
			u.retime("/"+listingPath(l.file, n)+"index.html", l.mod)
		}
		return !redo
	})
}

// retime gives a kept file a new Modified, as a copy: prev may still serve it.
func (u *updater) retime(path string, mod time.Time) {
	if f := u.files[path]; f != nil && !f.Modified.Equal(mod) {
		c := *f
		c.Modified = mod
		u.files[path] = &c
	}
}

// articleJobs renders the pages of the changed articles and their neighbours.
func (u *updater) articleJobs() []job {
	b := u.b
	at := func(list []*articles.Article, i int) *articles.Article {
		if i < 0 || i >= len(list) {
			return nil
		}
		return list[i]
	}
	var jobs []job
	for i, a := range b.arts {
		j, was := b.prevAt[a]
		redo := !was || b.dirty[a] || b.dirty[at(b.arts, i-1)] || b.dirty[at(b.arts, i+1)] ||
			at(b.arts, i-1) != at(u.prev.Articles, j-1) || at(b.arts, i+1) != at(u.prev.Articles, j+1)
		if redo {
			jobs = append(jobs, func() ([]*File, error) { return b.articlePage(i) })
		}
	}
	return jobs
}
