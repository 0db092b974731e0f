// Command bff is the Tokenward BFF: a token-handler proxy in front of a single-page app.
//
//	bff [serve] [--config FILE] [--set key=value]...   run the BFF (the default command)
//	bff demo                                           the whole flow on loopback
//	bff check [--config FILE] [--offline]              validate a configuration
//	bff keygen [--count N]                             make session keys
//	bff version                                        print the version
//	bff config schema                                  print bff.yaml's JSON Schema
//
// Exit codes: 0 success, 1 runtime error, 2 usage or configuration error. SIGINT and
// SIGTERM cancel the command's context: serve and demo shut down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	os.Exit(runMain(newApp(os.Stdout, os.Stderr, os.Environ()), os.Args[1:]))
}

// runMain runs a with a context that SIGINT and SIGTERM cancel, and returns the exit
// code. After the first signal, the default behaviour is restored: a second one kills.
func runMain(a *app, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return a.run(ctx, args)
}

// app is one invocation of the CLI. Its function fields are the commands' dependencies;
// tests replace them on their own instance.
type app struct {
	stdout, stderr io.Writer
	env            []string // the environment config.Load reads BFF_* from

	serve     func(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error
	demo      func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	discover  func(ctx context.Context, cfg config.Config) error
	pingStore func(ctx context.Context, cfg config.Config) error
}

func newApp(stdout, stderr io.Writer, env []string) *app {
	return &app{stdout: stdout, stderr: stderr, env: env, serve: serve, demo: demo, discover: bff.DiscoverIdP, pingStore: bff.PingStore}
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(a *app, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{name: "serve", summary: "run the BFF (the default command)", run: (*app).runServe},
		{name: "demo", summary: "run the BFF, a demo OpenID provider, API and SPA on loopback", run: (*app).runDemo},
		{name: "check", summary: "validate a configuration, then try the session store and the IdP's discovery", run: (*app).runCheck},
		{name: "keygen", summary: "print fresh session keys", run: (*app).runKeygen},
		{name: "version", summary: "print the version", run: (*app).runVersion},
		{name: "config", summary: "config schema: print the JSON Schema of the YAML configuration", run: (*app).runConfig},
		{name: "help", summary: "show this help, or a command's flags: bff help COMMAND", run: (*app).runHelp},
	}
}

// run dispatches args (without the program name) and returns the exit code. With no
// command, or when the first argument is a flag, the command is serve.
func (a *app) run(ctx context.Context, args []string) int {
	name, rest := "serve", args
	if len(args) > 0 && isHelpFlag(args[0]) {
		// `bff --help` asks about bff, not about serve (`bff serve -h` does that).
		name, rest = "help", args[1:]
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, rest = args[0], args[1:]
	}
	for _, c := range commands() {
		if c.name == name {
			return a.exit(c.run(a, ctx, rest))
		}
	}
	fmt.Fprintf(a.stderr, "bff: unknown command %q\n\n", name)
	a.usage(a.stderr)
	return exitUsage
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help"
}

// exit reports err on stderr (unless already reported) and maps it to an exit code.
func (a *app) exit(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.reported {
			fmt.Fprintln(a.stderr, cliMessage(ee.err))
		}
		return ee.code
	}
	fmt.Fprintln(a.stderr, cliMessage(err))
	return exitRuntime
}

// cliMessage is err as the CLI prints it: with one "bff: " in front. The library's
// errors start with their package name "bff: " (Go's convention), also when a command
// wraps them ("demo: bff: …"), which the CLI must not repeat.
func cliMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "bff: ")
	return "bff: " + strings.ReplaceAll(msg, ": bff: ", ": ")
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: bff [command] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nConfiguration: --config FILE (YAML), env BFF_* and --set key=value; see docs/configuration.md.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 runtime error, 2 usage or configuration error.")
}

func (a *app) runHelp(_ context.Context, args []string) error {
	switch len(args) {
	case 0:
		a.usage(a.stdout)
		return nil
	case 1:
		for _, c := range commands() {
			if c.name == args[0] && c.name != "help" {
				return c.run(a, context.Background(), []string{"-h"})
			}
		}
		return usageErrorf("help: unknown command %q", args[0])
	}
	return usageErrorf("help: want at most one command")
}

func (a *app) runServe(ctx context.Context, args []string) error {
	fs, cf := a.flagSet("serve", "run the BFF until SIGINT or SIGTERM")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	cfg, err := a.loadValid("serve", cf)
	if err != nil {
		return err
	}
	return a.serve(ctx, cfg, a.stdout, a.stderr)
}

// runDemo hands every argument to demo, which parses its own flags.
func (a *app) runDemo(ctx context.Context, args []string) error {
	return a.demo(ctx, args, a.stdout, a.stderr)
}

// exitError carries an exit code other than exitRuntime; reported means the message
// is already on stderr.
type exitError struct {
	code     int
	err      error
	reported bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// configError marks a configuration that cannot be loaded or is invalid: exit code 2.
func configError(err error) error {
	return &exitError{code: exitUsage, err: err}
}

// configFlags are the flags of the commands that load a configuration.
type configFlags struct {
	file string
	set  setFlag
}

// flagSet returns a subcommand's flag set with --config and --set; errors and -h go
// to stderr.
func (a *app) flagSet(name, summary string) (*flag.FlagSet, *configFlags) {
	fs := a.bareFlagSet(name, summary)
	cf := &configFlags{set: setFlag{values: map[string]string{}}}
	fs.StringVar(&cf.file, "config", "", "YAML configuration `FILE`")
	fs.Var(&cf.set, "set", "set one `key=value`, e.g. --set log.level=debug (repeatable; overrides the file and env)")
	return fs, cf
}

func (a *app) bareFlagSet(name, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: bff %s [flags]\n\n%s\n\nflags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and refuses positional arguments. The flag package has already
// printed a parse error and the usage, so the returned error is marked reported.
func (a *app) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: exitUsage, err: err, reported: true}
	}
	if fs.NArg() > 0 {
		return usageErrorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// loadValid loads the configuration the flags and the environment describe, and
// validates it. Every problem is printed on stderr, one per line with its key path,
// sorted, and the error is marked reported (exit 2).
func (a *app) loadValid(cmd string, cf *configFlags) (config.Config, error) {
	if err := cf.set.err(); err != nil {
		return config.Config{}, err
	}
	cfg, err := config.Load(config.Source{File: cf.file, Env: a.env, Set: cf.set.values})
	ps, err := allProblems(cfg, err)
	if err != nil {
		return config.Config{}, configError(err) // unreadable or unparsable file
	}
	ps = append(ps, fileProblems(cfg)...)
	if len(ps) == 0 {
		return cfg, nil
	}
	config.SortProblems(ps)
	fmt.Fprintf(a.stderr, "bff %s: %d configuration problem(s):\n", cmd, len(ps))
	for _, p := range ps {
		fmt.Fprintf(a.stderr, "  %s: %s\n", p.Path, p.Message)
	}
	return config.Config{}, &exitError{code: exitUsage, err: &config.ValidationError{Problems: ps}, reported: true}
}

// fileProblems checks what the configuration names on this machine's file system
// (config validation reads no files but the secret ones): a spa.dir that is not a built
// SPA would otherwise start a BFF that answers every page with a bare 404.
func fileProblems(cfg config.Config) []config.Problem {
	if cfg.SPA.Dir == "" {
		return nil
	}
	if err := bff.CheckSPADir(cfg.SPA.Dir); err != nil {
		msg := strings.TrimPrefix(err.Error(), bff.ErrSPADir.Error()+": ")
		return []config.Problem{{Path: "spa.dir", Message: msg}}
	}
	return nil
}

// allProblems merges the problems of Load (loadErr) and of validating what it loaded,
// sorted, so one run reports everything. A load error that is not a
// *config.ValidationError is returned as is.
func allProblems(cfg config.Config, loadErr error) ([]config.Problem, error) {
	var ps []config.Problem
	var ve *config.ValidationError
	if loadErr != nil {
		if !errors.As(loadErr, &ve) {
			return nil, loadErr
		}
		ps = append(ps, ve.Problems...)
	}
	if errors.As(config.Validate(cfg), &ve) {
		ps = append(ps, ve.Problems...)
	}
	config.SortProblems(ps)
	return ps, nil
}

// setFlag collects repeated --set key=value flags (the last value of a key wins). A
// malformed one is remembered, not reported by the flag package, whose message would
// quote the argument: it may be a secret.
type setFlag struct {
	values    map[string]string
	malformed int // position (1-based) of the first argument without "key="
	count     int
}

func (s *setFlag) String() string { return "" } // never echo values: they may be secrets

func (s *setFlag) Set(arg string) error {
	s.count++
	key, value, ok := strings.Cut(arg, "=")
	if key = strings.TrimSpace(key); !ok || key == "" {
		if s.malformed == 0 {
			s.malformed = s.count
		}
		return nil
	}
	s.values[key] = value
	return nil
}

func (s *setFlag) err() error {
	if s.malformed > 0 {
		return usageErrorf("--set #%d is not key=value", s.malformed)
	}
	return nil
}
