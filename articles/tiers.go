package articles

import (
	"strings"
)

// tier is one of the three depths of an article.
type tier int

const (
	tierNone tier = iota
	tierTake
	tierDigest
	tierFull
)

// tierOf recognises a tier marker in any letter case, with or without a
// leading "+ " (pasted pages show it as an expand button) and a trailing
// colon. s must already be space-normalised.
func tierOf(s string) tier {
	s = strings.TrimPrefix(s, "+")
	s = strings.TrimSuffix(strings.TrimSpace(s), ":")
	if len(s) < 9 || len(s) > 17 {
		return tierNone
	}
	var arr [24]byte
	k, ok := lowerKey(arr[:0], strings.TrimSpace(s))
	if !ok {
		return tierNone
	}
	switch string(k) {
	case "instant insight", "30-second take", "30 second take":
		return tierTake
	case "dive deeper", "quick brief", "2-minute digest", "2 minute digest":
		return tierDigest
	case "full analysis", "full depth", "complete coverage":
		return tierFull
	}
	return tierNone
}

// sectionKind says how a section's bullets are read.
type sectionKind int

const (
	kindProse sectionKind = iota
	kindPlayers
	kindNumbers
	kindDataPoints
)

// knownSection recognises the known section headings in any case: their
// kind, tier and usual spelling.
func knownSection(s string) (sectionKind, tier, string, bool) {
	var arr [24]byte
	key, ok := lowerKey(arr[:0], strings.TrimSuffix(s, ":"))
	if !ok {
		// "What’s Next" is the one known name that is not ASCII.
		if !strings.Contains(s, "’") {
			return kindProse, tierNone, "", false
		}
		key = []byte(strings.ToLower(strings.TrimSuffix(s, ":")))
	}
	k, ok := knownSections[string(key)]
	return k.kind, k.tier, k.title, ok
}

type known struct {
	kind  sectionKind
	tier  tier
	title string
}

// knownSections is read-only after start-up.
var knownSections = map[string]known{
	"essential context": {kindProse, tierDigest, "Essential Context"},
	"context":           {kindProse, tierDigest, "Context"},
	"background":        {kindProse, tierDigest, "Background"},
	"core players":      {kindPlayers, tierDigest, "Core Players"},
	"key players":       {kindPlayers, tierDigest, "Key Players"},
	"key numbers":       {kindNumbers, tierDigest, "Key Numbers"},
	"by the numbers":    {kindNumbers, tierDigest, "By the Numbers"},
	"the catalyst":      {kindProse, tierFull, "The Catalyst"},
	"inside forces":     {kindProse, tierFull, "Inside Forces"},
	"power dynamics":    {kindProse, tierFull, "Power Dynamics"},
	"outside impact":    {kindProse, tierFull, "Outside Impact"},
	"future forces":     {kindProse, tierFull, "Future Forces"},
	"the big picture":   {kindProse, tierFull, "The Big Picture"},
	"what's next":       {kindProse, tierFull, "What's Next"},
	"what’s next":       {kindProse, tierFull, "What’s Next"},
	"data points":       {kindDataPoints, tierFull, "Data Points"},
	"timeline":          {kindDataPoints, tierFull, "Timeline"},
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
