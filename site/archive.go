package site

import (
	"cmp"
	"html"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"briefcast/articles"
	"briefcast/editions"
	"briefcast/feeds"
	"briefcast/links"
)

// ArchivePerPage is how many editions a page of a digest's archive lists.
const ArchivePerPage = 20

// BuildWithArchive is Build with the archive of every archived digest: a
// page per edition of eds at /digests/<name>/<key>/, their list at
// /digests/<name>/ and its feeds. Editions show their articles as they are
// now, leaving out those deleted since.
func BuildWithArchive(opts Options, arts []*articles.Article, tmpl fs.FS, eds []*editions.Edition) (*Site, error) {
	return build(opts, arts, tmpl, nil, eds)
}

// archiveDigest is one digest's archive.
type archiveDigest struct {
	Name, Title string
	URL         string // root-relative
	Editions    []*editionView
}

// editionView is one edition as its page and the archive list show it.
type editionView struct {
	Key, Title        string
	URL               string // root-relative
	AbsURL            string
	Date              time.Time
	DateText, DateISO string
	Articles          []*articleView
}

// archiveView is the data of an archive page.
type archiveView struct {
	*pageView
	Digest         *archiveDigest
	Editions       []*editionView // this page's share of the list
	Edition        *editionView   // on an edition's page
	Prev, Next     string         // the newer and older pages of the list; "" at either end
	PageNum, Pages int
}

func (b *builder) editionView(ad *archiveDigest, e *editions.Edition, byID map[string]*articles.Article, loc *time.Location) *editionView {
	date := e.Cutoff.In(loc)
	v := &editionView{
		Key:      e.Key,
		Title:    ad.Title + ", " + humanDate(date),
		URL:      b.rel.Edition(ad.Name, e.Key),
		AbsURL:   b.abs.Edition(ad.Name, e.Key),
		Date:     date,
		DateText: humanDate(date),
		DateISO:  isoDate(date),
	}
	for _, id := range e.Articles {
		if a := byID[id]; a != nil {
			v.Articles = append(v.Articles, b.newArticleView(a))
		}
	}
	return v
}

// archiveJobs renders the pages and feeds of every archived digest's
// editions (eds, newest first).
func (b *builder) archiveJobs() []job {
	if len(b.eds) == 0 {
		return nil
	}
	byID := make(map[string]*articles.Article, len(b.arts))
	for _, a := range b.arts {
		byID[a.ID] = a
	}
	var jobs []job
	for _, d := range b.opts.Digests {
		if !d.Archived {
			continue
		}
		ad := &archiveDigest{Name: d.Name, Title: d.title(), URL: b.rel.Archive(d.Name)}
		for _, e := range b.eds {
			if e.Digest == d.Name {
				ad.Editions = append(ad.Editions, b.editionView(ad, e, byID, cmp.Or(d.Location, time.UTC)))
			}
		}
		if len(ad.Editions) == 0 {
			continue
		}
		pages := (len(ad.Editions) + ArchivePerPage - 1) / ArchivePerPage
		for n := 1; n <= pages; n++ {
			jobs = append(jobs, func() ([]*File, error) { return b.archiveListPage(ad, n, pages) })
		}
		for _, e := range ad.Editions {
			jobs = append(jobs, func() ([]*File, error) { return b.editionPage(ad, e) })
		}
		jobs = append(jobs, func() ([]*File, error) { return b.archiveFeeds(ad) })
	}
	return jobs
}

// archivePage is the page data shared by an archive's pages.
func (b *builder) archivePage(ad *archiveDigest, title, canonical string) (*archiveView, error) {
	p := b.page(title, canonical)
	var err error
	if p.Feeds, p.FeedLinks, err = b.feedsOf(links.DigestDir(ad.Name), ad.Title); err != nil {
		return nil, err
	}
	return &archiveView{pageView: p, Digest: ad}, nil
}

func (b *builder) archiveListPage(ad *archiveDigest, n, pages int) ([]*File, error) {
	title := ad.Title + ": every edition"
	if n > 1 {
		title += " (page " + strconv.Itoa(n) + ")"
	}
	v, err := b.archivePage(ad, title, b.baseURL+listingPath(links.DigestDir(ad.Name), n))
	if err != nil {
		return nil, err
	}
	lo, hi := (n-1)*ArchivePerPage, min(n*ArchivePerPage, len(ad.Editions))
	v.Editions, v.PageNum, v.Pages = ad.Editions[lo:hi], n, pages
	if n > 1 {
		v.Prev = listingPath(ad.URL, n-1)
	}
	if n < pages {
		v.Next = listingPath(ad.URL, n+1)
	}
	path := "/" + listingPath(links.DigestsDir+ad.Name+"/", n) + "index.html"
	return b.render(-1, path, "archive.html", v, ad.Editions[lo].Date)
}

func (b *builder) editionPage(ad *archiveDigest, e *editionView) ([]*File, error) {
	v, err := b.archivePage(ad, e.Title, e.AbsURL)
	if err != nil {
		return nil, err
	}
	v.Edition = e
	return b.render(-1, "/"+links.DigestsDir+ad.Name+"/"+e.Key+"/index.html", "archive_edition.html", v, e.Date)
}

// archiveFeeds renders the feeds of a digest's archive: an item per edition.
func (b *builder) archiveFeeds(ad *archiveDigest) ([]*File, error) {
	dir := links.DigestDir(ad.Name)
	c := b.channel(dir, ad.Title, "Every edition of "+ad.Title+" from "+b.opts.Title, b.baseURL+dir)
	eds := ad.Editions[:min(len(ad.Editions), b.opts.FeedItems)]
	items := make([]*feeds.Item, len(eds))
	for k, e := range eds {
		h := editionSummary(e)
		items[k] = &feeds.Item{
			ID: e.AbsURL, Title: feeds.XMLSafe(e.Title), URL: e.AbsURL,
			Published: e.Date, Updated: e.Date,
			SummaryHTML: feeds.XMLSafe(h), ContentHTML: feeds.XMLSafe(h),
			SummaryText: editionText(e), ContentText: editionText(e),
		}
	}
	var mod time.Time
	if len(eds) > 0 {
		mod = eds[0].Date
	}
	return b.feedSet(c, items, links.DigestsDir+ad.Name+"/", mod)
}

// editionSummary is the HTML of an edition's feed item.
func editionSummary(e *editionView) string {
	var b strings.Builder
	b.WriteString("<ul>\n")
	for _, a := range e.Articles {
		b.WriteString(`<li><a href="` + html.EscapeString(strings.TrimSuffix(a.FullDepthURL, "#"+links.FullDepthAnchor)) + `">` + html.EscapeString(a.Title) + "</a></li>\n")
	}
	b.WriteString("</ul>\n<p><a href=\"" + html.EscapeString(e.AbsURL) + "\">Read this edition</a></p>")
	return b.String()
}

// editionText is editionSummary as plain text.
func editionText(e *editionView) string {
	var b strings.Builder
	for _, a := range e.Articles {
		b.WriteString("- " + a.Title + "\n")
	}
	b.WriteString("\nRead this edition: " + e.AbsURL)
	return b.String()
}
