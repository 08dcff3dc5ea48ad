// Command briefcast turns tiered articles into feeds, pages and email
// digests. See the README for its subcommands and config.toml.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // digest time zones work on machines without zoneinfo

	"briefcast/config"
	"briefcast/daemon"
	"briefcast/progress"
	"briefcast/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// App is one run of the program: its streams, environment and global flags.
// Every subcommand gets it, so a test can run the whole program in-process.
type App struct {
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

// runFunc runs a subcommand with the arguments after its name.
type runFunc = func(ctx context.Context, a *App, args []string) error

// command is one subcommand, or a group of them such as `briefcast digest`.
type command struct {
	Summary string
	Run     runFunc
}

// commands are the subcommands by name, each listed with its summary.
var commands = map[string]command{
	"build":    {"publish the static site and its feeds", runBuild},
	"check":    {"validate the config and all content; write nothing", runCheck},
	"serve":    {"serve the site, its feeds and the subscription pages", runServe},
	"schedule": {"show each scheduled job, its next runs and its last edition", runSchedule},
	"version":  {"print the version", runVersion},
	"digest": {"send, inspect and preview digest editions", group("digest", "COMMAND NAME [flags]", digestCommands, map[string]runFunc{
		"send": runDigestSend, "status": runDigestStatus, "preview": runDigestPreview, "plan": runDigestPlan,
	})},
	"subscribers": {"add, list, remove, import and export subscribers", group("subscribers", "COMMAND [flags]", subsCommands, map[string]runFunc{
		"add": runSubsAdd, "list": runSubsList, "remove": runSubsRemove, "import": runSubsImport, "export": runSubsExport,
	})},
	"bounces": {"read bounce, complaint and auto-reply mails, and apply them to the subscriber list", group("bounces", "COMMAND [flags]", bouncesCommands, map[string]runFunc{
		"parse": runBouncesParse, "process": runBouncesProcess,
	})},
}

// group is the Run of a command group such as `briefcast digest`: args[0]
// names one of subs, which gets the rest; no name or an unknown one is a
// usage error, and help prints usage (the synopsis and the list of
// commands) on stdout.
func group(name, synopsis, list string, subs map[string]runFunc) runFunc {
	usage := fmt.Sprintf("Usage: briefcast %s %s\n\nCommands:\n%s\nRun 'briefcast %s COMMAND --help' for a command's flags.\n", name, synopsis, list, name)
	return func(ctx context.Context, a *App, args []string) error {
		switch {
		case len(args) == 0:
			fmt.Fprint(a.Stderr, usage)
		case subs[args[0]] != nil:
			return subs[args[0]](ctx, a, args[1:])
		case isHelp(args[0]) || args[0] == "help":
			fmt.Fprint(a.Stdout, usage)
			return nil
		default:
			fmt.Fprintf(a.Stderr, "briefcast %s: unknown command %q\n\n%s", name, args[0], usage)
		}
		return errUsage
	}
}

var (
	// errUsage marks a command-line mistake: exit status 2.
	errUsage = errors.New("usage")
	// errFailed ends the program with exit status 1 after printing nothing
	// more: the command already said what went wrong.
	errFailed = errors.New("failed")
)

// fail prints "briefcast cmd: " and the message on stderr and returns err
// (errUsage or errFailed): the command has said what went wrong.
func (a *App) fail(err error, cmd, format string, args ...any) error {
	fmt.Fprintf(a.Stderr, "briefcast %s: %s\n", cmd, fmt.Sprintf(format, args...))
	return err
}

// Run runs the program with args (without the program name) and returns its
// exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return newApp(stdout, stderr, getenv).run(ctx, args)
}

func newApp(stdout, stderr io.Writer, getenv func(string) string) *App {
	// Log lines and messages reach stderr through one Term, so a progress
	// bar drawn there (digest send, subscribers import) is blanked before
	// each line instead of being cut through by it.
	term := progress.NewTerm(stderr)
	return &App{Stdout: stdout, Stderr: term, Getenv: getenv, Now: time.Now, Log: newLogger(term, getenv)}
}

func (a *App) run(ctx context.Context, args []string) int {
	rest, err := a.takeConfig(args)
	switch {
	case err != nil:
		fmt.Fprintf(a.Stderr, "briefcast: %v\n", err)
	case len(rest) == 0:
	case isHelp(rest[0]) || rest[0] == "help":
		a.usage(a.Stdout)
		return 0
	case strings.HasPrefix(rest[0], "-"):
		fmt.Fprintf(a.Stderr, "briefcast: unknown flag %s\n", rest[0])
	case commands[rest[0]].Run == nil:
		fmt.Fprintf(a.Stderr, "briefcast: unknown command %q\n", rest[0])
	default:
		return a.exitCode(rest[0], commands[rest[0]].Run(ctx, a, rest[1:]))
	}
	a.usage(a.Stderr)
	return 2
}

// exitCode is the exit status of command name ending with err, which it
// prints unless the command already said what went wrong.
func (a *App) exitCode(name string, err error) int {
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errFailed):
		return 1
	}
	fmt.Fprintf(a.Stderr, "briefcast %s: %v\n", name, err)
	return 1
}

func (a *App) usage(w io.Writer) {
	fmt.Fprint(w, "Usage: briefcast [--config PATH] COMMAND [flags]\n\nCommands:\n")
	for _, n := range slices.Sorted(maps.Keys(commands)) {
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
		return nil, a.fail(errUsage, fs.Name(), "unexpected argument %q", fs.Arg(0))
	case len(pos) < want:
		fmt.Fprintf(a.Stderr, "briefcast %s: missing argument\n", fs.Name())
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

// hasHelp reports whether a help flag comes before any "--".
func hasHelp(args []string) bool {
	if i := slices.Index(args, "--"); i >= 0 {
		args = args[:i]
	}
	return slices.ContainsFunc(args, isHelp)
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
		if !hasValue && i+1 < len(args) {
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
	return config.Load(cmp.Or(a.ConfigPath, a.Getenv("BRIEFCAST_CONFIG"), "config.toml"), a.Getenv)
}

// OpenStore opens the configured subscriber store, creating the folder of a
// SQLite file when needed.
func (a *App) OpenStore(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	if cfg.Store.Driver == "sqlite" {
		if err := os.MkdirAll(filepath.Dir(config.SQLiteFile(cfg.Store.DSN)), 0o755); err != nil {
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

// logLevels are the values of BRIEFCAST_LOG_LEVEL besides the default, info.
var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "warn": slog.LevelWarn, "error": slog.LevelError}

func newLogger(w io.Writer, getenv func(string) string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[strings.ToLower(getenv("BRIEFCAST_LOG_LEVEL"))]}
	if strings.EqualFold(getenv("BRIEFCAST_LOG_FORMAT"), "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// version is set at link time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

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
