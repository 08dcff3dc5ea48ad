package server

//go:generate sh -c "( printf '# IANA time zones offered by the sign-up and preference pages: the zones of\\n# tzdata'\\''s zone.tab, one a line, sorted. Regenerate with go generate ./server.\\n'; grep -v '^#' /usr/share/zoneinfo/zone.tab | cut -f3 | sort -u ) > zones.txt"

import (
	_ "embed"
	"slices"
	"strings"
	_ "time/tzdata" // zone names are checked the same on a host without a zone database
)

// zonesText is the zones the pages offer, embedded so that they do not
// depend on the host's /usr/share/zoneinfo.
//
//go:embed zones.txt
var zonesText string

// zoneList is zonesText read once: every zone, sorted.
var zoneList = slices.DeleteFunc(strings.Split(zonesText, "\n"), func(line string) bool {
	return line == "" || strings.HasPrefix(line, "#")
})

// zoneGroup is one <optgroup> of the time zone list.
type zoneGroup struct {
	Region string
	Zones  []zoneOption
}

// zoneOption is one <option>: the IANA name and how it reads.
type zoneOption struct {
	Name, Label string
	Selected    bool
}

// zoneGroups returns the zone list by region, with extra zones and selected marked.
func zoneGroups(selected string, extra ...string) []zoneGroup {
	var groups []zoneGroup
	other := []string{"UTC"} // and zones outside the list: a digest's own, or one chosen before the list existed
	for _, z := range extra {
		if z != "" && !slices.Contains(zoneList, z) && !slices.Contains(other, z) {
			other = append(other, z)
		}
	}
	for _, z := range zoneList {
		region, rest, ok := strings.Cut(z, "/")
		if !ok {
			other = append(other, z)
			continue
		}
		if len(groups) == 0 || groups[len(groups)-1].Region != region {
			groups = append(groups, zoneGroup{Region: region})
		}
		g := &groups[len(groups)-1]
		g.Zones = append(g.Zones, zoneOption{Name: z, Label: strings.ReplaceAll(strings.ReplaceAll(rest, "_", " "), "/", " / "), Selected: z == selected})
	}
	og := zoneGroup{Region: "Other"}
	for _, z := range other {
		og.Zones = append(og.Zones, zoneOption{Name: z, Label: strings.ReplaceAll(z, "_", " "), Selected: z == selected})
	}
	return append(groups, og)
}

// zoneField is the time zone list of a form, with its search box.
type zoneField struct {
	ID       string // of the <select>; the search box and list derive theirs
	Hint     string // after the label
	Blank    string // the label of the "" choice; no such choice when empty
	Selected string
	Groups   []zoneGroup
}
