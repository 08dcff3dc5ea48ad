package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"briefcast/bounces"
	"briefcast/bounces/record"
	"briefcast/daemon"
)

const bouncesCommands = `  parse FILE...    classify each raw mail file and print one JSON line per recipient
  process FILE...  apply each raw bounce or complaint mail to the subscriber list
`

// bounceLine is one line of `bounces parse` output; the field order is
// the documented key order.
type bounceLine struct {
	File      string       `json:"file"`
	Kind      bounces.Kind `json:"kind"`
	Recipient string       `json:"recipient"`
	Status    string       `json:"status"`
	Reason    string       `json:"reason"`
}

func runBouncesParse(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("bounces parse", "bounces parse FILE...",
		"Read each FILE as one raw mail message and print, per recipient, a JSON line:\n"+
			`{"file", "kind" (hard, soft, complaint or none), "recipient", "status", "reason"}.`+"\n"+
			"Auto-replies, ordinary mail and delivered or delayed notices give one line of\n"+
			"kind none. Nothing is written anywhere. A file that cannot be read is named\n"+
			"on stderr, the others are still read, and the exit status is then 1.")
	if err := a.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return a.fail(errUsage, "bounces parse", "no FILE given")
	}
	enc := json.NewEncoder(a.Stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, path := range fs.Args() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		raw, err := os.ReadFile(path)
		var rs []bounces.Result
		if err == nil {
			rs, err = bounces.Parse(bytes.NewReader(raw))
		}
		if err != nil {
			fmt.Fprintf(a.Stderr, "briefcast bounces parse: %s: %v\n", path, err)
			failed++
			continue
		}
		for _, r := range rs {
			if err := enc.Encode(bounceLine{File: path, Kind: r.Kind, Recipient: r.Recipient, Status: r.Status, Reason: r.Reason}); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
	}
	if failed > 0 {
		return a.fail(errFailed, "bounces parse", "%d of %d files failed", failed, fs.NArg())
	}
	return nil
}

// runBouncesProcess applies each file through the same sink as the
// daemon's inbound SMTP server: a report taken before changes nothing.
func runBouncesProcess(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("bounces process", "bounces process FILE...",
		"Read each FILE as one raw mail message (a bounce report or a complaint) and apply it\n"+
			"to the subscriber list as the bounce SMTP server would: a hard bounce marks the\n"+
			"subscriber bounced, a complaint complained, soft bounces count towards\n"+
			"[bounces] soft_limit. A message processed before changes nothing. One line per\n"+
			"file says what was recorded. A file that cannot be read is named on stderr, the\n"+
			"others are still applied, and the exit status is then 1.")
	if err := a.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	cfg, st, err := a.OpenConfigStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rec, err := daemon.NewRecorder(cfg, st, "file", a.Log)
	if err != nil {
		return err
	}
	failed := 0
	for _, path := range fs.Args() {
		line, err := processFile(ctx, rec, path)
		if err != nil {
			fmt.Fprintf(a.Stderr, "briefcast bounces process: %s: %v\n", path, err)
			failed++
			continue
		}
		fmt.Fprintf(a.Stdout, "%s: %s\n", path, line)
	}
	if failed > 0 {
		return errFailed
	}
	return nil
}

// processFile applies one file and says what it recorded.
func processFile(ctx context.Context, rec *record.Recorder, path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	got, err := rec.Apply(ctx, raw)
	if err != nil {
		return "", err
	}
	if len(got) == 0 {
		return "no bounce found", nil
	}
	parts := make([]string, 0, len(got))
	for _, r := range got {
		parts = append(parts, describe(r))
	}
	return strings.Join(parts, "; "), nil
}

// describe is one finding in words: "hard 5.1.1 ann@example.org:
// subscriber 3 active -> bounced".
func describe(r record.Recorded) string {
	b, o := r.Bounce, r.Outcome
	s := string(b.Kind)
	if b.Status != "" {
		s += " " + b.Status
	}
	if b.Recipient != "" {
		s += " " + b.Recipient
	}
	switch {
	case o.Duplicate:
		return s + ": already recorded, nothing changed"
	case o.SubscriberID == 0:
		return s + ": recorded, no subscriber matches"
	case o.Changed():
		return fmt.Sprintf("%s: subscriber %d %s -> %s", s, o.SubscriberID, o.From, o.To)
	case b.Kind == "soft":
		return fmt.Sprintf("%s: subscriber %d stays %s (soft bounce %d in a row)", s, o.SubscriberID, o.To, o.SoftCount)
	}
	return fmt.Sprintf("%s: subscriber %d stays %s", s, o.SubscriberID, o.To)
}
