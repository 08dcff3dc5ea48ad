package site

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"briefcast/articles"
	"briefcast/templates"
)

// withTemplate is the built-in templates with name replaced by body.
func withTemplate(t *testing.T, name, body string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(templates.Embedded(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.Embedded(), p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m[name] = &fstest.MapFile{Data: []byte(body)}
	return m
}

// greedyTag is a tag.html that prints every tier its data offers.
const greedyTag = `{{define "content"}}{{range .Articles}}<h2>{{.Title}}</h2>{{range .Take}}<p>{{.}}</p>{{end}}` +
	`{{range .Digest}}{{.HTML}}{{end}}{{range .Players}}{{.Name}}{{end}}{{range .Numbers}}{{.Meaning}}{{end}}` +
	`{{range .Full}}{{.HTML}}{{end}}{{range .Points}}{{.Event}}{{end}}{{range .Closing}}{{.}}{{end}}{{end}}{{end}}`

// TestTagPagesListTitlesAndTakes: a tag page shows each article's title
// and take and nothing of its digest or full depth, with the built-in
// templates and with a tag.html that asks for every tier.
func TestTagPagesListTitlesAndTakes(t *testing.T) {
	for _, tt := range []struct {
		name string
		tmpl fs.FS
	}{
		{"built-in", templates.Embedded()},
		{"greedy tag.html", withTemplate(t, "tag.html", greedyTag)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Feeds.Items = 10
			s, err := Build(optionsOf(cfg), testArticles(), tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			page := mustFile(t, s, "/tags/climate/index.html")
			for _, want := range []string{"Harbor towns plan for higher tides", "<strong>shared</strong> flood plan", "An older note on rivers", "Rivers carry less silt"} {
				if !strings.Contains(page, want) {
					t.Errorf("tag page lacks %q", want)
				}
			}
			for _, not := range []string{"Tides have risen steadily", "Harbor Council", "added wall height", "winter storm", "the great flood", "review the plan in five years"} {
				if strings.Contains(page, not) {
					t.Errorf("tag page shows %q, from below the take", not)
				}
			}
		})
	}
}

// TestPagesCarryNoControls parses articles holding every C0 control (raw
// in a .txt bullet, escaped in front matter and Markdown), gives the site
// a title with controls too, and checks every published file: only tab,
// newline and carriage return may be left.
func TestPagesCarryNoControls(t *testing.T) {
	var ctl strings.Builder
	for c := range 0x20 {
		if c != '\t' && c != '\n' && c != '\r' {
			ctl.WriteByte(byte(c))
		}
	}
	c := ctl.String()
	srcs := map[string]string{
		"raw.txt": "Raw" + c + " Title\nOct. 1, 2026\nTags: a" + c + "b\n30-Second Take\n- NUL\x00in a bullet" + c + "\n" +
			"+ Dive Deeper\n2-Minute Digest\nEssential Context\nPro\x01se.\nCore Players\n- Na\x02me – ro\x03le\n",
		"escaped.md": "+++\ntitle = \"Esc\\u0000ap\\u0001ed\\r\"\ndate = 2026-10-02\ntags = [\"x\\u0002y\"]\n+++\n" +
			"## 30-Second Take\n- one &#1; two &#0; three\x00\n\n## 2-Minute Digest\n### Essential Context\nPara &#x1b; with *em*\x07.\n",
	}
	var arts []*articles.Article
	for name, src := range srcs {
		a, err := articles.Parse(name, []byte(src), articles.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		arts = append(arts, a)
	}
	cfg := testConfig()
	cfg.Site.Title = "Site\x00Ti\x01tle"
	cfg.Site.Description = "De\x1bscription"
	cfg.Digests[0].Title = "Dai\x07ly"
	cfg.Feeds.Content = "full"
	s, err := Build(optionsOf(cfg), arts, templates.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	for p, f := range s.Files {
		if strings.HasPrefix(f.ContentType, "image/") {
			continue
		}
		if i := strings.IndexFunc(string(f.Body), func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }); i >= 0 {
			lo := max(0, i-30)
			t.Errorf("%s: control character %q at %d: %q", p, f.Body[i], i, f.Body[lo:min(len(f.Body), i+30)])
		}
	}
}
