package daemon

import (
	"reflect"
	"testing"
	"time"

	"briefcast/config"
	"briefcast/digest"
	"briefcast/server"
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
