package config

import (
	"slices"
	"strings"
	"testing"
)

func TestReaderKeys(t *testing.T) {
	path := mustWrite(t, t.TempDir(), "config.toml", minimal+"[[digests]]\nname = \"daily\"\nschedule = \"@daily\"\n")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Feeds.Depths, []string{"take", "digest", "full"}) || !c.Digests[0].Archived() || c.Site.Slugs != "" {
		t.Errorf("defaults: depths %v, archive %v, slugs %q", c.Feeds.Depths, c.Digests[0].Archived(), c.Site.Slugs)
	}
	body := strings.Replace(minimal, "[site]\n", "[site]\nslugs = \"ascii\"\n", 1) +
		"[feeds]\ndepths = [\"full\"]\n[[digests]]\nname = \"daily\"\nschedule = \"@daily\"\narchive = false\n"
	if c, err = Load(mustWrite(t, t.TempDir(), "config.toml", body), nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Feeds.Depths, []string{"full"}) || c.Digests[0].Archived() || c.Site.Slugs != "ascii" {
		t.Errorf("set: depths %v, archive %v, slugs %q", c.Feeds.Depths, c.Digests[0].Archived(), c.Site.Slugs)
	}
	for key, body := range map[string]string{
		"feeds.depths[1]": minimal + "[feeds]\ndepths = [\"take\", \"deep\"]\n",
		"site.slugs":      strings.Replace(minimal, "[site]\n", "[site]\nslugs = \"latin\"\n", 1),
	} {
		if _, err := Load(mustWrite(t, t.TempDir(), "config.toml", body), nil); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: got %v", key, err)
		}
	}
}
