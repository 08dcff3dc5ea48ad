package email

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDigestSpamAssassin scores a rendered digest with SpamAssassin's
// default rules, local tests only (-L: no DNS or network checks): it must
// score at most 0. The test skips when spamassassin is not installed
// (scripts/test.sh installs it on Debian).
func TestDigestSpamAssassin(t *testing.T) {
	sa, err := exec.LookPath("spamassassin")
	if err != nil {
		t.Skip("spamassassin is not installed (apt-get install spamassassin); the digest's spam score is not checked")
	}
	cfg := mustConfig(t, "")
	c := mustComposer(t, cfg, WithClock(time.Now))
	m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 7, Email: "reader@example.com", Name: "Ada"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sa, "-L", "-t")
	cmd.Stdin = bytes.NewReader(msgBytes(t, m))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("spamassassin: %v", err)
	}
	score, rules := spamScore(t, string(out))
	t.Logf("SpamAssassin score %.1f: %s", score, rules)
	if score > 0 {
		t.Errorf("SpamAssassin score %.1f > 0; rules hit: %s", score, rules)
	}
	if strings.Contains(rules, "HTML_FONT_LOW_CONTRAST") {
		t.Errorf("the preheader is coloured like its background: %s", rules)
	}
}

var (
	saStatus = regexp.MustCompile(`(?m)^X-Spam-Status: \w+, score=(-?[0-9.]+)`)
	saRules  = regexp.MustCompile(`tests=([^\n]*(?:\n[ \t]+[^\n]*)*)`)
)

// spamScore reads the score and the rules hit from spamassassin -t output.
func spamScore(t *testing.T, out string) (float64, string) {
	t.Helper()
	sm := saStatus.FindStringSubmatch(out)
	if sm == nil {
		t.Fatalf("no X-Spam-Status in spamassassin output:\n%s", out)
	}
	score, err := strconv.ParseFloat(sm[1], 64)
	if err != nil {
		t.Fatalf("score %q: %v", sm[1], err)
	}
	rules := ""
	if rm := saRules.FindStringSubmatch(out[strings.Index(out, sm[0]):]); rm != nil {
		rules, _, _ = strings.Cut(strings.Join(strings.Fields(rm[1]), " "), " autolearn=")
	}
	return score, rules
}

// TestDigestHTMLDirAuto checks that the article text of the HTML part
// (titles and take bullets) carries dir="auto", so a right-to-left
// article reads right to left within a left-to-right message.
func TestDigestHTMLDirAuto(t *testing.T) {
	cfg := mustConfig(t, "")
	e := testEdition(cfg)
	e.Articles[0].Title = "עדכון גאות ושפל"
	m, _, err := mustComposer(t, cfg).Digest(e, Recipient{ID: 1, Email: "a@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	html := mustParse(t, msgBytes(t, m)).html
	for _, tag := range []string{"<h1", "<h2", "<li"} {
		n := strings.Count(html, tag+" ")
		if n == 0 {
			t.Fatalf("no %s> in the HTML part", tag)
		}
		d := len(regexp.MustCompile(tag+` [^>]*dir="auto"`).FindAllString(html, -1))
		if d != n {
			t.Errorf("%d of %d %s> elements have dir=\"auto\"", d, n, tag)
		}
	}
}
