package articles

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// fmField is one front-matter value, whatever the syntax it came in.
type fmField struct {
	key  string
	line int
	kind byte // 's' string, 'l' list of strings, 't' TOML date-time, 'b' bool, 'o' anything else
	str  string
	list []string
	t    time.Time
	b    bool
	what string // type name, for errors about 'o'
}

// readFront reads the front matter that opens a Markdown file: TOML between
// +++ lines, or YAML between --- and --- (or ...). end is the closing line's index.
func readFront(lines []line) (fields []fmField, end int, err error) {
	open := strings.TrimSpace(lines[0].text)
	closers := []string{open}
	if open == "---" {
		closers = append(closers, "...")
	} else if open != "+++" {
		return nil, 0, errorf(1, "missing front matter: the file must start with +++ (TOML) or --- (YAML)")
	}
	end = 1 + slices.IndexFunc(lines[1:], func(l line) bool { return slices.Contains(closers, strings.TrimRight(l.text, " \t")) })
	if end == 0 {
		return nil, 0, errorf(1, "front matter opened with %s is never closed", open)
	}
	var src strings.Builder
	for _, l := range lines[1:end] {
		src.WriteString(l.text)
		src.WriteByte('\n')
	}
	if open == "+++" {
		fields, err = readTOML(src.String(), lines[1:end], 2)
	} else {
		fields, err = readYAML(src.String(), 2)
	}
	return fields, end, err
}

// readTOML decodes TOML front matter starting at line first.
func readTOML(src string, fm []line, first int) ([]fmField, error) {
	var m map[string]any
	if _, err := toml.Decode(src, &m); err != nil {
		if pe, ok := err.(toml.ParseError); ok {
			return nil, errorf(first+pe.Position.Line-1, "bad TOML front matter: %s", pe.Message)
		}
		return nil, errorf(first-1, "bad TOML front matter: %v", err)
	}
	// TOML decoding keeps no positions: find each top-level key's line.
	lines := map[string]int{}
	for _, l := range fm {
		s := strings.TrimSpace(l.text)
		var k string
		switch {
		case strings.HasPrefix(s, "["):
			k, _, _ = strings.Cut(strings.Trim(s, "[] "), ".")
		case strings.HasPrefix(s, "#") || !strings.Contains(s, "="):
			continue
		default:
			k, _, _ = strings.Cut(s, "=")
			k, _, _ = strings.Cut(strings.TrimSpace(k), ".")
			k = strings.TrimSpace(k)
		}
		if k = strings.Trim(k, `"'`); lines[k] == 0 {
			lines[k] = l.n
		}
	}
	out := make([]fmField, 0, len(m))
	for k, v := range m {
		f := fmField{key: k, line: lines[k]}
		if f.line == 0 {
			f.line = first
		}
		switch v := v.(type) {
		case string:
			f.kind, f.str = 's', v
		case bool:
			f.kind, f.b = 'b', v
		case time.Time:
			f.kind, f.t = 't', v
		case []any:
			f.kind = 'l'
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					f.kind, f.what = 'o', "a list with a non-string item"
					break
				}
				f.list = append(f.list, s)
			}
		default:
			f.kind, f.what = 'o', fmt.Sprintf("%T", v)
		}
		out = append(out, f)
	}
	// Map order is random: report problems in file order.
	sort.Slice(out, func(i, j int) bool {
		return out[i].line < out[j].line || out[i].line == out[j].line && out[i].key < out[j].key
	})
	return out, nil
}

// readYAML decodes YAML front matter starting at line first.
func readYAML(src string, first int) ([]fmField, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		msg := err.Error()
		n := 0
		if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
			num, tail, _ := strings.Cut(rest, ":")
			if v, err := strconv.Atoi(num); err == nil {
				n, msg = v, strings.TrimSpace(tail)
			}
		}
		return nil, errorf(first+max(n, 1)-1, "bad YAML front matter: %s", strings.TrimPrefix(msg, "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errorf(first+root.Line-1, "bad YAML front matter: expected key: value lines")
	}
	out := make([]fmField, 0, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		f := fmField{key: k.Value, line: first + k.Line - 1}
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!bool" {
				f.kind, f.b = 'b', strings.EqualFold(v.Value, "true") || v.Value == "yes" || v.Value == "on"
			} else if v.Tag == "!!null" {
				f.kind, f.str = 's', ""
			} else {
				f.kind, f.str = 's', v.Value
			}
		case yaml.SequenceNode:
			f.kind = 'l'
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					f.kind, f.what = 'o', "a list with a nested item"
					break
				}
				f.list = append(f.list, e.Value)
			}
		default:
			f.kind, f.what = 'o', "a mapping"
		}
		out = append(out, f)
	}
	return out, nil
}

// applyFront sets the article's metadata from front matter; an unknown key is an error.
func applyFront(a *Article, fields []fmField, delimLine int, loc *time.Location) error {
	for _, f := range fields {
		switch f.key {
		case "title", "slug", "id", "author", "image", "image_alt":
			if f.kind != 's' {
				return f.typeErr("a string")
			}
		}
		switch f.key {
		case "title":
			a.Title = normSpace(f.str)
			a.slugLine = f.line
		case "date", "updated":
			t, err := f.date(loc)
			if err != nil {
				return err
			}
			if f.key == "date" {
				a.Published = t
			} else {
				a.Updated = t
			}
		case "tags":
			var raw []string
			switch f.kind {
			case 'l':
				raw = f.list
			case 's':
				raw = tagList(f.str)
			default:
				return f.typeErr("a list of strings")
			}
			if err := normTags(a, raw, f.line); err != nil {
				return err
			}
		case "slug":
			if !validSlug(f.str) {
				return errorf(f.line, "slug %q must be lower-case letters, digits and single hyphens, such as %q", f.str, Slugify(f.str))
			}
			a.Slug, a.slugLine = f.str, f.line
		case "id":
			id := strings.TrimSpace(f.str)
			if id == "" || strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
				return errorf(f.line, "id %q must be non-empty with no spaces or control characters", f.str)
			}
			a.ID = id
		case "author":
			if strings.IndexFunc(f.str, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
				return errorf(f.line, "author must be one line with no control characters")
			}
			a.Author = normSpace(f.str)
		case "language":
			if f.kind != 's' || !validLanguage(strings.TrimSpace(f.str)) {
				return errorf(f.line, "language %q must be a language tag such as \"en\" or \"pt-BR\"", f.str)
			}
			a.Language = strings.TrimSpace(f.str)
		case "image", "image_alt":
			if err := setImage(a, f.key, f.str, f.line); err != nil {
				return err
			}
		case "draft":
			if f.kind != 'b' {
				return f.typeErr("true or false")
			}
			a.Draft = f.b
		default:
			return errorf(f.line, "unknown front matter key %q (known: title, date, updated, tags, slug, id, author, language, image, image_alt, draft)", f.key)
		}
	}
	if a.Published.IsZero() {
		return errorf(delimLine, "missing date: front matter has no date")
	}
	if !a.Updated.IsZero() && a.Updated.Before(a.Published) {
		return errorf(delimLine, "updated is before date")
	}
	return nil
}

func (f fmField) typeErr(want string) error {
	got := map[byte]string{'s': "a string", 'l': "a list", 't': "a date", 'b': "a boolean"}[f.kind]
	if f.kind == 'o' {
		got = f.what
	}
	return errorf(f.line, "%s must be %s, not %s", f.key, want, got)
}

func (f fmField) date(loc *time.Location) (time.Time, error) {
	switch f.kind {
	case 't':
		if strings.HasSuffix(f.t.Location().String(), "-local") {
			// A TOML local date or date-time: read its wall clock in the
			// site's zone, not the zone of the machine that parsed it.
			return inZone(f.t, loc), nil
		}
		return f.t, nil
	case 's':
		t, err := parseDate(f.str, loc)
		if err == errNotDate {
			return time.Time{}, errorf(f.line, "%s %q is not a date such as 2025-02-23T04:36:00-05:00 or \"Feb. 23, 2025, 4:36 am ET\"", f.key, f.str)
		}
		if err != nil {
			return time.Time{}, errorf(f.line, "bad %s %q: %v", f.key, f.str, err)
		}
		return t, nil
	}
	return time.Time{}, f.typeErr("a date")
}
