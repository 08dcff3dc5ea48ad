package config

import "text/template"

// SubjectFuncs are the functions a digest's subject template may call,
// both when config validates it and when email renders it:
//
//	{{.Count}} new {{plural .Count "brief" "briefs"}}
var SubjectFuncs = template.FuncMap{"plural": Plural}

// Plural returns one when n is 1 and many otherwise: "1 new brief",
// "2 new briefs", "0 new briefs".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
