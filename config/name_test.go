package config

import (
	"strings"
	"testing"

	"briefcast/subscribers"
)

// TestConfigUsesDigestNameRule: config validation refuses a digest name
// with CheckDigestName's message, naming the key.
func TestConfigUsesDigestNameRule(t *testing.T) {
	name := strings.Repeat("n", 65)
	body := minimal + "[[digests]]\nname = \"" + name + "\"\nschedule = \"@daily\"\n"
	_, err := Load(mustWrite(t, t.TempDir(), "config.toml", body), nil)
	want := "digests[0] (" + name + ").name: " + subscribers.CheckDigestName(name).Error()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want it to contain %q", err, want)
	}
}
