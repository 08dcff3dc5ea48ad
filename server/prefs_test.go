package server

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"briefcast/articles"
	"briefcast/site"
	"briefcast/subscribers"
	"briefcast/tokens"
)

// tagSite is the test site with articles tagged in their own spelling.
func tagSite() *site.Site {
	s := testSite(1)
	s.Articles = []*articles.Article{
		{ID: "a", Tags: []string{"economie", "space"}, TagNames: []string{"Économie", "Space"}},
		{ID: "b", Tags: []string{"c-rust"}, TagNames: []string{"C++ & Rust"}},
	}
	return s
}

// TestPreferenceCentre: the page names its address, offers the site's
// topics by their spelling, the zone list by region, a depth per digest
// and a pause, and what it saves comes back ticked and selected.
func TestPreferenceCentre(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	e.srv.SetSite(tagSite())
	id := mustSubscribed(t, e, "centre@example.org")
	tok := e.sign(t, tokens.Preferences, id, t0.Add(linkTTL))
	body := e.do(t, "GET", "/preferences?token="+tok, nil).Body.String()
	for _, want := range []string{
		`<strong id="pref-address">centre@example.org</strong>`,
		`<input type="checkbox" name="tag" value="c-rust"> C&#43;&#43; &amp; Rust</label>`,
		`<input type="checkbox" name="tag" value="economie"> Économie</label>`,
		`<optgroup label="Europe">`, `<option value="Europe/Paris">Paris</option>`,
		`<option value="America/Argentina/Buenos_Aires">Argentina / Buenos Aires</option>`,
		`<option value="" selected>Each newsletter&#39;s own time zone</option>`,
		`<input id="pref-tz-search" name="timezone_search" type="text" list="pref-tz-names"`,
		`<select id="depth-daily" name="depth-daily">`, `<select id="depth-weekly" name="depth-weekly">`,
		`<option value="2">Pause for 2 weeks</option>`,
		`<button type="submit" id="leave" class="danger">Unsubscribe from everything</button>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, `name="tags"`) || strings.Contains(body, `type="text" maxlength="64" autocomplete="off" value=`) {
		t.Error("the page still has free-text topics or zone")
	}

	save := func(v url.Values) string {
		t.Helper()
		v.Set("token", tok)
		w := e.post(t, "/preferences", v, "192.0.2.1")
		if w.Code != 200 || !strings.Contains(w.Body.String(), "preferences are saved") {
			t.Fatalf("save %v: %d %s", v, w.Code, w.Body.String())
		}
		return w.Body.String()
	}
	body = save(url.Values{"digest": {"daily", "weekly"}, "tag": {"economie", "c-rust"}, "timezone": {"Asia/Tokyo"},
		"depth-daily": {"digest"}, "depth-weekly": {""}, "pause": {"4"}})
	sub := mustSubscriber(t, e.store, "centre@example.org")
	if got := strings.Join(sub.Tags, " "); got != "economie c-rust" || sub.Timezone != "Asia/Tokyo" ||
		sub.Depths["daily"] != "digest" || len(sub.Depths) != 1 || !sub.PausedUntil.Equal(t0.Add(28*24*time.Hour)) {
		t.Fatalf("stored tags %q zone %q depths %v paused until %v", got, sub.Timezone, sub.Depths, sub.PausedUntil)
	}
	for _, want := range []string{
		`name="tag" value="economie" checked>`, `name="tag" value="c-rust" checked>`,
		`<option value="Asia/Tokyo" selected>Tokyo</option>`,
		`<option value="digest" selected>The take and the 2-minute digest`,
		`Your mail is paused until Sunday, 12 April 2026, 00:09 JST.`,
		`<option value="resume">Resume my mail now</option>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("saved page lacks %s", want)
		}
	}

	// Saving without touching the pause keeps it; the search box wins
	// over the list; "resume" ends the pause.
	save(url.Values{"digest": {"daily"}, "timezone": {"Asia/Tokyo"}, "timezone_search": {" America/New_York "}})
	sub = mustSubscriber(t, e.store, "centre@example.org")
	if sub.Timezone != "America/New_York" || sub.Tags != nil || sub.PausedUntil.IsZero() || sub.Depths != nil {
		t.Errorf("after the second save: zone %q tags %v paused until %v depths %v", sub.Timezone, sub.Tags, sub.PausedUntil, sub.Depths)
	}
	save(url.Values{"digest": {"daily"}, "pause": {"resume"}})
	if sub = mustSubscriber(t, e.store, "centre@example.org"); !sub.PausedUntil.IsZero() || sub.Timezone != "" {
		t.Errorf("after resuming: paused until %v, zone %q", sub.PausedUntil, sub.Timezone)
	}

	// A refused form keeps what was ticked.
	w := e.post(t, "/preferences", url.Values{"token": {tok}, "digest": {"daily"}, "tag": {"economie"}, "depth-daily": {"all"}}, "192.0.2.1")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `class="error" role="alert"`) ||
		!strings.Contains(w.Body.String(), `name="tag" value="economie" checked>`) {
		t.Errorf("refused form: %d", w.Code)
	}
	if sub = mustSubscriber(t, e.store, "centre@example.org"); sub.Tags != nil {
		t.Errorf("a refused form stored tags %v", sub.Tags)
	}

	// Unsubscribe from everything, with the page's own button.
	i := strings.Index(body, `action="/unsubscribe">`)
	rest := body[i:]
	rest = rest[strings.Index(rest, `value="`)+len(`value="`):]
	if w := e.post(t, "/unsubscribe", url.Values{"token": {rest[:strings.IndexByte(rest, '"')]}}, "192.0.2.1"); w.Code != 200 {
		t.Fatalf("leave: %d", w.Code)
	}
	mustStatus(t, e.store, id, subscribers.Unsubscribed)
}

// TestSignupZone: the form's list defaults to the first digest's zone
// (what a browser without script sends), and the zone sent is stored.
func TestSignupZone(t *testing.T) {
	e := newEnv(t, "http://example.org/", "[schedule]\ntimezone = \"Europe/Lisbon\"\n")
	body := e.do(t, "GET", "/subscribe", nil).Body.String()
	if !strings.Contains(body, `<select id="sub-tz" name="timezone">`) || !strings.Contains(body, `<option value="Europe/Lisbon" selected>Lisbon</option>`) {
		t.Errorf("the sign-up list does not default to the digest's zone")
	}
	form := subscribeForm("zone@example.org")
	form.Set("timezone", "Asia/Kolkata")
	if w := e.post(t, "/subscribe", form, "192.0.2.1"); w.Code != 200 {
		t.Fatalf("subscribe: %d", w.Code)
	}
	if got := mustSubscriber(t, e.store, "zone@example.org").Timezone; got != "Asia/Kolkata" {
		t.Errorf("stored zone %q, want Asia/Kolkata", got)
	}
	form = subscribeForm("nozone@example.org")
	form.Set("timezone", "Mars/Olympus")
	if w := e.post(t, "/subscribe", form, "192.0.2.2"); w.Code != 400 || !strings.Contains(w.Body.String(), "time zone is unknown") {
		t.Errorf("unknown zone: %d", w.Code)
	}
}

// TestCSPPerPage: the sign-up form may run scripts of the site itself,
// and only it; every other page runs none.
func TestCSPPerPage(t *testing.T) {
	e := newEnv(t, "http://example.org/", "")
	id := mustSubscribed(t, e, "csp@example.org")
	pages := map[string]string{
		"/subscribe": "script-src 'self'",
		"/preferences?token=" + e.sign(t, tokens.Preferences, id, t0.Add(time.Hour)): "script-src 'none'",
		"/unsubscribe?token=" + e.sign(t, tokens.Unsubscribe, id, t0.Add(time.Hour)): "script-src 'none'",
		"/confirm?token=bad": "script-src 'none'",
		"/":                  "script-src 'none'",
		"/no-such-page":      "script-src 'none'",
	}
	for path, want := range pages {
		csp := e.do(t, "GET", path, nil).Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, want) || strings.Count(csp, "script-src") != 1 {
			t.Errorf("%s: CSP %q, want %s", path, csp, want)
		}
	}
	w := e.do(t, "GET", "/subscribe.js", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" ||
		!strings.Contains(w.Body.String(), "resolvedOptions().timeZone") || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/subscribe.js: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	form := subscribeForm("csp2@example.org")
	form.Del("digest")
	if w := e.post(t, "/subscribe", form, "192.0.2.9"); !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("the form shown again with its error lost its script")
	}
}

// TestRootFavicon: with the site under /news/, GET /favicon.ico at the
// root answers with the site's /news/favicon.ico.
func TestRootFavicon(t *testing.T) {
	e := newEnv(t, "http://example.org/news/", "")
	st := testSite(1)
	icon := []byte("\x00\x00\x01\x00icon")
	st.Files["/favicon.ico"] = &site.File{Path: "/favicon.ico", Body: icon, ContentType: "image/x-icon", Modified: t0}
	e.srv.SetSite(st)
	for _, path := range []string{"/favicon.ico", "/news/favicon.ico"} {
		w := e.do(t, "GET", path, nil)
		if w.Code != 200 || w.Body.String() != string(icon) || w.Header().Get("Content-Type") != "image/x-icon" {
			t.Errorf("GET %s: %d %q", path, w.Code, w.Header().Get("Content-Type"))
		}
	}
	if w := e.do(t, "GET", "/other.ico", nil); w.Code != 404 {
		t.Errorf("GET /other.ico: %d, want 404", w.Code)
	}
}
