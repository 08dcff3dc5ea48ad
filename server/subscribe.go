package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"briefcast/links"
	"briefcast/subscribers"
	"briefcast/tokens"
)

// maxEmailLen bounds an address before it is parsed (RFC 5321 in practice).
const maxEmailLen = 254

// subscribeForm serves GET /subscribe: the form.
func (s *Server) subscribeForm(w http.ResponseWriter, r *http.Request) {
	p := s.newPage("Subscribe")
	p.Digests = s.digestOptions(nil)
	p.Zones = s.signupZones("")
	s.render(w, r, http.StatusOK, "subscribe.html", p)
}

// signupZones is the sign-up form's zone list with chosen selected, else the
// first digest's zone (the form's script selects the browser's own).
func (s *Server) signupZones(chosen string) *zoneField {
	if chosen == "" && len(s.options.Digests) > 0 {
		chosen = s.options.Digests[0].Timezone
	}
	chosen = cmp.Or(chosen, "UTC")
	extra := []string{chosen}
	for _, d := range s.options.Digests {
		extra = append(extra, d.Timezone)
	}
	return &zoneField{ID: "sub-tz", Hint: "(when your mail should arrive)", Selected: chosen, Groups: zoneGroups(chosen, extra...)}
}

// parseBody reads a form of at most maxBodyBytes, else answers 413 or 400.
func (s *Server) parseBody(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxBodyBytes)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &mbe):
		s.message(w, r, http.StatusRequestEntityTooLarge, "Request too large", "That form was larger than this site accepts.", false)
	default:
		s.message(w, r, http.StatusBadRequest, "Bad request", "That form could not be read.", false)
	}
	return false
}

// subscribePost signs someone up. Every valid sign-up gets the same page at
// once, before the store is asked about the address (see Mailer).
func (s *Server) subscribePost(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	done := s.newPage("Almost there")
	if r.PostForm.Get("website") != "" { // the honeypot, hidden from people: pretend
		s.log.Info("subscribe_honeypot")
		s.render(w, r, http.StatusOK, "subscribed.html", done)
		return
	}
	ip := s.ClientIP(r)
	if !s.ipRate.allow(ClientKey(ip), now) {
		s.tooMany(w, r, s.ipRate.rate.Every)
		return
	}
	req, form := s.signupRequest(r, ip.String(), now)
	if form.Error != "" {
		s.render(w, r, http.StatusBadRequest, "subscribe.html", form)
		return
	}
	if !s.addrRate.allow(strings.ToLower(req.Email), now) {
		s.tooMany(w, r, s.addrRate.rate.Every)
		return
	}
	if err := s.mailer.Enqueue(r.Context(), s.signupJob(req, now)); err != nil {
		s.unavailable(w, r, "subscribe_queue_failed", "err", err)
		return
	}
	s.render(w, r, http.StatusOK, "subscribed.html", done)
}

// signupRequest checks the form as the store will, before anything depends
// on the address. On a bad field the page returned has its Error set.
func (s *Server) signupRequest(r *http.Request, ip string, now time.Time) (subscribers.SubscribeRequest, *page) {
	form := s.newPage("Subscribe")
	raw := r.PostForm.Get("email")
	if len(raw) <= maxEmailLen {
		form.Email = raw
	}
	name := cleanName(r.PostForm.Get("name"))
	if len(name) <= subscribers.MaxNameLen {
		form.Name = name
	}
	chosen := s.chosenDigests(r.PostForm["digest"])
	form.Digests = s.digestOptions(append([]string{}, chosen...)) // none ticked stays none
	zone := formZone(r.PostForm.Get("timezone_search"), r.PostForm.Get("timezone"))
	if !validZone(zone) {
		zone = ""
		form.Error = "That time zone is unknown. Please pick one from the list."
	}
	form.Zones = s.signupZones(zone)
	addr, err := normalizeAddress(raw)
	req := subscribers.SubscribeRequest{Email: addr, Name: name, Digests: chosen, Timezone: zone, Active: !s.options.DoubleOptIn,
		Source: subscribers.SourceForm, ConsentAt: now, ConsentIP: ip, ConsentText: s.consent}
	switch {
	case form.Error != "":
	case err != nil:
		form.Error = "That does not look like an e-mail address. Please check it and try again."
	case len(s.options.Digests) > 0 && len(chosen) == 0:
		form.Error = "Please tick at least one digest."
	case len(name) > subscribers.MaxNameLen:
		form.Error = "That name is too long. Please shorten it."
	default:
		if err := req.Validate(); err != nil { // what the checks above let through and the store would refuse
			s.log.Info("subscribe_refused", "err", err)
			form.Error = "Part of that form cannot be accepted. Please check the name and the address and try again."
		}
	}
	return req, form
}

// signupJob is the queued half of a sign-up. An active subscriber keeps
// their preferences (a stranger must not change them from the form), and an
// address that declined a confirmation (Complained) is not written to again.
func (s *Server) signupJob(req subscribers.SubscribeRequest, now time.Time) SignupJob {
	return func(ctx context.Context) (*Confirmation, error) {
		ref := addressRef(req.Email)
		cur, err := s.store.GetByEmail(ctx, req.Email)
		switch {
		case err == nil && cur.Status == subscribers.Active:
			s.log.Info("subscribe", "subscriber_id", cur.ID, "outcome", "already_active")
			return nil, nil
		case err == nil && cur.Status == subscribers.Complained:
			s.log.Info("subscribe", "subscriber_id", cur.ID, "outcome", "declined_before")
			return nil, nil
		case err != nil && !errors.Is(err, subscribers.ErrNotFound):
			return nil, fmt.Errorf("sign-up of %s: look-up: %w", ref, err)
		}
		sub, outcome, err := s.store.Subscribe(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("sign-up of %s: %w", ref, err)
		}
		s.log.Info("subscribe", "subscriber_id", sub.ID, "outcome", string(outcome))
		if req.Active || sub.Status != subscribers.Pending {
			return nil, nil
		}
		tok := s.signer.Sign(tokens.Confirm, sub.ID, sub.TokenKey, now.Add(s.options.ConfirmTTL))
		return &Confirmation{Subscriber: sub, Link: links.New(s.baseURL).Confirm(tok)}, nil
	}
}

// addressRef names an address in a log line without giving it away: the
// start of the hash the suppression list keeps.
func addressRef(addr string) string {
	return "address sha256:" + subscribers.HashEmail(addr)[:16]
}

// tooMany answers 429 with Retry-After the refill time of the limit that
// refused. The limit per address tells only what the person trying knows.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, every time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((every+time.Second-1)/time.Second)))
	s.message(w, r, http.StatusTooManyRequests, "Too many attempts", "There have been too many sign-up attempts from here. Please wait a few minutes and try again.", false)
}

// normalizeAddress refuses what no address can hold before normalising.
func normalizeAddress(raw string) (string, error) {
	if len(raw) > maxEmailLen || strings.ContainsAny(raw, "\r\n\x00") || !utf8.ValidString(raw) {
		return "", errors.New("invalid address")
	}
	return subscribers.NormalizeEmail(raw)
}

// chosenDigests keeps the configured digests among names, in config order.
func (s *Server) chosenDigests(names []string) []string {
	var out []string
	for _, d := range s.options.Digests {
		if slices.Contains(names, d.Name) {
			out = append(out, d.Name)
		}
	}
	return out
}

// cleanName makes a display name one line of single spaces.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
