package server

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"briefcast/subscribers"
	"briefcast/tokens"
)

// The pauses the preference page offers, in weeks.
var pauseWeeks = []int{1, 2, 4}

// depthRow is one digest's depth choice on the preference page.
type depthRow struct {
	Name, Title string
	Default     string // the digest's own depth
	Choice      string // "" for the default
}

// pauseOption is one choice of the pause list.
type pauseOption struct{ Value, Label string }

// preferences serves /preferences?token=…: digests and their depth,
// topics, time zone, a pause and a button to leave; a POST saves them.
func (s *Server) preferences(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	tok := r.FormValue("token")
	sub, ok := s.tokenSubscriber(w, r, tokens.Preferences, tok,
		"Preference links work for a limited time. The next digest you receive carries a fresh one.", false)
	if !ok {
		return
	}
	p := s.newPage("Your preferences")
	p.Token, p.Address = tok, sub.Email
	p.UnsubToken = s.signer.Sign(tokens.Unsubscribe, sub.ID, sub.TokenKey, now.Add(linkTTL))
	p.Inactive = sub.Status != subscribers.Active && sub.Status != subscribers.Pending
	prefs := subscribers.Preferences{Digests: sub.Digests, Tags: sub.Tags, Timezone: sub.Timezone,
		Depths: sub.Depths, PausedUntil: sub.PausedUntil}
	post := r.Method == http.MethodPost
	if post {
		prefs, p.Error = s.readPreferences(r, sub, now)
	}
	s.fillPreferences(p, sub, prefs, now)
	status := http.StatusOK
	switch {
	case post && p.Error != "":
		status = http.StatusBadRequest
	case post:
		if err := s.store.UpdatePreferences(r.Context(), sub.ID, prefs); err != nil {
			s.unavailable(w, r, "preferences_failed", "subscriber_id", sub.ID, "err", err)
			return
		}
		s.log.Info("preferences_saved", "subscriber_id", sub.ID)
		p.Saved = true
	}
	s.render(w, r, status, "preferences.html", p)
}

// fillPreferences shows prefs on p: stored, or as a form asked for them.
func (s *Server) fillPreferences(p *page, sub *subscribers.Subscriber, prefs subscribers.Preferences, now time.Time) {
	p.Digests = s.digestOptions(append([]string{}, prefs.Digests...))
	p.TagOptions = s.tagOptions(prefs.Tags)
	p.Timezone = prefs.Timezone
	p.Zones = &zoneField{ID: "pref-tz", Hint: "(when your mail should arrive)", Blank: "Each newsletter's own time zone",
		Selected: prefs.Timezone, Groups: zoneGroups(prefs.Timezone, sub.Timezone)}
	for _, d := range s.options.Digests {
		p.DepthRows = append(p.DepthRows, depthRow{Name: d.Name, Title: digestTitle(d), Default: defaultDepth(d), Choice: prefs.Depths[d.Name]})
	}
	if !prefs.PausedUntil.IsZero() && prefs.PausedUntil.After(now) {
		loc, err := time.LoadLocation(prefs.Timezone) // "" is UTC
		if err != nil {
			loc = time.UTC
		}
		p.PausedUntil = prefs.PausedUntil.In(loc).Format("Monday, 2 January 2006, 15:04 MST")
	}
	p.Pauses = []pauseOption{{"", "Keep my mail as it is"}}
	if p.PausedUntil != "" {
		p.Pauses = []pauseOption{{"", "Stay paused until " + p.PausedUntil}, {"resume", "Resume my mail now"}}
	}
	for _, n := range pauseWeeks {
		label := "Pause for 1 week"
		if n > 1 {
			label = "Pause for " + strconv.Itoa(n) + " weeks"
		}
		p.Pauses = append(p.Pauses, pauseOption{strconv.Itoa(n), label})
	}
}

// readPreferences reads the form into the preferences to store, or says what is wrong.
func (s *Server) readPreferences(r *http.Request, sub *subscribers.Subscriber, now time.Time) (subscribers.Preferences, string) {
	f := r.PostForm
	prefs := subscribers.Preferences{
		Digests:     s.chosenDigests(f["digest"]),
		Timezone:    formZone(f.Get("timezone_search"), f.Get("timezone")),
		PausedUntil: sub.PausedUntil,
	}
	allowed := s.tagOptions(sub.Tags)
	badTag := false
	for _, t := range f["tag"] {
		switch {
		case !slices.ContainsFunc(allowed, func(o tagOption) bool { return o.Key == t }):
			badTag = true
		case !slices.Contains(prefs.Tags, t):
			prefs.Tags = append(prefs.Tags, t)
		}
	}
	prefs.Depths = map[string]string{}
	var badDepth bool
	for _, d := range s.options.Digests {
		v := f.Get("depth-" + d.Name)
		if subscribers.CheckDepth(v) != nil {
			badDepth, v = true, ""
		}
		prefs.Depths[d.Name] = v
	}
	badPause := false
	switch v := f.Get("pause"); v {
	case "":
	case "resume":
		prefs.PausedUntil = time.Time{}
	default:
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(pauseWeeks, n) {
			badPause = true
			break
		}
		prefs.PausedUntil = now.Add(time.Duration(n) * 7 * 24 * time.Hour).UTC()
	}
	switch {
	case len(s.options.Digests) > 0 && len(prefs.Digests) == 0:
		return prefs, "Please tick at least one digest, or use the button below to unsubscribe."
	case badTag:
		return prefs, "Please pick topics from the list."
	case !validZone(prefs.Timezone):
		prefs.Timezone = sub.Timezone // an unknown name is not offered back in the list
		return prefs, "That time zone is unknown. Please pick one from the list."
	case badDepth:
		return prefs, "Please pick what each newsletter holds from its list."
	case badPause:
		return prefs, "Please pick a pause from the list."
	}
	return prefs, ""
}

// formZone is the zone a form asks for: the search box's, else the list's.
func formZone(search, list string) string {
	return cmp.Or(strings.TrimSpace(search), strings.TrimSpace(list))
}

// validZone accepts "" (the digest's own zone) or an IANA zone name.
func validZone(z string) bool {
	if z == "" {
		return true
	}
	if len(z) > 64 || z == "Local" || strings.ContainsAny(z, "\\\x00") || strings.Contains(z, "..") {
		return false
	}
	_, err := time.LoadLocation(z)
	return err == nil
}

func digestTitle(d Digest) string { return cmp.Or(d.Title, d.Name) }

func defaultDepth(d Digest) string { return cmp.Or(d.Depth, subscribers.DepthTake) }
