package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	gomail "github.com/wneessen/go-mail"
)

// SendError classifies a failed Send.
type SendError struct {
	Code      int    // SMTP reply code, 0 when there was none (connection failure)
	Enhanced  string // e.g. "5.1.1", "" when none
	Reply     string // the server's text (no addresses of other people)
	Temporary bool   // 4xx, dropped connection, timeout, refused connection: retry later
	Bounce    bool   // a hard bounce (5.1.x): the address does not exist
	// Broken reports that the connection can no longer be used (no reply,
	// or a 421 "closing"): close it and open a new one.
	Broken bool
	Err    error
}

// Error describes the failure without naming any address.
func (e *SendError) Error() string {
	kind := "permanent"
	switch {
	case e.Bounce:
		kind = "bounce"
	case e.Temporary:
		kind = "temporary"
	}
	if e.Code == 0 {
		return fmt.Sprintf("email: send failed (%s): %v", kind, e.Err)
	}
	s := fmt.Sprintf("email: send failed (%s): %d", kind, e.Code)
	if e.Enhanced != "" {
		s += " " + e.Enhanced
	}
	if e.Reply != "" {
		s += " " + e.Reply
	}
	return s
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

var (
	replyRe    = regexp.MustCompile(`\b([2-5][0-9][0-9])[ -]`)
	enhancedRe = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)
)

// Classify turns any error from Send into a *SendError (never nil for a
// non-nil err). Replies 4xx, lost or refused connections and timeouts are
// temporary; 5xx replies are permanent, and 5.1.x ones (the mailbox does
// not exist) are bounces.
func Classify(err error) *SendError {
	if err == nil {
		return nil
	}
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	out := &SendError{Err: err}
	var tp *textproto.Error
	var ge *gomail.SendError
	switch {
	case errors.As(err, &tp):
		out.Code = tp.Code
		out.Reply = tp.Msg
	case errors.As(err, &ge) && ge.ErrorCode() != 0:
		out.Code = ge.ErrorCode()
		out.Enhanced = ge.EnhancedStatusCode()
		out.Reply = replyText(ge.Error(), out.Code)
	}
	if out.Code == 0 {
		// Some paths (AUTH, STARTTLS) wrap the reply in plain text.
		if m := replyRe.FindStringSubmatch(err.Error()); m != nil && !isNetErr(err) {
			out.Code, _ = strconv.Atoi(m[1])
		}
	}
	if out.Enhanced == "" {
		src := out.Reply
		if src == "" {
			src = err.Error()
		}
		if m := enhancedRe.FindString(src); m != "" && out.Code != 0 && m[0] == strconv.Itoa(out.Code)[0] {
			out.Enhanced = m
		}
	}
	if out.Reply != "" && out.Enhanced != "" {
		out.Reply = strings.TrimSpace(strings.TrimPrefix(out.Reply, out.Enhanced))
	}
	out.Reply = redactAddresses(cleanLine(out.Reply))
	switch {
	case out.Code >= 400 && out.Code < 500:
		out.Temporary = true
		out.Broken = out.Code == 421
	case out.Code >= 500:
		out.Bounce = strings.HasPrefix(out.Enhanced, "5.1.")
	default:
		// No reply at all: the message may or may not have arrived; the
		// server is unreachable, went away or timed out. Try again later,
		// unless the message itself could not be built.
		out.Broken = true
		out.Temporary = !permanentLocal(err)
	}
	return out
}

// permanentLocal reports failures that retrying cannot fix: the message
// has no usable sender or recipients.
func permanentLocal(err error) bool {
	var ge *gomail.SendError
	if errors.As(err, &ge) {
		switch ge.Reason {
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			return true
		}
	}
	return false
}

// replyText digs the server's reply out of go-mail's error text, which
// does not expose it otherwise.
func replyText(s string, code int) string {
	i := strings.Index(s, strconv.Itoa(code)+" ")
	if i < 0 {
		return ""
	}
	s = s[i+4:]
	for _, cut := range []string{", affected recipient(s):", ", affected message ID:"} {
		if j := strings.Index(s, cut); j >= 0 {
			s = s[:j]
		}
	}
	return s
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed)
}

var addrRe = regexp.MustCompile(`[^\s<>"'()\[\],;:]+@[^\s<>"'()\[\],;:]+`)

// redactAddresses hides e-mail addresses in a server's reply, so replies
// can be stored and logged.
func redactAddresses(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return addrRe.ReplaceAllString(s, "[address]")
}
