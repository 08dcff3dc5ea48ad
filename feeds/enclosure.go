package feeds

import (
	"encoding/xml"
	"strconv"

	gfeeds "github.com/gorilla/feeds"
)

// MediaNS is the Media RSS namespace of <media:content>.
const MediaNS = "http://search.yahoo.com/mrss/"

// Image is an item's lead image as the feeds carry it (an RSS enclosure and
// media:content, an Atom enclosure link, the JSON Feed image).
type Image struct {
	URL    string // absolute
	Type   string // MIME type, such as "image/jpeg"; "" when unknown
	Length int64  // bytes; 0 when unknown (a remote image)
	Width  int    // pixels; 0 when unknown
	Height int
	Alt    string // the text alternative; "" when none
}

// enclosure is img in gorilla's terms. RSS requires a length (0 when not known)
// and a type, without which gorilla drops the enclosure.
func (img *Image) enclosure() *gfeeds.Enclosure {
	if !img.ok() {
		return nil
	}
	return &gfeeds.Enclosure{Url: img.URL, Type: img.Type, Length: strconv.FormatInt(img.Length, 10)}
}

// rssMedia is an RSS item's <media:content>, for readers that ignore enclosures.
type rssMedia struct {
	XMLName     xml.Name `xml:"media:content"`
	URL         string   `xml:"url,attr"`
	Medium      string   `xml:"medium,attr"`
	Type        string   `xml:"type,attr,omitempty"`
	FileSize    int64    `xml:"fileSize,attr,omitempty"`
	Width       int      `xml:"width,attr,omitempty"`
	Height      int      `xml:"height,attr,omitempty"`
	Description *rssMediaText
}

type rssMediaText struct {
	XMLName xml.Name `xml:"media:description"`
	Type    string   `xml:"type,attr"`
	Text    string   `xml:",chardata"`
}

func newRSSMedia(img *Image) *rssMedia {
	if !img.ok() {
		return nil
	}
	m := &rssMedia{URL: img.URL, Medium: "image", Type: img.Type, FileSize: img.Length, Width: img.Width, Height: img.Height}
	if alt := XMLSafe(img.Alt); alt != "" {
		m.Description = &rssMediaText{Type: "plain", Text: alt}
	}
	return m
}

// ok reports whether img is an image to publish.
func (img *Image) ok() bool { return img != nil && img.URL != "" }
