package email

import (
	"fmt"

	"briefcast/articles"
	"briefcast/subscribers"
)

// SectionView is one prose section of an article's 2-minute digest.
type SectionView struct {
	Title      string
	Paragraphs []string
}

// NumberView is one of an article's key numbers.
type NumberView struct {
	Figure, Meaning string
}

// PlayerView is one of an article's core players.
type PlayerView struct {
	Name, Role string
}

// depthOf is the depth a recipient gets of digest d: their own choice,
// else the digest's default, else the take.
func depthOf(r Recipient, digestDefault string) string {
	for _, d := range []string{r.Depth, digestDefault} {
		if d == subscribers.DepthTake || d == subscribers.DepthDigest {
			return d
		}
	}
	return subscribers.DepthTake
}

// addDigestTier fills av with a's 2-minute digest (prose sections, key
// numbers, core players) as plain text; an article whose tiers cannot be
// read back fails the message rather than go out without them.
func addDigestTier(av *ArticleView, a *articles.Article) error {
	t, err := a.Tiers()
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	for _, s := range t.Digest.Sections {
		sv := SectionView{Title: cleanLine(s.Title)}
		for _, p := range s.Paragraphs {
			if p = cleanLine(p); p != "" {
				sv.Paragraphs = append(sv.Paragraphs, p)
			}
		}
		if len(sv.Paragraphs) > 0 {
			av.Sections = append(av.Sections, sv)
		}
	}
	for _, n := range t.Digest.Numbers {
		if f := cleanLine(n.Figure); f != "" {
			av.Numbers = append(av.Numbers, NumberView{Figure: f, Meaning: cleanLine(n.Meaning)})
		}
	}
	for _, p := range t.Digest.Players {
		if n := cleanLine(p.Name); n != "" {
			av.Players = append(av.Players, PlayerView{Name: n, Role: cleanLine(p.Role)})
		}
	}
	return nil
}
