package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"briefcast/subscribers"
	"briefcast/tokens"
)

// maxEmailLen bounds an address before it is even parsed (RFC 5321 allows
// 254 in practice).
const maxEmailLen = 254

// subscribe serves /subscribe: the form, and the sign-up it posts.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		p := s.newPage("Subscribe")
		p.Digests = s.digestOptions(nil)
		s.render(w, r, http.StatusOK, "subscribe.html", p)
	case http.MethodPost:
		s.subscribePost(w, r)
	default:
		s.methodNotAllowed(w, r, "GET, HEAD, POST")
	}
}

// parseBody reads a form body of at most maxBodyBytes, answering 413 or
// 400 itself when it cannot.
func (s *Server) parseBody(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxBodyBytes)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.message(w, r, http.StatusRequestEntityTooLarge, "Request too large", "That form was larger than this site accepts.", false)
		return false
	}
	s.message(w, r, http.StatusBadRequest, "Bad request", "That form could not be read.", false)
	return false
}

// subscribePost signs someone up. Whatever the state of the address (new,
// pending, active or suppressed) the answer is the same page, so the form
// cannot be used to learn who is subscribed.
func (s *Server) subscribePost(w http.ResponseWriter, r *http.Request) {
	if !s.parseBody(w, r) {
		return
	}
	ctx := r.Context()
	now := s.now()
	done := s.newPage("Almost there")
	if r.PostForm.Get("website") != "" {
		// The honeypot: hidden from people, filled in by bots. Pretend.
		s.log.Info("subscribe_honeypot")
		s.render(w, r, http.StatusOK, "subscribed.html", done)
		return
	}
	ip := s.clientIP(r)
	if !s.ipRate.allow(ipKey(ip), now) {
		s.tooMany(w, r)
		return
	}

	form := s.newPage("Subscribe")
	raw := r.PostForm.Get("email")
	if len(raw) <= maxEmailLen {
		form.Email = raw
	}
	form.Name = cleanName(r.PostForm.Get("name"))
	chosen := s.chosenDigests(r.PostForm["digest"])
	form.Digests = s.digestOptions(append([]string{}, chosen...)) // none ticked stays none
	addr, err := normalizeAddress(raw)
	if err != nil {
		form.Error = "That does not look like an e-mail address. Please check it and try again."
		s.render(w, r, http.StatusBadRequest, "subscribe.html", form)
		return
	}
	if len(s.cfg.Digests) > 0 && len(chosen) == 0 {
		form.Error = "Please tick at least one digest."
		s.render(w, r, http.StatusBadRequest, "subscribe.html", form)
		return
	}
	if !s.addrRate.allow(strings.ToLower(addr), now) {
		s.tooMany(w, r)
		return
	}

	// An active subscriber keeps their preferences: a stranger who knows
	// the address must not be able to change them from this form. Nothing
	// is written, so the answer waits as long as a sign-up's write usually
	// takes: its time must not tell that the address is subscribed.
	began := time.Now()
	if cur, err := s.store.GetByEmail(ctx, addr); err == nil && cur.Status == subscribers.Active {
		s.log.Info("subscribe", "subscriber_id", cur.ID, "outcome", "already_active")
		if d := min(s.signupCost.typical(), maxSignupPause) - time.Since(began); d > 0 {
			s.pause(d)
		}
		s.render(w, r, http.StatusOK, "subscribed.html", done)
		return
	} else if err != nil && !errors.Is(err, subscribers.ErrNotFound) {
		s.log.Error("subscribe_lookup_failed", "err", err)
		s.unavailable(w, r)
		return
	}
	optIn := s.cfg.Subscriptions.DoubleOptInEnabled()
	sub, outcome, err := s.store.Subscribe(ctx, subscribers.SubscribeRequest{
		Email:       addr,
		Name:        form.Name,
		Digests:     chosen,
		Active:      !optIn,
		Source:      subscribers.SourceForm,
		ConsentAt:   now,
		ConsentIP:   ip.String(),
		ConsentText: s.consent,
	})
	if err != nil {
		s.log.Error("subscribe_failed", "err", err)
		s.unavailable(w, r)
		return
	}
	s.log.Info("subscribe", "subscriber_id", sub.ID, "outcome", string(outcome))
	if optIn && sub.Status == subscribers.Pending {
		tok := s.signer.Sign(tokens.Confirm, sub.ID, sub.TokenKey, now.Add(s.cfg.Subscriptions.ConfirmTTL.Duration))
		link := s.baseURL + "confirm?token=" + url.QueryEscape(tok)
		if err := s.mailer.SendConfirmation(ctx, sub, link); err != nil {
			// The page stays the same: they can simply submit again.
			s.log.Error("confirmation_send_failed", "subscriber_id", sub.ID, "err", err)
		}
	}
	s.signupCost.add(time.Since(began))
	s.render(w, r, http.StatusOK, "subscribed.html", done)
}

// maxSignupPause bounds the wait of an active address's sign-up, should the
// store have been slow for a while.
const maxSignupPause = 2 * time.Second

// movingCost is a moving average of durations, safe for concurrent use.
type movingCost struct{ ns atomic.Int64 }

// add folds d into the average, an eighth at a time.
func (m *movingCost) add(d time.Duration) {
	for {
		old := m.ns.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if m.ns.CompareAndSwap(old, next) {
			return
		}
	}
}

// typical is the average so far, 0 before the first add.
func (m *movingCost) typical() time.Duration { return time.Duration(m.ns.Load()) }

// tooMany answers 429. The limit per address says only that someone tried
// that address a few times just now, which the person trying knows.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "600")
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
	for _, d := range s.cfg.Digests {
		if has(names, d.Name) {
			out = append(out, d.Name)
		}
	}
	return out
}

// cleanName trims a display name to one line of at most 100 characters.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 100 {
		s = string([]rune(s)[:100])
	}
	return s
}
