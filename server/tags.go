package server

import (
	"cmp"
	"slices"
	"strings"

	"briefcast/site"
)

// tagOption is one topic of the site, its key and display spelling, as a checkbox.
type tagOption struct {
	Key, Name string
	Checked   bool
}

// siteTags lists the tags of st's articles once each, by display name.
func siteTags(st *site.Site) []tagOption {
	seen := map[string]bool{}
	var out []tagOption
	for _, a := range st.Articles {
		if a == nil {
			continue
		}
		for i, key := range a.Tags {
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			name := key
			if i < len(a.TagNames) && a.TagNames[i] != "" {
				name = a.TagNames[i]
			}
			out = append(out, tagOption{Key: key, Name: name})
		}
	}
	slices.SortFunc(out, func(a, b tagOption) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.Key, b.Key))
	})
	return out
}

// tagOptions are the site's topics as checkboxes, ticked when in chosen;
// a chosen tag the site no longer has stays listed (ticked), so saving the
// page never drops it unasked.
func (s *Server) tagOptions(chosen []string) []tagOption {
	var tags []tagOption
	if snap := s.snap.Load(); snap != nil {
		tags = snap.tags
	}
	out := make([]tagOption, 0, len(tags)+len(chosen))
	for _, t := range tags {
		t.Checked = slices.Contains(chosen, t.Key)
		out = append(out, t)
	}
	for _, c := range chosen {
		if !slices.ContainsFunc(tags, func(t tagOption) bool { return t.Key == c }) {
			out = append(out, tagOption{Key: c, Name: c, Checked: true})
		}
	}
	return out
}
