package articles

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// Spill keeps the tiers of the articles read with it (Options.Spill) in a
// file rather than in memory: they are most of an article's size, and
// listings, cards and feed summaries never read them. Article.Tiers reads
// them back exactly as parsed, however the article's file changed since.
//
// The file is removed as soon as it is made: nobody else can open it, and
// its space returns when the Spill is collected. Records are only appended;
// an article read again gets a new one.
type Spill struct {
	f      *os.File
	end    atomic.Int64
	broken atomic.Bool // a write failed: keep is a no-op from then on
}

// NewSpill makes a Spill whose file is in dir.
func NewSpill(dir string) (*Spill, error) {
	f, err := os.CreateTemp(dir, ".briefcast-tiers-*")
	if err != nil {
		return nil, fmt.Errorf("articles: spill: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("articles: spill: %w", err)
	}
	return &Spill{f: f}, nil
}

// spillRef is where an article's tiers are kept in a Spill.
type spillRef struct {
	s   *Spill
	off int64
	n   int
}

// keep moves a's tiers into s. On failure (a full disk) a and the articles
// after it keep them in memory, the failure being reported once.
func (s *Spill) keep(a *Article, buf []byte) ([]byte, error) {
	if a.tiers == nil {
		return buf, nil
	}
	buf = encodeTiers(buf[:0], a.tiers)
	if s.broken.Load() {
		return buf, nil
	}
	off := s.end.Add(int64(len(buf))) - int64(len(buf))
	if _, err := s.f.WriteAt(buf, off); err != nil {
		if s.broken.Swap(true) {
			return buf, nil
		}
		return buf, fmt.Errorf("articles: spill %s: %w", a.Path, err)
	}
	a.spilled = spillRef{s: s, off: off, n: len(buf)}
	a.tiers = nil
	return buf, nil
}

func (r spillRef) read() (*Tiers, error) {
	buf := make([]byte, r.n)
	if _, err := r.s.f.ReadAt(buf, r.off); err != nil {
		return nil, err
	}
	return decodeTiers(buf)
}

// The record of an article's tiers: every count and length a uvarint,
// every string its length and bytes, in the order of the fields.

func encodeTiers(b []byte, t *Tiers) []byte {
	d, f := &t.Digest, &t.Full
	b = binary.AppendUvarint(b, uint64(d.Line))
	b = appendList(b, d.Sections, appendSection)
	b = appendList(b, d.Players, func(b []byte, p Player) []byte { return appendEntry(b, p.Name, p.Role, p.Line) })
	b = appendList(b, d.Numbers, func(b []byte, n Number) []byte { return appendEntry(b, n.Figure, n.Meaning, n.Line) })
	b = binary.AppendUvarint(b, uint64(f.Line))
	b = appendList(b, f.Sections, appendSection)
	b = appendList(b, f.DataPoints, func(b []byte, p DataPoint) []byte { return appendEntry(b, p.Date, p.Event, p.Line) })
	return appendList(b, f.Closing, appendStr)
}

func appendSection(b []byte, s Section) []byte {
	return appendList(appendEntry(b, s.Title, s.HTML, s.Line), s.Paragraphs, appendStr)
}

// appendList appends the number of items, then each item.
func appendList[T any](b []byte, items []T, item func([]byte, T) []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(items)))
	for _, x := range items {
		b = item(b, x)
	}
	return b
}

// appendEntry appends two strings and a line number: most parts of a tier.
func appendEntry(b []byte, x, y string, line int) []byte {
	return binary.AppendUvarint(appendStr(appendStr(b, x), y), uint64(line))
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errBadRecord = errors.New("the record is damaged")

// tierReader reads a record back; its strings are slices of one string
// holding the whole record, one allocation for all.
type tierReader struct {
	s   string
	err error
}

func (r *tierReader) num() int {
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen32; i++ {
		c := r.s[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.s = r.s[i+1:]
			return int(v)
		}
	}
	r.err = errBadRecord
	return 0
}

// count reads a number of items (or bytes), each taking at least one byte.
func (r *tierReader) count() int {
	n := r.num()
	if n > len(r.s) {
		r.err = errBadRecord
		return 0
	}
	return n
}

func (r *tierReader) str() string {
	n := r.count()
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

func decodeTiers(buf []byte) (*Tiers, error) {
	r := &tierReader{s: string(buf)}
	t := &Tiers{}
	d, f := &t.Digest, &t.Full
	d.Line = r.num()
	d.Sections = r.sections()
	d.Players = list(r, func() Player { return Player{Name: r.str(), Role: r.str(), Line: r.num()} })
	d.Numbers = list(r, func() Number { return Number{Figure: r.str(), Meaning: r.str(), Line: r.num()} })
	f.Line = r.num()
	f.Sections = r.sections()
	f.DataPoints = list(r, func() DataPoint { return DataPoint{Date: r.str(), Event: r.str(), Line: r.num()} })
	f.Closing = list(r, r.str)
	if r.err == nil && r.s != "" {
		r.err = errBadRecord
	}
	if r.err != nil {
		return nil, r.err
	}
	return t, nil
}

func (r *tierReader) sections() []Section {
	return list(r, func() Section {
		return Section{Title: r.str(), HTML: r.str(), Line: r.num(), Paragraphs: list(r, r.str)}
	})
}

// list reads a count and that many items, each by item; nil for none.
func list[T any](r *tierReader, item func() T) []T {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = item()
	}
	return out
}
