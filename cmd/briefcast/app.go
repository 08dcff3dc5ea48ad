package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"briefcast/config"
	"briefcast/daemon"
	"briefcast/progress"
	"briefcast/store"
)

// App is one run of the program: its streams, environment and global flags.
// Every subcommand gets it, so a test can run the whole program in-process.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Log    *slog.Logger
	Now    func() time.Time

	// ConfigPath is the --config flag, BRIEFCAST_CONFIG, or ./config.toml.
	ConfigPath string

	// serveOptions, when set, changes what serve hands the daemon: the
	// end-to-end tests of several instances shorten the delivery lease.
	serveOptions func(*daemon.Options)
}

// command is one subcommand. Each lives in its own file and registers
// itself in init, so adding one touches no shared table.
type command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, a *App, args []string) error
}

var commands = map[string]command{}

// group is the Run of a command group such as `briefcast digest`: args[0]
// names one of subs, which gets the rest; no name or an unknown one is a
// usage error, and help prints usage on stdout.
func group(name, usage string, subs map[string]func(ctx context.Context, a *App, args []string) error) func(ctx context.Context, a *App, args []string) error {
	return func(ctx context.Context, a *App, args []string) error {
		if len(args) == 0 {
			fmt.Fprint(a.Stderr, usage)
			return errUsage
		}
		if run := subs[args[0]]; run != nil {
			return run(ctx, a, args[1:])
		}
		switch args[0] {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(a.Stdout, usage)
			return nil
		}
		fmt.Fprintf(a.Stderr, "briefcast %s: unknown command %q\n\n%s", name, args[0], usage)
		return errUsage
	}
}

func register(c command) { commands[c.Name] = c }

// exitError ends the program with Code after printing nothing more.
type exitError struct{ Code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// errUsage marks a command-line mistake: exit status 2.
var errUsage = errors.New("usage")

// Run runs the program with args (without the program name) and returns its
// exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return newApp(stdin, stdout, stderr, getenv).run(ctx, args)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *App {
	// Log lines and messages reach stderr through one Term, so a progress
	// bar drawn there (digest send, subscribers import) is blanked before
	// each line instead of being cut through by it.
	term := progress.NewTerm(stderr)
	return &App{Stdin: stdin, Stdout: stdout, Stderr: term, Getenv: getenv, Now: time.Now, Log: newLogger(term, getenv)}
}

func (a *App) run(ctx context.Context, args []string) int {
	stdout, stderr := a.Stdout, a.Stderr
	rest, err := a.takeConfig(args)
	if err != nil {
		fmt.Fprintf(stderr, "briefcast: %v\n", err)
		a.usage(stderr)
		return 2
	}
	if len(rest) == 0 {
		a.usage(stderr)
		return 2
	}
	if isHelp(rest[0]) {
		a.usage(stdout)
		return 0
	}
	if strings.HasPrefix(rest[0], "-") {
		fmt.Fprintf(stderr, "briefcast: unknown flag %s\n", rest[0])
		a.usage(stderr)
		return 2
	}
	name := rest[0]
	if name == "help" {
		a.usage(stdout)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "briefcast: unknown command %q\n", name)
		a.usage(stderr)
		return 2
	}
	err = cmd.Run(ctx, a, rest[1:])
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &ee):
		return ee.Code
	default:
		fmt.Fprintf(stderr, "briefcast %s: %v\n", name, err)
		return 1
	}
}

func (a *App) usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: briefcast [--config PATH] COMMAND [flags]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w, "\nRun 'briefcast COMMAND --help' for a command's flags.")
}

// Flags returns a flag set for a subcommand that also accepts --config, so
// it may come before or after the command name. usage is the synopsis line.
func (a *App) Flags(name, usage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	fs.StringVar(&a.ConfigPath, "config", a.ConfigPath, "path of config.toml")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: briefcast %s\n\n%s\n\nFlags:\n", usage, summary)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args into fs, turning a flag mistake into errUsage and
// --help into flag.ErrHelp (exit 0, usage printed on stdout).
func (a *App) Parse(fs *flag.FlagSet, args []string) error {
	if hasHelp(args) {
		fs.SetOutput(a.Stdout)
		fs.Usage()
		return flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}

// Args parses args into fs with the flags before, between or after the
// want positional arguments, and returns those arguments; too few or too
// many is a usage error.
func (a *App) Args(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	if err := a.Parse(fs, args); err != nil {
		return nil, err
	}
	var pos []string
	for fs.NArg() > 0 && len(pos) < want {
		pos = append(pos, fs.Arg(0))
		if err := a.Parse(fs, fs.Args()[1:]); err != nil {
			return nil, err
		}
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(a.Stderr, "briefcast %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return nil, errUsage
	case len(pos) < want:
		fmt.Fprintf(a.Stderr, "briefcast %s: missing argument\n", fs.Name())
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

func hasHelp(args []string) bool {
	for _, s := range args {
		if s == "--" {
			return false
		}
		if isHelp(s) {
			return true
		}
	}
	return false
}

func isHelp(s string) bool {
	return s == "-h" || s == "-help" || s == "--help"
}

// takeConfig removes every --config PATH (or --config=PATH, -config) from
// args, up to a "--", and keeps the last one. Taking it out before any
// command sees the line lets it stand anywhere: before the command, after
// it, or between a command group and its subcommand
// (`briefcast digest --config X status daily`).
func (a *App) takeConfig(args []string) ([]string, error) {
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		s := args[i]
		if s == "--" {
			return append(rest, args[i:]...), nil
		}
		flagName, value, hasValue := strings.Cut(s, "=")
		if flagName != "--config" && flagName != "-config" {
			rest = append(rest, s)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, errors.New("--config needs a path")
			}
			i++
			value = args[i]
		}
		if value == "" {
			return nil, errors.New("--config needs a path")
		}
		a.ConfigPath = value
	}
	return rest, nil
}

// LoadConfig loads the config named by --config, BRIEFCAST_CONFIG or
// ./config.toml.
func (a *App) LoadConfig() (*config.Config, error) {
	path := a.ConfigPath
	if path == "" {
		path = a.Getenv("BRIEFCAST_CONFIG")
	}
	if path == "" {
		path = "config.toml"
	}
	return config.Load(path, a.Getenv)
}

// OpenStore opens the configured subscriber store, creating the folder of a
// SQLite file when needed.
func (a *App) OpenStore(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	if cfg.Store.Driver == "sqlite" {
		if err := os.MkdirAll(dirOf(cfg.Store.DSN), 0o755); err != nil {
			return nil, err
		}
	}
	return store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
}

// OpenConfigStore loads the config and opens its store.
func (a *App) OpenConfigStore(ctx context.Context) (*config.Config, *store.DB, error) {
	cfg, err := a.LoadConfig()
	if err != nil {
		return nil, nil, err
	}
	st, err := a.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

func dirOf(dsn string) string {
	return filepath.Dir(config.SQLiteFile(dsn))
}

func newLogger(w io.Writer, getenv func(string) string) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(getenv("BRIEFCAST_LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(getenv("BRIEFCAST_LOG_FORMAT"), "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
