package email

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"briefcast/templates"
)

// TestCheckDigest runs CheckDigest on templates that parse but fail when
// executed: each must fail with a RenderError naming the digest and the
// template, and a correct one must pass.
func TestCheckDigest(t *testing.T) {
	tests := []struct {
		name         string
		extra        string            // more config
		files        map[string]string // template overrides
		digest       string
		wantTemplate string // "" = no error
		wantText     string
	}{
		{name: "embedded", digest: "daily"},
		{name: "default subject", digest: "plain"},
		{
			name: "misspelt subject field", digest: "broken",
			extra:        "[[digests]]\nname = \"broken\"\nschedule = \"@daily\"\nsubject = \"{{.Titel}}\"\n",
			wantTemplate: "subject", wantText: "Titel",
		},
		{
			name: "misspelt field in the text body", digest: "daily",
			files:        map[string]string{"digest.txt": "{{range .Articles}}{{.Titel}}{{end}}\n"},
			wantTemplate: "digest.txt", wantText: "Titel",
		},
		{
			name: "error only for a named recipient", digest: "daily",
			files:        map[string]string{"digest.html": "<p>{{if .Name}}{{.Nmae}}{{end}}</p>\n"},
			wantTemplate: "digest.html", wantText: "Nmae",
		},
		{
			name: "index past the articles", digest: "daily",
			files:        map[string]string{"digest.txt": "{{(index .Articles 7).Title}}\n"},
			wantTemplate: "digest.txt", wantText: "index",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fsys, err := templates.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			cfg := mustConfig(t, tt.extra)
			c, err := NewComposer(OptionsOf(cfg), fsys, mustSigner(t))
			if err != nil {
				t.Fatalf("NewComposer: %v (the template parses; only running it fails)", err)
			}
			d, _ := cfg.Digest(tt.digest)
			err = c.CheckDigest(*d, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC))
			if tt.wantTemplate == "" {
				if err != nil {
					t.Fatalf("CheckDigest: %v", err)
				}
				return
			}
			var re *RenderError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *RenderError", err)
			}
			if re.Digest != tt.digest || re.Template != tt.wantTemplate || !strings.Contains(err.Error(), tt.wantText) ||
				!strings.Contains(err.Error(), "digest "+tt.digest) || !strings.Contains(err.Error(), tt.wantTemplate) {
				t.Errorf("got %q (digest %q, template %q), want digest %q, template %q, mentioning %q",
					err, re.Digest, re.Template, tt.digest, tt.wantTemplate, tt.wantText)
			}
		})
	}
}

// TestRenderErrorPerRecipient checks that Digest reports a template that
// fails only for some recipients as a RenderError too, so the sender can
// tell it from a bad address.
func TestRenderErrorPerRecipient(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "digest.txt"), []byte("{{(index .Articles 1).Title}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustConfig(t, "")
	c, err := NewComposer(OptionsOf(cfg), fsys, mustSigner(t))
	if err != nil {
		t.Fatal(err)
	}
	e := testEdition(cfg)
	if err := c.CheckEdition(e); err != nil {
		t.Fatalf("CheckEdition with every article: %v", err)
	}
	_, _, err = c.Digest(e, Recipient{ID: 1, Email: "one@example.com"}, []string{"science"})
	var re *RenderError
	if !errors.As(err, &re) || re.Digest != "daily" || re.Template != "digest.txt" {
		t.Errorf("one article left by the tag filter: got %v, want a RenderError of daily's digest.txt", err)
	}
	_, _, err = c.Digest(e, Recipient{ID: 1, Email: "not an address"}, nil)
	if err == nil || errors.As(err, &re) {
		t.Errorf("bad address: got %v, want an error that is no RenderError", err)
	}
}
