package config

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// unknownKeys describes each key of data that decoded into nothing, with
// its line and, inside an array of tables, the element it belongs to:
// "line 31: unknown key digests[1] (weekly).max_itmes". A key under an
// unknown table is left out: the table is reported once.
func unknownKeys(data []byte, und []toml.Key) string {
	unknown := map[string]bool{}
	for _, k := range und {
		unknown[k.String()] = true
	}
	places := scanKeys(data)
	var out []string
	seen := map[string]bool{}
	for _, k := range und {
		s := k.String()
		if seen[s] || underUnknown(k, unknown) {
			continue
		}
		seen[s] = true
		before := len(out)
		for _, p := range places {
			if p.path == s {
				out = append(out, fmt.Sprintf("line %d: unknown %s %s", p.line, p.kind, p.describe()))
			}
		}
		if len(out) == before { // e.g. inside an inline table: no line of its own
			out = append(out, "unknown key "+s)
		}
	}
	return strings.Join(out, "; ")
}

func underUnknown(k toml.Key, unknown map[string]bool) bool {
	for i := 1; i < len(k); i++ {
		if unknown[k[:i].String()] {
			return true
		}
	}
	return false
}

// element is one table of an array of tables: its index and, once the
// scan has seen it, its name key.
type element struct {
	index int
	name  string
}

// place is a key or table header found on a line of the file.
type place struct {
	line  int
	kind  string // "key" or "table"
	path  string // as toml.Key.String spells it, without array indexes
	table string // the table's own path, without indexes
	elem  *element
	rest  string // the key's path below the table
}

// describe spells the place with its array index and name:
// "digests[0] (daily).max_itmes".
func (p place) describe() string {
	if p.elem == nil {
		return p.path
	}
	s := fmt.Sprintf("%s[%d]", p.table, p.elem.index)
	if p.elem.name != "" {
		s += " (" + p.elem.name + ")"
	}
	if p.rest != "" {
		s += "." + p.rest
	}
	return s
}

// scanKeys finds every table header and key line of a TOML file. It is a
// line scanner, not a parser (the file has already parsed): it skips
// multi-line strings and reads a key as everything before the first "=".
func scanKeys(data []byte) []place {
	var out []place
	var table string
	var elem *element
	counts := map[string]int{}
	inString := ""
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if inString != "" {
			if strings.Count(t, inString)%2 == 1 {
				inString = ""
			}
			continue
		}
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case strings.HasPrefix(t, "[["):
			table = keyPath(strings.TrimSuffix(strings.TrimSpace(strings.SplitN(t[2:], "]]", 2)[0]), "]"))
			elem = &element{index: counts[table]}
			counts[table]++
			out = append(out, place{line: i + 1, kind: "table", path: table, table: table, elem: elem})
			continue
		case strings.HasPrefix(t, "["):
			table = keyPath(strings.SplitN(t[1:], "]", 2)[0])
			elem = nil
			out = append(out, place{line: i + 1, kind: "table", path: table})
			continue
		}
		name, value, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		key := keyPath(name)
		if elem != nil && key == "name" {
			var v struct{ Name string }
			toml.Decode(t, &v)
			elem.name = v.Name
		}
		path := key
		if table != "" {
			path = table + "." + key
		}
		out = append(out, place{line: i + 1, kind: "key", path: path, table: table, elem: elem, rest: key})
		for _, q := range []string{`"""`, `'''`} {
			if strings.Count(value, q)%2 == 1 {
				inString = q
			}
		}
	}
	return out
}

// keyPath spells a dotted key as toml.Key.String does, by letting the
// toml package read it.
func keyPath(s string) string {
	md, err := toml.Decode(s+" = 0", &map[string]any{})
	if keys := md.Keys(); err == nil && len(keys) > 0 {
		return keys[len(keys)-1].String()
	}
	return strings.TrimSpace(s)
}
