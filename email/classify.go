package email

import (
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// SendError classifies a failed Send.
type SendError struct {
	Code      int    // SMTP reply code, 0 when there was none (connection failure)
	Enhanced  string // e.g. "5.1.1", "" when none
	Reply     string // the server's text (no addresses of other people)
	Temporary bool   // 4xx, dropped connection, timeout, refused connection: retry later
	Bounce    bool   // a hard bounce (5.1.x): the address does not exist
	Broken    bool   // the connection is unusable (no reply, or 421): open a new one
	Err       error
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
	return fmt.Sprintf("email: send failed (%s): %s", kind, e.ReplyText())
}

// ReplyText is the server's reply, "550 5.1.1 No such user", or the
// connection error when there was none.
func (e *SendError) ReplyText() string {
	if e.Code == 0 {
		return fmt.Sprint(e.Err)
	}
	s := strconv.Itoa(e.Code)
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

// Classify turns any error from Send into a *SendError (nil only for nil):
// 4xx replies and connection failures are temporary, 5xx permanent, 5.1.x
// bounces. The reply comes from go-mail's typed errors, *textproto.Error or
// *mail.SendError; an error holding neither had no reply.
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
		out.Enhanced, out.Reply = enhancedCode(tp.Code, tp.Msg)
	case errors.As(err, &ge) && ge.ErrorCode() != 0:
		// go-mail keeps the server's text to itself; the code and the
		// enhanced status code are what matter.
		out.Code = ge.ErrorCode()
		out.Enhanced = ge.EnhancedStatusCode()
	}
	out.Reply = redactAddresses(cleanLine(out.Reply))
	switch {
	case out.Code >= 400 && out.Code < 500:
		out.Temporary = true
		out.Broken = out.Code == 421
	case out.Code >= 500:
		out.Bounce = strings.HasPrefix(out.Enhanced, "5.1.")
	default:
		// No reply: the server is unreachable, went away or timed out. Try
		// again later, unless the message has no usable sender or recipients.
		out.Broken = true
		out.Temporary = ge == nil || !slices.Contains(permanentLocal, ge.Reason)
	}
	return out
}

// permanentLocal are the go-mail failures that retrying cannot fix.
var permanentLocal = []gomail.SendErrReason{gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded}

// enhanced matches an enhanced status code (RFC 3463) at the front of a
// reply's text, its class in the group.
var enhanced = regexp.MustCompile(`^([0-9]+)\.[0-9]{1,3}\.[0-9]{1,3}(?: |$)`)

// enhancedCode splits the enhanced status code off the front of a reply's
// text when its class is the reply code's: "5.1.1 No such user" to a 550
// gives "5.1.1" and "No such user".
func enhancedCode(code int, text string) (enh, rest string) {
	m := enhanced.FindStringSubmatch(text)
	if m == nil || m[1] != strconv.Itoa(code/100) {
		return "", text
	}
	return strings.TrimSpace(m[0]), strings.TrimSpace(text[len(m[0]):])
}

// redactAddresses replaces every word holding an "@" in a server's reply,
// so replies can be stored and logged.
func redactAddresses(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	words := strings.Fields(s)
	for i, w := range words {
		if strings.Contains(w, "@") {
			words[i] = "[address]"
		}
	}
	return strings.Join(words, " ")
}
