package server

import (
	"context"
	"fmt"

	"briefcast/email"
	"briefcast/subscribers"
)

// NewMailer adapts an email.Composer and an email.Transport into a Mailer.
func NewMailer(c *email.Composer, t email.Transport) Mailer { return &mailer{c: c, t: t} }

type mailer struct {
	c *email.Composer
	t email.Transport
}

// SendConfirmation composes the confirmation and sends it over a
// connection of its own: sign-ups are rare enough that pooling would only
// keep idle connections open.
func (m *mailer) SendConfirmation(ctx context.Context, sub *subscribers.Subscriber, confirmURL string) error {
	msg, err := m.c.Confirmation(email.Recipient{ID: sub.ID, Email: sub.Email, Name: sub.Name, Timezone: sub.Timezone}, confirmURL)
	if err != nil {
		return fmt.Errorf("server: compose confirmation: %w", err)
	}
	conn, err := m.t.Open(ctx)
	if err != nil {
		return fmt.Errorf("server: send confirmation: %w", err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, msg); err != nil {
		return fmt.Errorf("server: send confirmation: %w", err)
	}
	return nil
}
