package daemon

import (
	"testing"
	"time"

	"briefcast/config"
	"briefcast/digest"
)

func TestSenderOptions(t *testing.T) {
	cfg, err := config.Parse("/srv/b/config.toml", []byte(`
[email]
retry_max_age = "12h"
delivery_lease = "90s"
[email.smtp]
connections = 7
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := digest.Options{Connections: 7, RetryMaxAge: 12 * time.Hour, Lease: 90 * time.Second, SingleInstance: true}
	if got := SenderOptions(cfg); got != want {
		t.Errorf("sqlite: got %+v, want %+v", got, want)
	}
	cfg.Store.Driver = "postgres"
	if SenderOptions(cfg).SingleInstance {
		t.Errorf("postgres: SingleInstance set; several daemons may share the store")
	}
}
