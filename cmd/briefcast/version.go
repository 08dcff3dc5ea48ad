package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register(command{Name: "version", Summary: "print the version", Run: runVersion})
}

func runVersion(ctx context.Context, a *App, args []string) error {
	fs := a.Flags("version", "version", "Print briefcast's version and the Go version it was built with.")
	if err := a.Parse(fs, args); err != nil {
		return err
	}
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(a.Stdout, "briefcast %s (%s)\n", v, runtime.Version())
	return nil
}
