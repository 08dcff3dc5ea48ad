package daemon

import (
	"reflect"
	"testing"
	"time"

	"briefcast/config"
	"briefcast/digest"
	"briefcast/server"
	"briefcast/site"
)

func TestSenderOptions(t *testing.T) {
	cfg, err := config.Parse("/srv/b/config.toml", []byte(`
[email]
retry_max_age = "12h"
delivery_lease = "90s"
[email.smtp]
connections = 7
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := digest.Options{Connections: 7, RetryMaxAge: 12 * time.Hour, Lease: 90 * time.Second, SingleInstance: true}
	if got := SenderOptions(cfg); got != want {
		t.Errorf("sqlite: got %+v, want %+v", got, want)
	}
	cfg.Store.Driver = "postgres"
	if SenderOptions(cfg).SingleInstance {
		t.Errorf("postgres: SingleInstance set; several daemons may share the store")
	}
}

func TestServerOptions(t *testing.T) {
	cfg, err := config.Parse("/srv/b/config.toml", []byte(`
[site]
title = "The Brief"
base_url = "https://example.org/news"
[feeds]
websub_hub = "https://hub.example.net/"
[server]
trusted_proxies = ["10.0.0.0/8", "192.0.2.1"]
[subscriptions]
double_opt_in = false
confirm_ttl = "6h"
[[digests]]
name = "daily"
title = "Daily Brief"
schedule = "0 7 * * *"
[[digests]]
name = "weekly"
schedule = "0 9 * * 1"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := server.Options{
		BaseURL:        "https://example.org/news/",
		SiteTitle:      "The Brief",
		Digests:        []server.Digest{{Name: "daily", Title: "Daily Brief", Timezone: "UTC", Depth: "take"}, {Name: "weekly", Title: "weekly", Timezone: "UTC", Depth: "take"}},
		DoubleOptIn:    false,
		ConfirmTTL:     6 * time.Hour,
		TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1"},
		WebSubHub:      "https://hub.example.net/",
	}
	if got := ServerOptions(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	// Unset, double opt-in is on and a confirmation link lasts the default.
	cfg, err = config.Parse("/srv/b/config.toml", []byte("[site]\nbase_url = \"https://example.org/\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ServerOptions(cfg)
	if !got.DoubleOptIn || got.ConfirmTTL != 72*time.Hour || len(got.Digests) != 0 {
		t.Errorf("defaults: got %+v, want double opt-in, a 72h confirm TTL and no digests", got)
	}
}

// TestSiteOptions: the site gets every setting of the configuration it
// renders from, and each digest's title, archive switch and zone.
func TestSiteOptions(t *testing.T) {
	cfg, err := config.Parse("/srv/b/config.toml", []byte(`
[site]
title = "The Brief"
description = "News in three depths"
language = "de"
author = "Ann Editor <ann@example.org>"
base_url = "https://example.org/news"
content_dir = "articles"
slugs = "ascii"
page_size = 5
[feeds]
items = 12
content = "digest"
depths = ["full"]
[[digests]]
name = "daily"
title = "Daily Brief"
schedule = "0 7 * * *"
timezone = "Europe/Berlin"
[[digests]]
name = "weekly"
schedule = "0 9 * * 1"
archive = false
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	berlin := cfg.Digests[0].Location
	if berlin == nil || berlin.String() != "Europe/Berlin" {
		t.Fatalf("config loaded the daily zone as %v", berlin)
	}
	want := site.Options{
		BaseURL: "https://example.org/news/", Title: "The Brief", Description: "News in three depths",
		Language: "de", Author: "Ann Editor <ann@example.org>", ContentDir: "/srv/b/articles",
		Slugs: "ascii", PageSize: 5, FeedItems: 12, FeedContent: "digest", FeedDepths: []string{"full"},
		Digests: []site.Digest{
			{Name: "daily", Title: "Daily Brief", Archived: true, Location: berlin},
			{Name: "weekly", Title: "weekly", Archived: false, Location: cfg.Digests[1].Location},
		},
	}
	if got := SiteOptions(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
