package email

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Transport opens connections to a mail system.
type Transport interface {
	Open(ctx context.Context) (Conn, error)
}

// Conn sends messages; it is used by one goroutine at a time.
type Conn interface {
	Send(ctx context.Context, m *Message) error // nil = accepted (250)
	// Prepare does all of sending m but the step that delivers it, so the
	// caller can record the previous message first. Until the Prepared is
	// finished or aborted the Conn takes nothing else. After an error m
	// was not delivered.
	Prepare(ctx context.Context, m *Message) (Prepared, error)
	Close() error
}

// Prepared is a message handed to a Conn but not delivered yet. A crash
// before Finish leaves it undelivered.
type Prepared interface {
	// Finish delivers the message; nil = accepted, as from Send.
	Finish(ctx context.Context) error
	// Abort drops the message undelivered, giving up the connection when
	// it must (SMTP cannot end DATA without delivering).
	Abort()
}

// TransportOptions are a transport's settings (TransportOptionsOf fills
// them from the config).
type TransportOptions struct {
	Kind      string        // "file" (or "") or "smtp"
	OutboxDir string        // the file transport's folder
	Host      string        // the smtp transport's relay
	Port      int           // the relay's port
	Username  string        // "" = no AUTH
	Password  string        // the AUTH password
	TLS       string        // "starttls" (or ""), "tls" or "none"
	Rate      float64       // messages per second over all connections; 0 = no limit
	Timeout   time.Duration // per step; 0 = 30s
	HELO      string        // the EHLO name; "" = the domain of From
	From      string        // the From header, for the default HELO
}

// NewTransport builds the transport o.Kind names: "file" (or "") writes
// .eml files to o.OutboxDir; "smtp" keeps connections to the relay o.Host
// open across Sends, all sharing one rate limiter.
func NewTransport(o TransportOptions, log *slog.Logger) (Transport, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch o.Kind {
	case "file", "":
		if o.OutboxDir == "" {
			return nil, errors.New("email: file transport: outbox_dir is not set")
		}
		return &FileTransport{Dir: o.OutboxDir}, nil
	case "smtp":
		return newSMTPTransport(o, log, nil)
	default:
		return nil, fmt.Errorf("email: unknown transport %q", o.Kind)
	}
}

// FileTransport writes each message to Dir/<Folder>/<Name>.eml, whole or
// not at all: to a temporary file in the same folder, synced and renamed.
type FileTransport struct{ Dir string }

// Open makes the outbox and returns the transport itself: writing files
// needs no connection.
func (t *FileTransport) Open(ctx context.Context) (Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(t.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("email: outbox: %w", err)
	}
	return t, nil
}

// Close does nothing.
func (t *FileTransport) Close() error { return nil }

// Prepare checks m; the file is written by Finish.
func (t *FileTransport) Prepare(ctx context.Context, m *Message) (Prepared, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := t.Path(m); err != nil {
		return nil, err
	}
	return filePrepared(func(ctx context.Context) error { return t.Send(ctx, m) }), nil
}

// filePrepared writes its message when finished.
type filePrepared func(ctx context.Context) error

func (f filePrepared) Finish(ctx context.Context) error { return f(ctx) }

func (filePrepared) Abort() {}

// Send writes m atomically.
func (t *FileTransport) Send(ctx context.Context, m *Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path, err := t.Path(m)
	if err != nil {
		return err
	}
	if err := writeFile(path, m); err != nil {
		return fmt.Errorf("email: outbox: %w", err)
	}
	return nil
}

// Path is where m is written: every component of Folder and Name is
// reduced to letters, digits, "-", "_" and ".", so no message can be
// written outside Dir.
func (t *FileTransport) Path(m *Message) (string, error) {
	if m == nil || m.Msg == nil {
		return "", errors.New("email: file transport: empty message")
	}
	parts := []string{t.Dir}
	for _, p := range strings.Split(m.Folder, "/") {
		if p != "" {
			parts = append(parts, fileToken(p))
		}
	}
	if strings.TrimSpace(m.Name) == "" {
		return "", errors.New("email: file transport: message has no name")
	}
	return filepath.Join(append(parts, fileToken(m.Name)+".eml")...), nil
}

func writeFile(path string, m *Message) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*.eml")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, 32<<10)
	// Return-Path is what a delivering MTA puts on top: the envelope
	// sender, so the outbox shows where bounces would go.
	if rp, err := envelopeSender(m); err == nil {
		w.WriteString("Return-Path: <" + rp + ">\r\n")
	}
	if _, err = m.WriteTo(w); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o640); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Sync the folder too, so the rename itself survives a crash before
	// the caller records the message as sent.
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	return d.Sync()
}
