package server

import (
	"errors"
	"net/http"

	"briefcast/subscribers"
	"briefcast/tokens"
)

// confirmExpired is the text of an expired confirmation link.
const confirmExpired = "Confirmation links work for a limited time. Subscribe again and we will send you a fresh one."

// confirm serves /confirm?token=…. GET shows one button, or the outcome
// when nothing is left to do; only the POST the button sends activates a
// pending subscriber: link scanners of mail providers open every link of a
// message, and they must not confirm an address nobody confirmed. A
// replayed confirmation shows the same success page and changes nothing.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	tok := formToken(r)
	sub, ok := s.tokenSubscriber(w, r, tokens.Confirm, tok, confirmExpired, true)
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
	case sub.Status != subscribers.Active:
		s.noLongerValid(w, r)
		return
	}
	p.Done = true
	s.render(w, r, http.StatusOK, "confirm.html", p)
}

// formToken is the token of a link's page: on a POST the form's (the
// body's, else the query's), else the query's.
func formToken(r *http.Request) string {
	if r.Method == http.MethodPost {
		return r.Form.Get("token")
	}
	return r.URL.Query().Get("token")
}

// noLongerValid answers a confirmation link of an address unsubscribed
// (or bounced) since it was sent: an old link must never undo that.
func (s *Server) noLongerValid(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusBadRequest, "This link is no longer valid",
		"This address was unsubscribed after the link was sent. To receive the digests again, subscribe once more.", true)
}

// badLink answers a missing, damaged or unknown token.
func (s *Server) badLink(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusBadRequest, "This link is not valid",
		"The link may be incomplete: some mail programs break long links across lines. Try copying the whole link from the message, or subscribe again.", true)
}

// unsubscribe serves /unsubscribe?token=…. GET shows one button. POST,
// the button or an RFC 8058 one-click request from a mail client,
// unsubscribes at once and answers 200, never a redirect. A button POST
// from another site is refused; a one-click POST is not, since mail clients
// send it from anywhere and its token, in the URL, is all the authority it
// needs.
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
			if to, ok = s.leave(w, r, sub.ID, reason); !ok {
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

// leave unsubscribes id and returns the status it is left in; it reports
// false after answering an error itself. A forgotten subscriber, or one
// already suppressed, needs nothing. A pending subscriber never confirmed:
// their unsubscribe is "this was not me", from the confirmation message,
// and they become Complained, which the sign-up form never mails again
// (Unsubscribed would be set back to pending, and mailed, by the next
// sign-up of the address).
func (s *Server) leave(w http.ResponseWriter, r *http.Request, id int64, reason string) (subscribers.Status, bool) {
	sub, err := s.store.Get(r.Context(), id)
	if errors.Is(err, subscribers.ErrNotFound) {
		return "", true
	} else if err != nil {
		s.unavailable(w, r, "unsubscribe_lookup_failed", "subscriber_id", id, "err", err)
		return "", false
	}
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

// tokenSubscriber checks a link's token for purpose against the subscriber
// it names, whose token key it must carry: a link made for a subscriber who
// was since forgotten never acts on anyone else. On any failure it answers
// the request itself and reports false; an expired link gets expiredText,
// with a way back to /subscribe when offerSubscribe. An unsubscribe link
// works expired too (a link that can only reduce mail should keep working),
// and one naming nobody (forgotten) gives a nil subscriber: nothing is left
// to do.
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
		s.badLink(w, r)
	default:
		s.unavailable(w, r, "link_lookup_failed", "purpose", string(purpose), "err", err)
	}
	return nil, false
}
