package bounces

import (
	"regexp"
	"slices"
	"strings"
)

// reason is a cause of failure read from a server's text, with the kind it
// implies and the enhanced status (subject.detail) it stands for.
type reason struct {
	name   string
	kind   Kind
	detail string // "1.1" for x.1.1
	re     *regexp.Regexp
}

func rx(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + s) }

// reasons are tried in order. The soft causes come first on purpose: when
// a 5xx reply says "mailbox full", "spam" or "try again", the text is what
// the server meant, whatever its code (the rule of thumb of mature bounce
// classifiers). Exchange's recipient-not-found codes come before all,
// since their text also says "access denied".
var reasons = []reason{
	{"host unknown", Hard, "1.2", rx(`domain (name )?(has )?expired`)},
	{"user unknown", Hard, "1.1", rx(`recipnotfound|not listed in (the )?(\w+ )?(public )?(directory|address book)|access denied\. as\(\d+\)|recipient ?not ?found`)},
	{"mailbox full", Soft, "2.2", rx(`mail ?box (is )?full|full mail ?box|over ?quota|quota|mailbox (size|storage) limit|insufficient (system )?storage|(storage|disk) space|mail ?folder is full|exceeded (the )?(storage|space|allocation)|(has|have) too many messages|mailbox (has )?exceeded|not enough space|mailbox is over|` + localFull)},
	{"message too large", Soft, "3.4", rx(`too (large|big)|size (limit|exceeds)|exceeds (the )?(maximum|size|allowed)|message size|message length exceeds|maximum message size`)},
	{"expired", Soft, "4.7", rx(`expired|gave up|giving up (after|trying)|retry time|delivery time|too long in (the )?queue|could not be delivered (within|for)|cannot send message for|could not send message for|been delayed for|max(imum)? (queue|delivery) time|retry timeout|delivery period`)},
	{"account disabled", Soft, "2.1", rx(`(account|mailbox|user|address)( \S+)? (has been |is |was )?(temporarily )?(suspended|disabled|deactivated|inactive|locked|frozen|closed|blocked)|suspended (account|mailbox|user)|disabled|deactivated|inactive|not active|account expired|expired account|temporarily (deactivated|unavailable)`)},
	{"blocked", Soft, "7.1", rx(`spam|black ?list|block ?list|\bblocked\b|\bblocking\b|\brbl\b|dnsbl|spamhaus|spamcop|barracuda|reputation|listed (at|in|on|by)|\bpolic(y|ies)\b|dmarc|\bspf\b|dkim|not authori[sz]ed|unauthenticated|authentication (required|failed)|bulk|junk|virus|malware|phish|suspicious|relay(ing)? (access )?(denied|not permitted|prohibited)|not permitted to relay|unable to relay|access denied|sender verif(y|ication) failed|verification failed for|sender (address )?(rejected|denied|blocked)|banned|prohibited|refused to accept|content rejected|rejected (for|due to|because|as)|not allowed to send|restricted|unsolicited|rate limit|too many (connections|messages)|denied`)},
	{"mail loop", Soft, "4.6", rx(`loops? back to myself|mail(ing)? loop|routing loop|loop detected|too many hops|hop count exceeded|too many "?received`)},
	{"network error", Soft, "4.1", rx(`timed? ?out|timeout|connection (refused|reset|lost|closed|dropped)|lost connection|could not connect|unable to connect|couldn't connect|network (is )?unreachable|no route to host|tls (negotiation|handshake)`)},
	{"temporary failure", Soft, "3.0", rx(`try (again|later)|temporar|retry later|please retry|deferred|greylist|graylist|grey-list|resources? (temporarily )?unavailable|system (is )?busy|server busy|service (is )?(currently )?unavailable|local error|queue (is )?full|insufficient resources`)},
	{"domain accepts no mail", Hard, "1.10", rx(`null mx|does not accept (e-?)?mail|accepts no mail|(not|no longer) accepting (any )?(e-?)?mail|accepting no mail`)},
	{"address moved", Hard, "1.6", rx(`has moved|moved to|address (has )?changed|no longer (valid|available|in use|with|at|used)|not at this address|user (is )?no longer|changed (his|her|their) (e-?mail )?address|address is obsolete|forwarding address`)},
	{"host unknown", Hard, "1.2", rx(`host (or domain name )?not found|host unknown|unknown host|domain (name )?not found|no such domain|domain (does not|doesn't) exist|nxdomain|name or service not known|no mx|mx record|unroutable|unrouteable (mail )?domain|no (valid )?mail exchanger|dns error|unknown (mail )?domain|domain (is )?(not valid|invalid|not configured|not hosted)|invalid domain|host name lookup failure|could not be resolved|bad destination system|non-existent host|domain (has )?expired|no such host`)},
	{"user unknown", Hard, "1.1", rx(`user unknown|unknown user|inconnu|n'existe pas|unbekannt|existiert nicht|no existe|desconocido|inexistente|sconosciut|non esiste|no such (user|mailbox|recipient|address|account|person|local user)|(user|address|account|mailbox|recipient|e-?mail) (does not|doesn't|did not|not) exist|does ?n[o']t exist|not found|unknown (recipient|address|mailbox|local.?part|alias)|recipient (address )?(rejected|unknown|invalid)|invalid (recipient|mailbox|address|user)|mailbox (is )?(unavailable|not available|unknown)|user not (found|known|listed)|not listed in|no mailbox|no account|not a (valid|known) (user|mailbox|recipient|address)|address (is )?(invalid|rejected)|addressee unknown|bad (recipient|address|destination mailbox)|undeliverable address|could ?n[o']t be found|no longer exists|no longer accepts (e-?)?mail|not have an? .{0,30}account|doesn't have an? .{0,30}account|unrouteable address|no mailbox here|not our customer|illegal alias|no valid recipients|mailbox name not allowed|invalid address|` + localUnknown)},
}

// Localized words for a full mailbox and an unknown user, as mail servers
// in German, French, Spanish, Portuguese, Italian, Dutch, Polish and
// Russian write them.
const (
	localFull = `(postfach|mailbox|speicher)\S* (des empf\S+ )?(ist )?(voll|überfüllt|ueberfuellt)|postfach voll|` +
		`boîte (aux lettres |de réception )?(\S+ )?(est )?pleine|` +
		`buz[oó]n (de correo )?(\S+ )?(\S+ )?(est[aá] )?(lleno|completo)|caixa (postal|de correio|de entrada) (\S+ )?(\S+ )?(est[aá] )?(cheia|lotada)|` +
		`casella (di posta )?(\S+ )?(\S+ )?(è )?piena|postvak (\S+ )?(is )?vol|skrzynka (\S+ )?(jest )?pe[lł]na|` +
		`переполнен|превышен\S* (квот|лимит|размер)|нет места`
	localUnknown = `nicht gefunden|unbekannt|gibt es nicht|introuvable|n'existe pas|inconnu|` +
		`no existe|desconocid|no encontrad|não existe|desconhecid|inexistente|sconosciut|non esiste|` +
		`onbekend|bestaat niet|niet gevonden|nie istnieje|nieznany|` +
		`нет такого|не существует|не найден|неизвестн`
)

// findReason returns the first reason whose pattern matches s.
func findReason(s string) *reason {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	// A reply wrapped over lines ("No such\n    user!") must read as one,
	// and the words of a link it points to ("…/anti-spam-policy") are not
	// what it says.
	s = urlRe.ReplaceAllString(strings.Join(strings.Fields(clip(s)), " "), " ")
	for i := range reasons {
		if reasons[i].re.MatchString(s) {
			return &reasons[i]
		}
	}
	return nil
}

func reasonNamed(name string) *reason {
	for i := range reasons {
		if reasons[i].name == name {
			return &reasons[i]
		}
	}
	return nil
}

// enhancedCode returns the first enhanced status code of class 4 or 5 in
// s, skipping parts of IP addresses and version numbers.
func enhancedCode(s string) string {
	s = clip(s)
	for _, loc := range enhancedRe.FindAllStringIndex(s, 100) {
		a, b := loc[0], loc[1]
		if a > 0 && (isDigit(s[a-1]) || s[a-1] == '.') {
			continue
		}
		if b < len(s) && (isDigit(s[b]) || (s[b] == '.' && b+1 < len(s) && isDigit(s[b+1]))) {
			continue
		}
		return s[a:b]
	}
	return ""
}

var urlRe = regexp.MustCompile(`(?i)\b(https?://|www\.)\S+`)

var enhancedRe = regexp.MustCompile(`[45]\.\d{1,3}\.\d{1,3}`)

// basicCode returns the first three-digit 4xx or 5xx reply code in s.
func basicCode(s string) string {
	if loc := basicRe.FindStringSubmatchIndex(clip(s)); loc != nil {
		return s[loc[2]:loc[3]]
	}
	return ""
}

var basicRe = regexp.MustCompile(`(?:^|[\s'"(:<>\[=])([45][0-5]\d)(?:[\s-]|$)`)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// basicStatus maps a bare reply code to an enhanced status when the reply
// had none (RFC 5321 section 4.2.3 meanings).
var basicStatus = map[string]string{
	"421": "4.4.2", "450": "4.2.1", "451": "4.3.0", "452": "4.2.2",
	"550": "5.1.1", "551": "5.1.6", "552": "5.2.2", "553": "5.1.3", "554": "5.0.0",
}

// statusKind is the kind a class-5 enhanced status implies alone: hard,
// except the mailbox, system and policy conditions that may pass.
func statusKind(code string) Kind {
	rest := strings.TrimPrefix(code, "5.")
	switch {
	case strings.HasPrefix(rest, "7."), strings.HasPrefix(rest, "6."):
		return Soft
	case slices.Contains([]string{"1.7", "1.8", "2.1", "2.2", "2.3", "3.1", "3.2", "3.4", "4.2", "4.5", "4.6", "4.7"}, rest):
		return Soft
	}
	return Hard
}
