package server

import (
	"errors"
	"net/http"

	"briefcast/subscribers"
	"briefcast/tokens"
)

// confirm serves /confirm?token=…: GET shows one button (link scanners of
// mail providers open every link, and must not confirm an address), the
// POST it sends activates the subscriber; a replay changes nothing.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	tok := formToken(r)
	sub, ok := s.tokenSubscriber(w, r, tokens.Confirm, tok,
		"Confirmation links work for a limited time. Subscribe again and we will send you a fresh one.", true)
	if !ok {
		return
	}
	p := s.newPage("Subscription confirmed")
	switch {
	case sub.Status == subscribers.Pending && r.Method != http.MethodPost:
		p.Title, p.Token = "Confirm your subscription", tok
		s.render(w, r, http.StatusOK, "confirm.html", p)
		return
	case sub.Status == subscribers.Pending:
		if err := s.store.SetStatus(r.Context(), sub.ID, subscribers.Active, "confirmed by link"); err != nil {
			s.unavailable(w, r, "confirm_failed", "subscriber_id", sub.ID, "err", err)
			return
		}
		s.log.Info("subscriber_confirmed", "subscriber_id", sub.ID)
	case sub.Status != subscribers.Active: // unsubscribed since: an old link must never undo that
		s.message(w, r, http.StatusBadRequest, "This link is no longer valid",
			"This address was unsubscribed after the link was sent. To receive the digests again, subscribe once more.", true)
		return
	}
	p.Done = true
	s.render(w, r, http.StatusOK, "confirm.html", p)
}

// formToken is the token of a link's page: a POST's form's, else the query's.
func formToken(r *http.Request) string {
	if r.Method == http.MethodPost {
		return r.Form.Get("token")
	}
	return r.URL.Query().Get("token")
}

// unsubscribe serves /unsubscribe?token=…: GET shows one button; POST, the
// button or an RFC 8058 one-click request, unsubscribes and answers 200. A
// one-click POST may come from anywhere: its token is all the authority it needs.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	post := r.Method == http.MethodPost
	if post && !s.parseBody(w, r) {
		return
	}
	oneClick := post && r.PostForm.Get("List-Unsubscribe") == "One-Click" && r.URL.Query().Has("token")
	if post && !oneClick && s.crossSite(w, r) {
		return
	}
	tok := formToken(r)
	sub, ok := s.tokenSubscriber(w, r, tokens.Unsubscribe, tok, "", false)
	if !ok {
		return
	}
	p := s.newPage("Unsubscribe")
	p.Token = tok
	switch {
	case post:
		reason := "unsubscribe page"
		if oneClick {
			reason = "one-click unsubscribe"
		}
		var to subscribers.Status
		if sub != nil {
			if to, ok = s.leave(w, r, sub, reason); !ok {
				return
			}
		}
		p.Title, p.Done, p.Declined = "Unsubscribed", true, to == subscribers.Complained
	case sub == nil || sub.Status.Suppressed():
		p.Done = true
		p.Declined = sub != nil && sub.Status == subscribers.Complained
	case sub.Status == subscribers.Pending:
		p.Pending = true
	}
	s.render(w, r, http.StatusOK, "unsubscribe.html", p)
}

// leave unsubscribes sub, just loaded by its link, and returns the status
// it is left in; it reports false after answering an error itself. A pending
// subscriber's unsubscribe is "this was not me": they become Complained,
// which the sign-up form never mails again (an Unsubscribed address would be
// mailed on its next sign-up).
func (s *Server) leave(w http.ResponseWriter, r *http.Request, sub *subscribers.Subscriber, reason string) (subscribers.Status, bool) {
	id := sub.ID
	if sub.Status.Suppressed() {
		return sub.Status, true
	}
	to := subscribers.Unsubscribed
	if sub.Status == subscribers.Pending {
		to, reason = subscribers.Complained, reason+": declined the confirmation"
	}
	if err := s.store.SetStatus(r.Context(), id, to, reason); err != nil {
		s.unavailable(w, r, "unsubscribe_failed", "subscriber_id", id, "err", err)
		return "", false
	}
	s.log.Info("subscriber_unsubscribed", "subscriber_id", id, "status", string(to), "reason", reason)
	return to, true
}

// tokenSubscriber checks a link's token against the subscriber it names,
// whose token key it must carry, so a forgotten subscriber's link never acts
// on anyone else. On failure it answers itself and reports false; an expired
// link gets expiredText (offerSubscribe: with a link to /subscribe). An
// unsubscribe link works expired too, and one naming nobody gives nil.
func (s *Server) tokenSubscriber(w http.ResponseWriter, r *http.Request, purpose tokens.Purpose, tok, expiredText string, offerSubscribe bool) (*subscribers.Subscriber, bool) {
	var sub *subscribers.Subscriber
	_, err := s.signer.Verify(purpose, tok, s.now(), func(id int64) ([]byte, error) {
		var err error
		if sub, err = s.store.Get(r.Context(), id); err != nil {
			return nil, err
		}
		return sub.TokenKey, nil
	})
	expired, nobody := errors.Is(err, tokens.ErrExpired), errors.Is(err, subscribers.ErrNotFound)
	switch {
	case err == nil, purpose == tokens.Unsubscribe && expired:
		return sub, true
	case purpose == tokens.Unsubscribe && nobody:
		return nil, true
	case expired:
		s.message(w, r, http.StatusBadRequest, "This link has expired", expiredText, offerSubscribe)
	case nobody || errors.Is(err, tokens.ErrInvalid):
		s.message(w, r, http.StatusBadRequest, "This link is not valid",
			"The link may be incomplete: some mail programs break long links across lines. Try copying the whole link from the message, or subscribe again.", true)
	default:
		s.unavailable(w, r, "link_lookup_failed", "purpose", string(purpose), "err", err)
	}
	return nil, false
}
