package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"briefcast/articles"
	"briefcast/templates"
)

// depthEdition is the test edition with a 2-minute digest on its first
// article.
func depthEdition(t *testing.T) (*Composer, *Edition) {
	cfg := mustConfig(t, "")
	e := testEdition(cfg)
	t0, err := e.Articles[0].Tiers()
	if err != nil {
		t.Fatal(err)
	}
	articles.WithTiers(e.Articles[0], articles.Tiers{Full: t0.Full, Digest: articles.Digest{
		Sections: []articles.Section{
			{Title: "Essential Context", Paragraphs: []string{"Tide tables are set by the <moon> & the harbour's shape."}},
		},
		Numbers: []articles.Number{{Figure: "4.2 m", Meaning: "the highest spring tide expected"}},
		Players: []articles.Player{{Name: "Harbour office", Role: "publishes the tables"}},
	}})
	return mustComposer(t, cfg), e
}

func composeParts(t *testing.T, c *Composer, e *Edition, r Recipient) parsed {
	t.Helper()
	m, ok, err := c.Digest(e, r, nil)
	if err != nil || !ok {
		t.Fatalf("Digest(depth %q): ok=%v err=%v", r.Depth, ok, err)
	}
	return mustParse(t, msgBytes(t, m))
}

// TestDigestDepth: a recipient at depth "digest" gets each article's
// context, key numbers and core players in both parts; one at "take" (or
// the digest's default, take) gets none of it, even from the same
// composer right after, since variants are cached per depth.
func TestDigestDepth(t *testing.T) {
	c, e := depthEdition(t)
	r := Recipient{ID: 42, TokenKey: testTokenKey, Email: "ada@example.com"}
	deepHTML := []string{
		">Essential Context</h3>",
		"Tide tables are set by the &lt;moon&gt; &amp; the harbour&#39;s shape.",
		">Key numbers</h3>", "<strong>4.2 m</strong>: the highest spring tide expected</li>",
		">Core players</h3>", "<strong>Harbour office</strong>: publishes the tables</li>",
	}
	deepText := []string{
		"\nEssential Context\n", "Tide tables are set by the <moon> & the harbour's shape.",
		"\nKey numbers\n", "  * 4.2 m: the highest spring tide expected",
		"\nCore players\n", "  * Harbour office: publishes the tables",
	}
	for _, tc := range []struct {
		name, digestDefault, depth string
		deep                       bool
	}{
		{"default take", "take", "", false},
		{"chose digest", "take", "digest", true},
		{"take again from the cache", "take", "", false},
		{"default digest", "digest", "", true},
		{"chose take over a digest default", "digest", "take", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.Digest.Depth = tc.digestDefault
			r.Depth = tc.depth
			p := composeParts(t, c, e, r)
			text := strings.ReplaceAll(p.text, "\r\n", "\n")
			for _, s := range deepHTML {
				if strings.Contains(p.html, s) != tc.deep {
					t.Errorf("HTML part has %q: %v, want %v", s, !tc.deep, tc.deep)
				}
			}
			for _, s := range deepText {
				if strings.Contains(text, s) != tc.deep {
					t.Errorf("text part has %q: %v, want %v", s, !tc.deep, tc.deep)
				}
			}
			for _, s := range []string{"The harbour office released tide tables", "Read the full analysis"} {
				if !strings.Contains(p.html, s) || !strings.Contains(text, s) {
					t.Errorf("a part lacks the take %q", s)
				}
			}
		})
	}
}

// TestCheckEditionRendersEveryDepth: a template that only fails at depth
// "digest" is caught before anyone is mailed.
func TestCheckEditionRendersEveryDepth(t *testing.T) {
	dir := t.TempDir()
	body := "{{range .Articles}}{{.Title}}{{range .Players}}{{.Nmae}}{{end}}{{end}} {{.UnsubscribeURL}}\n"
	if err := os.WriteFile(filepath.Join(dir, "digest.txt"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustConfig(t, "")
	c, err := NewComposer(OptionsOf(cfg), fsys, mustSigner(t))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.Digest("daily")
	err = c.CheckDigest(*d, fixedNow)
	if err == nil || !strings.Contains(err.Error(), "digest.txt") {
		t.Fatalf("CheckDigest = %v, want an error naming digest.txt", err)
	}
}
