package articles

import "strings"

// tier is one of the three depths of an article.
type tier int

const (
	tierNone tier = iota
	tierTake
	tierDigest
	tierFull
)

// tierMarkers are the spellings of the tier markers, in any letter case.
var tierMarkers = []struct {
	name string
	tier tier
}{
	{"instant insight", tierTake}, {"30-second take", tierTake}, {"30 second take", tierTake},
	{"dive deeper", tierDigest}, {"quick brief", tierDigest}, {"2-minute digest", tierDigest}, {"2 minute digest", tierDigest},
	{"full analysis", tierFull}, {"full depth", tierFull}, {"complete coverage", tierFull},
}

// tierOf recognises a tier marker in any letter case, with or without a
// leading "+ " (pasted pages show it as an expand button) and a trailing
// colon. s must already be space-normalised.
func tierOf(s string) tier {
	s = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(s, "+")), ":")
	if len(s) > len("complete coverage") {
		return tierNone // even with only a space before the colon
	}
	s = strings.TrimSpace(s)
	for _, m := range tierMarkers {
		if sameName(s, m.name) {
			return m.tier
		}
	}
	return tierNone
}

// sameName reports whether s is name in any letter case. The names are
// ASCII but for one ’, so equal lengths keep out the non-ASCII letters that
// fold to ASCII ones (K, ſ).
func sameName(s, name string) bool { return len(s) == len(name) && strings.EqualFold(s, name) }

// sectionKind says how a section's bullets are read.
type sectionKind int

const (
	kindProse sectionKind = iota
	kindPlayers
	kindNumbers
	kindDataPoints
)

// knownSection recognises a known section heading in any case: its kind,
// tier and usual spelling.
func knownSection(s string) (known, bool) {
	s = strings.TrimSuffix(s, ":")
	for _, k := range knownSections {
		if sameName(s, k.title) {
			return k, true
		}
	}
	return known{}, false
}

type known struct {
	kind  sectionKind
	tier  tier
	title string
}

var knownSections = []known{
	{kindProse, tierDigest, "Essential Context"},
	{kindProse, tierDigest, "Context"},
	{kindProse, tierDigest, "Background"},
	{kindPlayers, tierDigest, "Core Players"},
	{kindPlayers, tierDigest, "Key Players"},
	{kindNumbers, tierDigest, "Key Numbers"},
	{kindNumbers, tierDigest, "By the Numbers"},
	{kindProse, tierFull, "The Catalyst"},
	{kindProse, tierFull, "Inside Forces"},
	{kindProse, tierFull, "Power Dynamics"},
	{kindProse, tierFull, "Outside Impact"},
	{kindProse, tierFull, "Future Forces"},
	{kindProse, tierFull, "The Big Picture"},
	{kindProse, tierFull, "What's Next"},
	{kindProse, tierFull, "What’s Next"},
	{kindDataPoints, tierFull, "Data Points"},
	{kindDataPoints, tierFull, "Timeline"},
}

// splitPlayer splits "Name – role" on the first en dash, em dash or " - ".
// Without a separator the whole text is the name: a role is never invented.
func splitPlayer(s string) (name, role string) {
	best := -1
	width := 0
	for _, sep := range []string{" – ", " — ", " - ", "–", "—"} {
		if i := strings.Index(s, sep); i > 0 && (best < 0 || i < best) {
			best, width = i, len(sep)
		}
	}
	if best < 0 {
		return s, ""
	}
	return strings.TrimSpace(s[:best]), strings.TrimSpace(s[best+width:])
}

// splitPair splits "1987: what it is" on the first ": "; failing that on a
// dash as in splitPlayer. Without a separator the whole text is the figure.
func splitPair(s string) (left, right string) {
	if i := strings.Index(s, ": "); i > 0 {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:])
	}
	if strings.HasSuffix(s, ":") {
		return strings.TrimSpace(s[:len(s)-1]), ""
	}
	return splitPlayer(s)
}

// addTake adds one bullet of the take, read from line.
func (a *Article) addTake(txt, html string, line int) error {
	if txt == "" {
		return nil // a lone bullet glyph
	}
	if len(a.Take) == maxTake {
		return errorf(line, "the 30-second take has more than %d bullets", maxTake)
	}
	a.Take = append(a.Take, Bullet{Text: txt, HTML: html, Line: line})
	return nil
}

// addItem adds one bullet of a players, numbers or data points section.
func (a *Article) addItem(kind sectionKind, txt string, line int) {
	switch kind {
	case kindPlayers:
		name, role := splitPlayer(txt)
		a.tiers.Digest.Players = append(a.tiers.Digest.Players, Player{Name: name, Role: role, Line: line})
	case kindNumbers:
		fig, meaning := splitPair(txt)
		a.tiers.Digest.Numbers = append(a.tiers.Digest.Numbers, Number{Figure: fig, Meaning: meaning, Line: line})
	case kindDataPoints:
		date, event := splitPair(txt)
		a.tiers.Full.DataPoints = append(a.tiers.Full.DataPoints, DataPoint{Date: date, Event: event, Line: line})
	}
}

// addSection adds a closed section to the tier it was opened in.
func (a *Article) addSection(t tier, sec Section) {
	if t == tierFull {
		a.tiers.Full.Sections = append(a.tiers.Full.Sections, sec)
	} else {
		a.tiers.Digest.Sections = append(a.tiers.Digest.Sections, sec)
	}
}

// markTier records the line of the first marker of tier t.
func (a *Article) markTier(t tier, line int) {
	var at *int
	switch t {
	case tierTake:
		at = &a.takeLine
	case tierDigest:
		at = &a.tiers.Digest.Line
	case tierFull:
		at = &a.tiers.Full.Line
	default:
		return
	}
	if *at == 0 {
		*at = line
	}
}
