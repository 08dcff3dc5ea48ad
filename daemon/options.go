package daemon

import (
	"briefcast/config"
	"briefcast/digest"
)

// The option structs of the packages the daemon wires, filled from the
// config here, so those packages never see *config.Config.

// SenderOptions are the digest sender's settings.
func SenderOptions(cfg *config.Config) digest.Options {
	return digest.Options{
		Connections:    cfg.Email.SMTP.Connections,
		RetryMaxAge:    cfg.Email.RetryMaxAge.Duration,
		Lease:          cfg.Email.DeliveryLease.Duration,
		SingleInstance: cfg.Store.Driver == "sqlite",
	}
}
