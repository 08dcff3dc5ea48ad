package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
[site]
title = "T"
base_url = "https://example.org/news"
`

func mustWrite(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRepoConfigLoads(t *testing.T) {
	c, err := Load("../config.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Digests) == 0 {
		t.Fatal("the sample config has no digests")
	}
	for _, d := range c.Digests {
		if d.Location == nil {
			t.Errorf("digest %s: no location", d.Name)
		}
	}
}

func TestDefaultsAndPaths(t *testing.T) {
	dir := t.TempDir()
	path := mustWrite(t, dir, "config.toml", minimal)
	// Load from another working directory: paths must follow the file.
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"base_url gains a slash", c.Site.BaseURL, "https://example.org/news/"},
		{"content_dir", c.Site.ContentDir, filepath.Join(dir, "content")},
		{"output_dir", c.Site.OutputDir, filepath.Join(dir, "public")},
		{"store dsn", c.Store.DSN, filepath.Join(dir, "data/briefcast.db")},
		{"outbox", c.Email.OutboxDir, filepath.Join(dir, "data/outbox")},
		{"data_dir", c.DataDir, filepath.Join(dir, "data")},
		{"feeds.content", c.Feeds.Content, "take"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if c.Feeds.Items != 50 {
		t.Errorf("feeds.items: got %d, want 50", c.Feeds.Items)
	}
	if c.Subscriptions.ConfirmTTL.Duration != 72*time.Hour {
		t.Errorf("confirm_ttl: got %s", c.Subscriptions.ConfirmTTL)
	}
}

func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := mustWrite(t, dir, "config.toml", minimal+`
[store]
driver = "postgres"
dsn = "postgres://file@127.0.0.1/x"
[email.smtp]
password_env = "MY_PW"
`)
	env := map[string]string{"BRIEFCAST_STORE_DSN": "postgres://env@127.0.0.1/y", "MY_PW": "s3cret", "BRIEFCAST_SECRET": "k"}
	c, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.DSN != env["BRIEFCAST_STORE_DSN"] {
		t.Errorf("dsn: got %q", c.Store.DSN)
	}
	if c.Email.SMTPPassword != "s3cret" || c.Subscriptions.Secret != "k" {
		t.Errorf("secrets not read from the environment")
	}
	r := c.Redacted()
	if strings.Contains(r.Email.SMTPPassword+r.Subscriptions.Secret+r.Store.DSN, "s3cret") || r.Store.DSN == c.Store.DSN {
		t.Errorf("Redacted leaks a secret: %+v", r)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown key", minimal + "colour = \"red\"\n", "unknown key site.colour"},
		{"unknown nested key", minimal + "[feeds]\nitem = 3\n", "unknown key feeds.item"},
		{"wrong type", "[site]\ntitle = \"T\"\n[feeds]\nitems = \"many\"\n", "items"},
		{"bad feeds.content", minimal + "[feeds]\ncontent = \"all\"\n", "feeds.content"},
		{"bad items", minimal + "[feeds]\nitems = 0\n", "feeds.items"},
		{"bad base_url", "[site]\ntitle = \"T\"\nbase_url = \"example.org\"\n", "site.base_url"},
		{"bad timezone", minimal + "timezone = \"Mars/Olympus\"\n", ""},
		{"bad site timezone", "[site]\ntitle = \"T\"\ntimezone = \"Mars/Olympus\"\n", "site.timezone"},
		{"bad driver", minimal + "[store]\ndriver = \"mysql\"\n", "store.driver"},
		{"bad transport", minimal + "[email]\ntransport = \"pigeon\"\n", "email.transport"},
		{"bad from", minimal + "[email]\nfrom = \"not an address\"\n", "email.from"},
		{"bad tls", minimal + "[email.smtp]\ntls = \"maybe\"\n", "email.smtp.tls"},
		{"bad duration", minimal + "[subscriptions]\nconfirm_ttl = \"soon\"\n", "confirm_ttl"},
		{"bad listen", minimal + "[server]\nlisten = \"8080\"\n", "server.listen"},
		{"bad proxy", minimal + "[server]\ntrusted_proxies = [\"lan\"]\n", "server.trusted_proxies[0]"},
		{"bad rebuild", minimal + "[feeds]\nrebuild = \"every so often\"\n", "feeds.rebuild"},
		{"bad schedule", minimal + "[[digests]]\nname = \"daily\"\nschedule = \"61 7 * * *\"\n", "digests[0] (daily).schedule"},
		{"TZ in schedule", minimal + "[[digests]]\nname = \"daily\"\nschedule = \"TZ=0 7 * * *\"\n", "digests[0] (daily).schedule"},
		{"empty CRON_TZ", minimal + "[[digests]]\nname = \"daily\"\nschedule = \"CRON_TZ= 0 7 * * *\"\n", "digests[0] (daily).schedule"},
		{"bad digest zone", minimal + "[[digests]]\nname = \"daily\"\nschedule = \"@daily\"\ntimezone = \"Nowhere\"\n", "digests[0] (daily).timezone"},
		{"bad digest name", minimal + "[[digests]]\nname = \"Daily News\"\nschedule = \"@daily\"\n", "digests[0] (Daily News).name"},
		{"duplicate digest", minimal + "[[digests]]\nname = \"d\"\nschedule = \"@daily\"\n[[digests]]\nname = \"d\"\nschedule = \"@daily\"\n", "digests[1] (d).name"},
		{"bad subject", minimal + "[[digests]]\nname = \"d\"\nschedule = \"@daily\"\nsubject = \"{{.Title\"\n", "digests[0] (d).subject"},
		{"bad depth", minimal + "[[digests]]\nname = \"d\"\nschedule = \"@daily\"\ndepth = \"full\"\n", "digests[0] (d).depth"},
		{"dkim incomplete", minimal + "[email.dkim]\ndomain = \"example.org\"\n", "email.dkim.selector"},
		{"syntax", "[site\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := mustWrite(t, t.TempDir(), "config.toml", tt.body)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatal("got no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to name %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestDigestDepth: depth defaults to "take" and keeps "digest".
func TestDigestDepth(t *testing.T) {
	path := mustWrite(t, t.TempDir(), "config.toml", minimal+`
[[digests]]
name = "daily"
schedule = "@daily"
[[digests]]
name = "weekly"
schedule = "@weekly"
depth = "digest"
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Digests[0].Depth != "take" || c.Digests[1].Depth != "digest" {
		t.Errorf("depths = %q, %q; want take, digest", c.Digests[0].Depth, c.Digests[1].Depth)
	}
}

// TestMetricsListen: the metrics listener is on loopback unless the file
// says otherwise, and "off" or "" turns it off.
func TestMetricsListen(t *testing.T) {
	for _, tt := range []struct{ name, server, want string }{
		{"default", "", DefaultMetricsListen},
		{"address", "[server]\nmetrics_listen = \"10.0.0.5:9100\"\n", "10.0.0.5:9100"},
		{"off", "[server]\nmetrics_listen = \"off\"\n", ""},
		{"empty", "[server]\nmetrics_listen = \"\"\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(mustWrite(t, t.TempDir(), "config.toml", minimal+tt.server), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Server.MetricsAddr(); got != tt.want {
				t.Errorf("MetricsAddr() = %q, want %q", got, tt.want)
			}
		})
	}
	if !strings.HasPrefix(DefaultMetricsListen, "127.0.0.1:") {
		t.Errorf("default %q is not on loopback", DefaultMetricsListen)
	}
	_, err := Load(mustWrite(t, t.TempDir(), "config.toml", minimal+"[server]\nmetrics_listen = \"9100\"\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "server.metrics_listen") {
		t.Errorf("metrics_listen = \"9100\": got %v, want an error naming the key", err)
	}
}

// Redacted returns a copy safe to print: secrets are replaced.
func (c *Config) Redacted() *Config {
	r := *c
	if r.Email.SMTPPassword != "" {
		r.Email.SMTPPassword = "[redacted]"
	}
	if r.Subscriptions.Secret != "" {
		r.Subscriptions.Secret = "[redacted]"
	}
	if strings.Contains(r.Store.DSN, "@") {
		r.Store.DSN = "[redacted]"
	}
	return &r
}
