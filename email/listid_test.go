package email

import (
	"net/mail"
	"strconv"
	"strings"
	"testing"
)

// TestListIDHostileTitle sends digests whose titles are full of the
// characters a List-Id phrase must keep to itself, and parses each List-Id
// back with net/mail's phrase parser: the id in angle brackets must be the
// one briefcast set (RFC 2919), and the phrase must decode to the title.
// Go's mime Q encoding leaves "<" and ">" raw in an encoded word, where a
// parser reads them as the start of the id.
func TestListIDHostileTitle(t *testing.T) {
	for i, title := range []string{
		`Café <evil.example.com> & "news"`,
		`News <fake.example.com> & "more" \ back\slash`,
		`Ünïcödé = ?Q? _under_ (comment) @at, semi; <a> ` + strings.Repeat("é", 40),
		`日本語のニュース <x@y> =?UTF-8?Q?abc?=`,
	} {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			cfg := mustConfig(t, "")
			c := mustComposer(t, cfg)
			e := testEdition(cfg)
			e.Digest.Title = title
			m, _, err := c.Digest(e, Recipient{ID: 1, Email: "a@example.com"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := mustParse(t, msgBytes(t, m))
			v := p.header.Get("List-Id")
			for _, line := range strings.Split(p.rawHeader, "\r\n") {
				if len(line) > 998 {
					t.Errorf("header line of %d characters: %q", len(line), line)
				}
			}
			// net/mail parses a phrase and an angle-addr; the id has no
			// "@", so one is added inside the brackets.
			i := strings.LastIndexByte(v, '>')
			if i < 0 {
				t.Fatalf("List-Id %q has no id", v)
			}
			a, err := mail.ParseAddress(v[:i] + "@id.invalid>")
			if err != nil {
				t.Fatalf("List-Id %q does not parse: %v", v, err)
			}
			if want := "daily.example.org@id.invalid"; a.Address != want {
				t.Errorf("List-Id %q: id %q, want %q", v, a.Address, want)
			}
			if a.Name != title {
				t.Errorf("List-Id %q: phrase %q, want %q", v, a.Name, title)
			}
		})
	}
}
