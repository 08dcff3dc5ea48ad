package email

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"io/fs"
	"syscall"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"briefcast/articles"
	"briefcast/bench/rawsend"
	"briefcast/email/smtptest"
	"briefcast/templates"
)

// benchEdition is a full daily edition: ten articles of three bullets.
func benchEdition(tb testing.TB) (*Composer, *Edition) {
	cfg := mustConfig(tb, "")
	c, err := NewComposer(OptionsOf(cfg), mustTemplates(tb), mustSigner(tb))
	if err != nil {
		tb.Fatal(err)
	}
	d, _ := cfg.Digest("daily")
	e := &Edition{Digest: *d, Key: "20261125T1200Z", Date: fixedNow}
	for i := 0; i < 10; i++ {
		a := &articles.Article{
			ID: fmt.Sprintf("article-%d", i), Slug: fmt.Sprintf("article-number-%d", i),
			Title:     fmt.Sprintf("A headline of ordinary length about topic number %d", i),
			Published: fixedNow, Updated: fixedNow, Tags: []string{"news", fmt.Sprintf("t%d", i%3)},
		}
		for j := 0; j < 3; j++ {
			a.Take = append(a.Take, articles.Bullet{Text: fmt.Sprintf(
				"Bullet %d explains in one plain sentence what changed, who it affects and why it matters now (%d).", j, i)})
		}
		e.Articles = append(e.Articles, a)
	}
	return c, e
}

// BenchmarkComposeDigest measures rendering alone: composing one
// personalised digest and writing its bytes, per message. Run it on one
// core: go test ./email -run '^$' -bench ComposeDigest -cpu 1
func BenchmarkComposeDigest(b *testing.B) {
	c, e := benchEdition(b)
	names := []string{"", "Ada Lovelace", "Grace Hopper", ""}
	tagSets := [][]string{nil, nil, {"t1"}, nil}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		r := Recipient{ID: int64(i + 1), Email: fmt.Sprintf("reader%d@example.com", i), Name: names[i%len(names)]}
		m, ok, err := c.Digest(e, r, tagSets[i%len(tagSets)])
		if err != nil || !ok {
			b.Fatal(err)
		}
		if _, err := m.Msg.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	// On a shared machine wall time says little; CPU time is the cost.
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "msgs/cpu-s")
}

// BenchmarkWriteDigest writes one composed digest again and again: the
// part of BenchmarkComposeDigest that is go-mail's (headers, multipart,
// quoted-printable encoding of both parts), the floor of rendering while
// go-mail encodes every part itself.
//
//	go test ./email -run '^$' -bench WriteDigest -cpu 1
func BenchmarkWriteDigest(b *testing.B) {
	c, e := benchEdition(b)
	m, _, err := c.Digest(e, Recipient{ID: 1, Email: "reader@example.com", Name: "Ada Lovelace"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := m.Msg.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "msgs/cpu-s")
}

// BenchmarkComposeDigestDKIM is BenchmarkComposeDigest with every message
// DKIM-signed, to show what signing costs per key type.
func BenchmarkComposeDigestDKIM(b *testing.B) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"ed25519", edKey}, {"rsa2048", rsaKey}} {
		b.Run(k.name, func(b *testing.B) {
			cfg := mustDKIMConfigTB(b, k.key)
			_, e := benchEdition(b)
			d, _ := cfg.Digest("daily")
			e.Digest = *d
			c := mustComposer(b, cfg)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				m, _, err := c.Digest(e, Recipient{ID: int64(i + 1), Email: "r@example.com"}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.Msg.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "msgs/cpu-s")
		})
	}
}

// cpuTime is the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRawGoMail is the ceiling the digest sender is compared with:
// go-mail sending pre-built messages over 16 persistent connections to a
// discarding smtptest sink on loopback, with no store and no rendering.
//
//	go test ./email -run '^$' -bench RawGoMail -benchtime 20000x
func BenchmarkRawGoMail(b *testing.B) {
	c, e := benchEdition(b)
	srv := smtptest.Start(b, smtptest.Options{Discard: true})
	const n = 256
	msgs := make([]*gomail.Msg, n)
	for i := range msgs {
		m, _, err := c.Digest(e, Recipient{ID: int64(i + 1), Email: fmt.Sprintf("r%d@example.com", i)}, nil)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = m.Msg
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	rate, err := rawsend.Rate(context.Background(), "127.0.0.1", srv.Port(), 16, b.N, func(i int) *gomail.Msg { return msgs[i%n] })
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "msgs/s")
	// Client and server share this process: CPU time covers both.
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "msgs/cpu-s")
	if got := srv.Count(); got != int64(b.N) {
		b.Fatalf("sink counted %d messages, want %d", got, b.N)
	}
}

func mustTemplates(tb testing.TB) fs.FS { return templates.Embedded() }
