package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"briefcast/bounces"
)

func init() {
	register(command{Name: "bounces", Summary: "read bounce, complaint and auto-reply mails, and apply them to the subscriber list", Run: group("bounces", bouncesUsage, map[string]func(context.Context, *App, []string) error{
		"parse": runBouncesParse, "process": runBouncesProcess,
	})})
}

const bouncesUsage = `Usage: briefcast bounces COMMAND [flags]

Commands:
  parse FILE...    classify each raw mail file and print one JSON line per recipient
  process FILE...  apply each raw bounce or complaint mail to the subscriber list

Run 'briefcast bounces COMMAND --help' for a command's flags.
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
		fmt.Fprintln(a.Stderr, "briefcast bounces parse: no FILE given")
		return errUsage
	}
	enc := json.NewEncoder(a.Stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, path := range fs.Args() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rs, err := parseBounceFile(path)
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
		fmt.Fprintf(a.Stderr, "briefcast bounces parse: %d of %d files failed\n", failed, fs.NArg())
		return exitError{Code: 1}
	}
	return nil
}

func parseBounceFile(path string) ([]bounces.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return bounces.Parse(f)
}
