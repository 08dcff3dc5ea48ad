package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"briefcast/subscribers"
	"briefcast/tokens"
)

// confirmExpired is the text of an expired confirmation link.
const confirmExpired = "Confirmation links work for a limited time. Subscribe again and we will send you a fresh one."

// confirmPage serves GET /confirm?token=…: one button, or the outcome when
// nothing is left to do. Only the POST the button sends activates a pending
// subscriber: link scanners of mail providers open every link of a message,
// and they must not confirm an address nobody confirmed.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	sub, ok := s.tokenSubscriber(w, r, tokens.Confirm, tok, s.now(), confirmExpired, true)
	if !ok {
		return
	}
	switch sub.Status {
	case subscribers.Active:
		s.render(w, r, http.StatusOK, "confirm.html", s.confirmedPage())
	case subscribers.Pending:
		p := s.newPage("Confirm your subscription")
		p.Token = tok
		s.render(w, r, http.StatusOK, "confirm.html", p)
	default:
		s.noLongerValid(w, r)
	}
}

// confirmPost serves POST /confirm: it activates the subscriber of the
// form's token. A replayed confirmation shows the same success page and
// changes nothing.
func (s *Server) confirmPost(w http.ResponseWriter, r *http.Request) {
	if s.crossSite(w, r) || !s.parseBody(w, r) {
		return
	}
	sub, ok := s.tokenSubscriber(w, r, tokens.Confirm, r.Form.Get("token"), s.now(), confirmExpired, true)
	if !ok {
		return
	}
	id := sub.ID
	switch sub.Status {
	case subscribers.Active:
		// A replay: nothing to do.
	case subscribers.Pending:
		if err := s.store.SetStatus(r.Context(), id, subscribers.Active, "confirmed by link"); err != nil {
			s.log.Error("confirm_failed", "subscriber_id", id, "err", err)
			s.unavailable(w, r)
			return
		}
		s.log.Info("subscriber_confirmed", "subscriber_id", id)
	default:
		s.noLongerValid(w, r)
		return
	}
	s.render(w, r, http.StatusOK, "confirm.html", s.confirmedPage())
}

func (s *Server) confirmedPage() *page {
	p := s.newPage("Subscription confirmed")
	p.Done = true
	return p
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

// unsubscribePage serves GET /unsubscribe?token=…: one button. An expired
// but authentic token still works: a link that can only reduce mail should
// keep working.
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	sub, err := s.linkSubscriber(r.Context(), tokens.Unsubscribe, tok, s.now())
	if !s.unsubscribeLinkOK(w, r, err) {
		return
	}
	p := s.newPage("Unsubscribe")
	p.Token = tok
	switch {
	case sub == nil || sub.Status.Suppressed():
		p.Done = true
		p.Declined = sub != nil && sub.Status == subscribers.Complained
	case sub.Status == subscribers.Pending:
		p.Pending = true
	}
	s.render(w, r, http.StatusOK, "unsubscribe.html", p)
}

// unsubscribePost serves POST /unsubscribe: the button, or an RFC 8058
// one-click request from a mail client. It unsubscribes at once and answers
// 200, never a redirect. A button POST from another site is refused; a
// one-click POST is not, since mail clients send it from anywhere and its
// token, in the URL, is all the authority it needs.
func (s *Server) unsubscribePost(w http.ResponseWriter, r *http.Request) {
	if !s.parseBody(w, r) {
		return
	}
	oneClick := r.PostForm.Get("List-Unsubscribe") == "One-Click" && r.URL.Query().Has("token")
	if !oneClick && s.crossSite(w, r) {
		return
	}
	tok := r.Form.Get("token") // the body's, else the query's
	sub, err := s.linkSubscriber(r.Context(), tokens.Unsubscribe, tok, s.now())
	if !s.unsubscribeLinkOK(w, r, err) {
		return
	}
	reason := "unsubscribe page"
	if oneClick {
		reason = "one-click unsubscribe"
	}
	var to subscribers.Status
	if sub != nil {
		var ok bool
		if to, ok = s.leave(w, r, sub.ID, reason); !ok {
			return
		}
	}
	p := s.newPage("Unsubscribed")
	p.Done = true
	p.Declined = to == subscribers.Complained
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
		s.log.Error("unsubscribe_lookup_failed", "subscriber_id", id, "err", err)
		s.unavailable(w, r)
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
		s.log.Error("unsubscribe_failed", "subscriber_id", id, "err", err)
		s.unavailable(w, r)
		return "", false
	}
	s.log.Info("subscriber_unsubscribed", "subscriber_id", id, "status", string(to), "reason", reason)
	return to, true
}

// tokenSubscriber checks a link's token for purpose and loads its
// subscriber. On any failure it answers the request itself (an expired
// link gets expiredText, with a way back to /subscribe when offerSubscribe)
// and reports false.
func (s *Server) tokenSubscriber(w http.ResponseWriter, r *http.Request, purpose tokens.Purpose, tok string, now time.Time, expiredText string, offerSubscribe bool) (*subscribers.Subscriber, bool) {
	sub, err := s.linkSubscriber(r.Context(), purpose, tok, now)
	switch {
	case errors.Is(err, tokens.ErrExpired):
		s.message(w, r, http.StatusBadRequest, "This link has expired", expiredText, offerSubscribe)
		return nil, false
	case errors.Is(err, tokens.ErrInvalid) || errors.Is(err, subscribers.ErrNotFound):
		s.badLink(w, r)
		return nil, false
	case err != nil:
		s.log.Error("link_lookup_failed", "purpose", string(purpose), "err", err)
		s.unavailable(w, r)
		return nil, false
	}
	return sub, true
}

// linkSubscriber checks a link's token for purpose against the subscriber
// it names, whose token key it must carry: a link made for a subscriber
// who was since forgotten never acts on anyone else. An authentic but
// expired token gives its subscriber and tokens.ErrExpired; a token naming
// nobody gives subscribers.ErrNotFound.
func (s *Server) linkSubscriber(ctx context.Context, purpose tokens.Purpose, tok string, now time.Time) (*subscribers.Subscriber, error) {
	var sub *subscribers.Subscriber
	_, err := s.signer.Verify(purpose, tok, now, func(id int64) ([]byte, error) {
		var err error
		if sub, err = s.store.Get(ctx, id); err != nil {
			return nil, err
		}
		return sub.TokenKey, nil
	})
	if err != nil && !errors.Is(err, tokens.ErrExpired) {
		return nil, err
	}
	return sub, err
}

// unsubscribeLinkOK answers a bad unsubscribe link itself and reports
// false. An expired but authentic token still unsubscribes, and one naming
// a subscriber who no longer exists (forgotten) has nothing left to do.
func (s *Server) unsubscribeLinkOK(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil, errors.Is(err, tokens.ErrExpired), errors.Is(err, subscribers.ErrNotFound):
		return true
	case errors.Is(err, tokens.ErrInvalid):
		s.badLink(w, r)
	default:
		s.log.Error("link_lookup_failed", "purpose", string(tokens.Unsubscribe), "err", err)
		s.unavailable(w, r)
	}
	return false
}
