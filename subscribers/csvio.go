package subscribers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"
)

// CSVColumns are the columns of an import or export file, in export order.
// Only email is required on import; columns may come in any order.
var CSVColumns = []string{"email", "name", "digests", "tags", "timezone", "status"}

// MaxCSVField is the longest cell ReadCSV accepts, in bytes.
const MaxCSVField = 1000

// RowError is one rejected row of an import file.
type RowError struct {
	Line  int    // line of the file where the row starts
	Field string // column, "" for the row as a whole
	Msg   string
}

// Error formats the rejection as "line N: field: msg".
func (e RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// ReadCSV streams an import file: a header row naming the columns (see
// CSVColumns; a byte order mark is ignored), then one subscriber per row,
// multi-valued cells separated by ';', the ' CSVWriter adds undone. Valid
// rows go to fn in batches of up to batchSize, a slice fn must not keep.
// An invalid row (a bad cell, the wrong number of cells, malformed quoting,
// an address seen earlier in any case) is skipped and reported in
// rejected, in file order. err is set, and reading stops, when the file
// cannot be read (no or bad header, an I/O error) or fn fails.
func ReadCSV(r io.Reader, batchSize int, fn func(batch []ImportRow) error) (rejected []RowError, err error) {
	if batchSize <= 0 {
		batchSize = 1000
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty: it needs a header row naming the columns, e.g. email,name,digests")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	cols, err := csvHeader(header)
	if err != nil {
		return nil, err
	}

	// Seen addresses are kept as 64-bit hashes (12 MB for a million rows);
	// a collision, about 1 in 10^7 there, misreports one row as a duplicate.
	seed := maphash.MakeSeed()
	seen := newSeenSet()
	zones := zoneCache{}
	batch := make([]ImportRow, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := fn(batch)
		clear(batch)
		batch = batch[:0]
		return err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				rejected = append(rejected, RowError{Line: max(perr.StartLine, 1), Msg: csvParseMsg(perr)})
				continue
			}
			return rejected, fmt.Errorf("read: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row, rerr := csvRow(rec, cols, line, zones)
		if rerr != nil {
			rejected = append(rejected, *rerr)
			continue
		}
		h := maphash.String(seed, strings.ToLower(row.Email))
		if first, dup := seen.line(h); dup {
			rejected = append(rejected, RowError{Line: line, Field: "email", Msg: fmt.Sprintf("duplicate of line %d", first)})
			continue
		}
		seen.add(h, uint32(line))
		batch = append(batch, row)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return rejected, err
			}
		}
	}
	return rejected, flush()
}

func csvParseMsg(e *csv.ParseError) string {
	switch {
	case errors.Is(e.Err, csv.ErrQuote):
		return "malformed quotes: a quoted cell must end with \" followed by a comma or the end of the line"
	case errors.Is(e.Err, csv.ErrBareQuote):
		return "a \" inside an unquoted cell: quote the whole cell and double the inner \""
	}
	return e.Err.Error()
}

// csvHeader maps each column of the header to its name, checking them.
func csvHeader(header []string) ([]string, error) {
	cols := make([]string, len(header))
	var unknown []string
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(CSVColumns, h) {
			unknown = append(unknown, fmt.Sprintf("%q", h))
		} else if seen[h] {
			return nil, fmt.Errorf("header: column %q appears twice", h)
		}
		seen[h] = true
		cols[i] = h
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("header: unknown column(s) %s; the columns are %s", strings.Join(unknown, ", "), strings.Join(CSVColumns, ","))
	}
	if !seen["email"] {
		return nil, fmt.Errorf("header: no email column; the first row must name the columns, e.g. %s", strings.Join(CSVColumns, ","))
	}
	return cols, nil
}

// csvRow reads and validates one record.
func csvRow(rec, cols []string, line int, zones zoneCache) (ImportRow, *RowError) {
	if len(rec) != len(cols) {
		return ImportRow{}, &RowError{Line: line, Msg: fmt.Sprintf("has %d cells, the header has %d", len(rec), len(cols))}
	}
	row := ImportRow{Line: line}
	for i, v := range rec {
		col := cols[i]
		if len(v) > MaxCSVField {
			return ImportRow{}, &RowError{Line: line, Field: col, Msg: fmt.Sprintf("is %d bytes long, the limit is %d", len(v), MaxCSVField)}
		}
		v = fromCSVCell(strings.TrimSpace(v))
		switch col {
		case "email":
			row.Email = v
		case "name":
			row.Name = v
		case "digests":
			row.Digests = splitCell(v)
		case "tags":
			row.Tags = splitCell(v)
		case "timezone":
			row.Timezone = v
		case "status":
			row.Status = Status(strings.ToLower(v))
		}
		if err := row.clean(col, zones); err != nil {
			return ImportRow{}, &RowError{Line: line, Field: col, Msg: err.Error()}
		}
	}
	return row, nil
}

// splitCell reads a multi-valued cell; nil when empty, to keep what is
// stored.
func splitCell(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ";")
}

// formulaStart holds the first characters that make a spreadsheet run a
// cell as a formula (OWASP "CSV injection").
const formulaStart = "=+-@\t\r"

// isFormula reports whether a spreadsheet would run v as a formula, or v
// is such a value already neutralised (so that un-neutralising stays
// unambiguous: a name that really begins with "'=" gains a second quote).
func isFormula(v string) bool {
	for v != "" && v[0] == '\'' {
		v = v[1:]
	}
	return v != "" && strings.IndexByte(formulaStart, v[0]) >= 0
}

// toCSVCell neutralises a formula with a leading quote, which spreadsheets
// do not display.
func toCSVCell(v string) string {
	if isFormula(v) {
		return "'" + v
	}
	return v
}

// fromCSVCell undoes toCSVCell, so an export imports back unchanged.
func fromCSVCell(v string) string {
	if len(v) > 1 && v[0] == '\'' && isFormula(v[1:]) {
		return v[1:]
	}
	return v
}

// CSVWriter writes subscribers in the import format, which ReadCSV reads
// back unchanged. A cell a spreadsheet would run as a formula gets a
// leading ' (see toCSVCell).
type CSVWriter struct {
	w   *csv.Writer
	rec []string
}

// NewCSVWriter returns a writer to w. The header is buffered at once, and
// reaches w with the first rows or Flush.
func NewCSVWriter(w io.Writer) *CSVWriter {
	c := &CSVWriter{w: csv.NewWriter(w), rec: make([]string, len(CSVColumns))}
	c.w.Write(CSVColumns) // buffered: an error shows at Flush
	return c
}

// Write writes one subscriber.
func (c *CSVWriter) Write(s *Subscriber) error {
	c.rec[0], c.rec[1], c.rec[2] = s.Email, s.Name, strings.Join(s.Digests, ";")
	c.rec[3], c.rec[4], c.rec[5] = strings.Join(s.Tags, ";"), s.Timezone, string(s.Status)
	for i, v := range c.rec {
		c.rec[i] = toCSVCell(v)
	}
	return c.w.Write(c.rec)
}

// Flush writes any buffered data and reports a write error.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// JSONWriter writes subscribers as JSON Lines, one object per line. Values
// are never neutralised as in CSV: no spreadsheet runs JSON.
type JSONWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewJSONWriter returns a JSON Lines writer to w.
func NewJSONWriter(w io.Writer) *JSONWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &JSONWriter{w: bw, enc: json.NewEncoder(bw)}
}

// Write writes one subscriber as one line, in the shape of Subscriber's
// json tags; an empty list is [], never null.
func (j *JSONWriter) Write(s *Subscriber) error {
	v := *s
	if v.Digests == nil {
		v.Digests = []string{}
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	return j.enc.Encode(&v)
}

// Flush writes any buffered data.
func (j *JSONWriter) Flush() error { return j.w.Flush() }

// Importer writes one batch of import rows in a single transaction, as
// PlanImport decides, and reports what it did.
type Importer interface {
	Import(ctx context.Context, rows []ImportRow) (ImportCounts, error)
}

// ImportCSV reads an import file (see ReadCSV) into st in batches of
// batchSize rows, one transaction each, parsing one batch ahead of the
// store. check, when not nil, may reject a row the format allows (an
// unknown digest, say). Rejected rows come back in line order; err stops
// the import (batches already written stay written).
func ImportCSV(ctx context.Context, st Importer, r io.Reader, batchSize int, check func(*ImportRow) *RowError) (ImportCounts, []RowError, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []ImportRow, 1)
	var (
		readRejected []RowError
		readErr      error
		checked      []RowError
	)
	go func() {
		defer close(batches) // after readRejected and readErr are set
		readRejected, readErr = ReadCSV(r, batchSize, func(b []ImportRow) error {
			select {
			case batches <- slices.Clone(b):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var total ImportCounts
	var err error
	for b := range batches {
		if err != nil {
			continue // drain so the reader can finish
		}
		if check != nil {
			keep := b[:0]
			for i := range b {
				if e := check(&b[i]); e != nil {
					checked = append(checked, *e)
					continue
				}
				keep = append(keep, b[i])
			}
			b = keep
		}
		var c ImportCounts
		if c, err = st.Import(ctx, b); err != nil {
			cancel()
			continue
		}
		total.Added += c.Added
		total.Updated += c.Updated
		total.Unchanged += c.Unchanged
		total.Suppressed += c.Suppressed
		total.Rejected += c.Rejected
	}
	if err == nil {
		err = readErr
	}
	rejected := append(readRejected, checked...)
	slices.SortStableFunc(rejected, func(a, b RowError) int { return a.Line - b.Line })
	total.Rejected += len(rejected)
	return total, rejected, err
}

// seenSet remembers the 64-bit hashes of the addresses an import has seen
// and the line of each, in about 12 bytes an address: a sorted array
// searched by bisection, plus a small map of recent ones merged into it
// when full. A plain map of a million entries costs three times as much at
// its peak, which matters for keeping a million-row import under 100 MB.
type seenSet struct {
	hs     []uint64 // sorted
	lines  []uint32 // lines[i] is the line of hs[i]
	recent map[uint64]uint32
}

const seenRecent = 1 << 15

func newSeenSet() *seenSet {
	return &seenSet{recent: make(map[uint64]uint32, seenRecent)}
}

// line returns the line where h was first seen.
func (s *seenSet) line(h uint64) (uint32, bool) {
	if l, ok := s.recent[h]; ok {
		return l, true
	}
	if i, ok := slices.BinarySearch(s.hs, h); ok {
		return s.lines[i], true
	}
	return 0, false
}

// add records h, first seen at line.
func (s *seenSet) add(h uint64, line uint32) {
	s.recent[h] = line
	if len(s.recent) >= seenRecent {
		s.merge()
	}
}

// merge moves the recent hashes into the sorted arrays, merging from the
// back in place.
func (s *seenSet) merge() {
	add := make([]uint64, 0, len(s.recent))
	for h := range s.recent {
		add = append(add, h)
	}
	slices.Sort(add)
	n, m := len(s.hs), len(add)
	s.hs = slices.Grow(s.hs, m)[:n+m]
	s.lines = slices.Grow(s.lines, m)[:n+m]
	i, j := n-1, m-1
	for k := n + m - 1; j >= 0; k-- {
		if i >= 0 && s.hs[i] > add[j] {
			s.hs[k], s.lines[k] = s.hs[i], s.lines[i]
			i--
		} else {
			s.hs[k], s.lines[k] = add[j], s.recent[add[j]]
			j--
		}
	}
	clear(s.recent)
}
