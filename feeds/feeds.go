// Package feeds turns articles into RSS 2.0, Atom 1.0 and JSON Feed 1.1: it
// builds gorilla/feeds' structs and extends them with what gorilla leaves out
// (self links, categories, dc:creator, Atom <published>, stable ids ...).
// Every string is cleaned for XML, and no timestamp comes from the clock, so
// identical content gives byte-identical feeds.
package feeds

import (
	"briefcast/links"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	gfeeds "github.com/gorilla/feeds"
)

// Generator names briefcast in every feed.
const Generator = "briefcast"

// TTL is the polling hint of the RSS feeds, in minutes: articles are
// explainers, not breaking news (a WebSub hub still pushes every change).
const TTL = 60

// File names of the three feeds in a feed folder, and their content types.
const (
	RSSFile  = string(links.RSS)
	AtomFile = string(links.Atom)
	JSONFile = string(links.JSON)

	RSSType  = "application/rss+xml; charset=utf-8"
	AtomType = "application/atom+xml; charset=utf-8"
	JSONType = "application/feed+json; charset=utf-8"
)

// Channel describes one feed: the site's own, or one tag's.
type Channel struct {
	BaseURL     string // the site's base URL, ending in "/"; may carry a path
	Dir         string // folder of the feed files under BaseURL: "" for the site, "tags/<slug>/" for a tag
	Title       string
	Description string
	Language    string
	HomeURL     string // absolute URL of the HTML page the feed mirrors
	Author      string // feed-level author, "Name <email>" or "Name"; optional
}

// URL returns the absolute URL of the channel's file named name (RSSFile, ...).
func (c Channel) URL(name string) string { return links.New(c.BaseURL).Base() + c.Dir + name }

// updated is the newest Updated of items, never the clock, so a rebuild of
// the same content changes nothing.
func updated(items []*Item) time.Time {
	var t time.Time
	for _, it := range items {
		if it.Updated.After(t) {
			t = it.Updated
		}
	}
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t
}

// gorilla builds the generic gorilla feed that every format starts from,
// without authors or content: each format sets those itself.
func (c Channel) gorilla(items []*Item) *gfeeds.Feed {
	up := updated(items)
	f := &gfeeds.Feed{
		Title:       XMLSafe(c.Title),
		Link:        &gfeeds.Link{Href: c.HomeURL},
		Description: XMLSafe(c.Description),
		Created:     up,
		Updated:     up,
	}
	if f.Description == "" {
		f.Description = f.Title
	}
	for _, it := range items {
		f.Items = append(f.Items, &gfeeds.Item{
			Title:       it.Title,
			Link:        &gfeeds.Link{Href: it.URL},
			Description: it.SummaryHTML,
			Id:          it.ID,
			IsPermaLink: "false",
			Created:     it.Published,
			Updated:     it.Updated,
			Enclosure:   it.Image.enclosure(),
		})
	}
	return f
}

// xmlDoc adapts one of our wrapper documents to gorilla's ToXML.
type xmlDoc struct{ v any }

func (d xmlDoc) FeedXml() any { return d.v }

func toXML(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gfeeds.WriteXML(xmlDoc{v}, &b); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// rssDoc is gorilla's <rss> with the namespaces our extensions use.
type rssDoc struct {
	XMLName   xml.Name `xml:"rss"`
	Version   string   `xml:"version,attr"`
	NSContent string   `xml:"xmlns:content,attr"`
	NSDC      string   `xml:"xmlns:dc,attr"`
	NSAtom    string   `xml:"xmlns:atom,attr"`
	NSMedia   string   `xml:"xmlns:media,attr,omitempty"`
	Channel   *rssChannel
}

type rssChannel struct {
	XMLName xml.Name `xml:"channel"`
	*gfeeds.RssFeed
	AtomLink *rssAtomLink
	Items    []*rssItem `xml:"item"`
}

type rssAtomLink struct {
	XMLName xml.Name `xml:"atom:link"`
	Href    string   `xml:"href,attr"`
	Rel     string   `xml:"rel,attr"`
	Type    string   `xml:"type,attr"`
}

type rssItem struct {
	XMLName xml.Name `xml:"item"`
	*gfeeds.RssItem
	Categories []string `xml:"category"`
	Creator    string   `xml:"dc:creator,omitempty"`
	Media      *rssMedia
}

// RSS renders the channel as RSS 2.0 with items in the order given.
func RSS(c Channel, items []*Item) ([]byte, error) {
	gf := c.gorilla(items)
	rf := (&gfeeds.Rss{Feed: gf}).RssFeed()
	rf.Language = XMLSafe(c.Language)
	rf.Generator = Generator
	rf.Ttl = TTL
	if a := ParseAuthor(c.Author); a.Email != "" {
		rf.ManagingEditor = rssPerson(a)
	}
	ch := &rssChannel{
		RssFeed:  rf,
		AtomLink: &rssAtomLink{Href: c.URL(RSSFile), Rel: "self", Type: "application/rss+xml"},
		Items:    make([]*rssItem, len(items)),
	}
	for i, it := range items {
		ch.Items[i] = newRSSItem(it, rf.Items[i])
	}
	rf.Items = nil // replaced by ch.Items
	rd := &rssDoc{
		Version:   "2.0",
		NSContent: "http://purl.org/rss/1.0/modules/content/",
		NSDC:      "http://purl.org/dc/elements/1.1/",
		NSAtom:    "http://www.w3.org/2005/Atom",
		Channel:   ch,
	}
	if slices.ContainsFunc(items, func(it *Item) bool { return it.Image.ok() }) {
		rd.NSMedia = MediaNS // only feeds with images declare it
	}
	doc, err := toXML(rd)
	if err != nil {
		return nil, err
	}
	return hexRefs(doc), nil
}

// newRSSItem completes gorilla's RSS item gi for it.
func newRSSItem(it *Item, gi *gfeeds.RssItem) *rssItem {
	gi.PubDate = it.Published.Format(time.RFC1123Z)
	if it.ContentHTML != it.SummaryHTML {
		gi.Content = &gfeeds.RssContent{Content: it.ContentHTML}
	}
	ri := &rssItem{RssItem: gi, Categories: it.Tags, Media: newRSSMedia(it.Image)}
	if it.Author.Email != "" {
		gi.Author = rssPerson(it.Author)
	} else {
		ri.Creator = it.Author.Name
	}
	return ri
}

// rssPerson is the RSS 2.0 form of an author: "email (Name)".
func rssPerson(a Author) string {
	if a.Name == "" {
		return a.Email
	}
	name := strings.ReplaceAll(strings.ReplaceAll(a.Name, "(", ""), ")", "")
	return a.Email + " (" + name + ")"
}

// atomDoc is gorilla's <feed> plus what it lacks.
type atomDoc struct {
	XMLName xml.Name `xml:"feed"`
	Lang    string   `xml:"xml:lang,attr,omitempty"`
	*gfeeds.AtomFeed
	Generator string            `xml:"generator"`
	Links     []gfeeds.AtomLink `xml:"link"`
	Entries   []*atomEntry      `xml:"entry"`
}

type atomEntry struct {
	XMLName xml.Name `xml:"entry"`
	*gfeeds.AtomEntry
	Categories []atomCategory `xml:"category"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// Atom renders the channel as Atom 1.0 with entries in the order given.
func Atom(c Channel, items []*Item) ([]byte, error) {
	gf := c.gorilla(items)
	af := (&gfeeds.Atom{Feed: gf}).AtomFeed()
	// The feed id is a name-based UUID of its URL: stable across rebuilds.
	af.Id = "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(c.URL(AtomFile))).String()
	af.Link = nil // replaced by doc.Links
	doc := &atomDoc{
		Lang:      XMLSafe(c.Language),
		AtomFeed:  af,
		Generator: Generator,
		Links: []gfeeds.AtomLink{
			{Href: c.HomeURL, Rel: "alternate", Type: "text/html"},
			{Href: c.URL(AtomFile), Rel: "self", Type: "application/atom+xml"},
		},
	}
	// Atom wants an author on the feed or on every entry; the site is the
	// fallback for entries that name nobody.
	fa := ParseAuthor(c.Author)
	if fa == (Author{}) {
		fa.Name = XMLSafe(c.Title)
	}
	af.Author = fa.atom()
	doc.Entries = make([]*atomEntry, len(items))
	for i, it := range items {
		doc.Entries[i] = newAtomEntry(it, af.Entries[i])
	}
	af.Entries = nil // replaced by doc.Entries
	return toXML(doc)
}

// newAtomEntry completes gorilla's Atom entry ge for it (a stable IRI id,
// published, the author's e-mail).
func newAtomEntry(it *Item, ge *gfeeds.AtomEntry) *atomEntry {
	ge.Id = atomID(it.ID)
	ge.Published = it.Published.Format(time.RFC3339)
	ge.Updated = it.Updated.Format(time.RFC3339)
	if it.ContentHTML != it.SummaryHTML {
		ge.Content = &gfeeds.AtomContent{Content: it.ContentHTML, Type: "html"}
	}
	if it.Author != (Author{}) {
		ge.Author = it.Author.atom()
	}
	for i := range ge.Links {
		// An image's unknown length is 0 in RSS, which requires one;
		// Atom's is optional, and 0 would claim an empty file.
		if l := &ge.Links[i]; l.Rel == "enclosure" && l.Length == "0" {
			l.Length = ""
		}
	}
	e := &atomEntry{AtomEntry: ge}
	for _, t := range it.Tags {
		e.Categories = append(e.Categories, atomCategory{Term: t})
	}
	return e
}

// atomID returns id when it is already an absolute IRI, else a name-based
// UUID of it: Atom requires an IRI, RSS and JSON Feed take any string.
func atomID(id string) string {
	if u, err := url.Parse(id); err == nil && u.Scheme != "" && !strings.ContainsAny(id, " \t\n\r<>\"{}|\\^`") {
		return id
	}
	return "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte("briefcast:id:"+id)).String()
}

// jsonDoc is gorilla's JSONFeed plus the generator in an extension object
// (JSON Feed has no field for it).
type jsonDoc struct {
	*gfeeds.JSONFeed
	Ext struct {
		Generator string `json:"generator"`
	} `json:"_briefcast"`
}

// JSON renders the channel as JSON Feed 1.1 with items in the order given.
func JSON(c Channel, items []*Item) ([]byte, error) {
	gf := c.gorilla(items)
	jf := (&gfeeds.JSON{Feed: gf}).JSONFeed()
	jf.Version = "https://jsonfeed.org/version/1.1"
	jf.Language = XMLSafe(c.Language)
	jf.FeedUrl = c.URL(JSONFile)
	if a := ParseAuthor(c.Author); a.Name != "" {
		jf.Authors = []*gfeeds.JSONAuthor{{Name: a.Name}}
	}
	for i, it := range items {
		completeJSONItem(it, jf.Items[i])
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	doc := jsonDoc{JSONFeed: jf}
	doc.Ext.Generator = Generator
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("feeds: json: %w", err)
	}
	return b.Bytes(), nil
}

// completeJSONItem adds to gorilla's JSON item ji the text forms, tags,
// both dates, and authors as JSON Feed 1.1 names them.
func completeJSONItem(it *Item, ji *gfeeds.JSONItem) {
	ji.Summary = it.SummaryText
	ji.ContentHTML = it.ContentHTML
	ji.ContentText = it.ContentText
	ji.Tags = it.Tags
	if it.Image != nil {
		ji.Image = it.Image.URL // gorilla takes it only from an enclosure of a known image type
	}
	pub, up := it.Published, it.Updated
	ji.PublishedDate, ji.ModifiedDate = &pub, &up
	if it.Author != (Author{}) {
		ji.Authors = []*gfeeds.JSONAuthor{{Name: it.Author.name()}}
	}
}

// name is the author's name, or the address when it has none.
func (a Author) name() string {
	if a.Name == "" {
		return a.Email
	}
	return a.Name
}

func (a Author) atom() *gfeeds.AtomAuthor {
	return &gfeeds.AtomAuthor{AtomPerson: gfeeds.AtomPerson{Name: a.name(), Email: a.Email}}
}

// plainNames are the RSS elements whose content is plain text, not HTML.
const plainNames = `(title|category|dc:creator|author|managingEditor|webMaster|generator|language)`

// plainWithRefs matches such an element up to its end tag when its content holds a reference.
var plainWithRefs = regexp.MustCompile(`<` + plainNames + `>[^<]*&[^<]*</` + plainNames + `>`)

var hexRefsReplacer = strings.NewReplacer("&amp;", "&#x26;", "&lt;", "&#x3C;", "&gt;", "&#x3E;")

// hexRefs rewrites "&amp;", "&lt;" and "&gt;" in RSS's plain-text elements
// as hexadecimal references ("&#x26;"): validators warn of the named ones
// there as escaped HTML, and readers that treat the element as HTML would
// show "&amp;" as "&". The tags themselves hold no "&".
func hexRefs(doc []byte) []byte {
	if !bytes.Contains(doc, []byte("&")) {
		return doc
	}
	return plainWithRefs.ReplaceAllFunc(doc, func(m []byte) []byte { return []byte(hexRefsReplacer.Replace(string(m))) })
}
