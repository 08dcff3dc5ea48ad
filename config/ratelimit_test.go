package config

import (
	"strings"
	"testing"
	"time"
)

func TestRateLimits(t *testing.T) {
	c, err := Parse("config.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.RateLimitIP != (RateLimit{5, time.Minute}) || c.Server.RateLimitAddress != (RateLimit{3, 10 * time.Minute}) {
		t.Errorf("defaults: %+v %+v", c.Server.RateLimitIP, c.Server.RateLimitAddress)
	}
	c, err = Parse("config.toml", []byte(minimal+"[server]\nrate_limit_ip = \"20/30s\"\nrate_limit_address = \"off\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.RateLimitIP != (RateLimit{20, 30 * time.Second}) || !c.Server.RateLimitAddress.Off() {
		t.Errorf("set: %+v %+v", c.Server.RateLimitIP, c.Server.RateLimitAddress)
	}
	for _, bad := range []string{"5", "5/", "0/1m", "x/1m", "5/soon", "5/100ms", "-1/1m"} {
		_, err := Parse("config.toml", []byte(minimal+"[server]\nrate_limit_ip = \""+bad+"\"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "rate_limit_ip") {
			t.Errorf("rate_limit_ip = %q: got %v, want an error naming the key", bad, err)
		}
	}
}

// Off reports whether the limit lets everything through.
func (r RateLimit) Off() bool { return r.Burst <= 0 || r.Every <= 0 }
