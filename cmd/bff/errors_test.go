package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/internal/logbuf"
)

// TestHelpFlagsListTheCommands: `bff --help`, `-h` and `help` describe bff itself (every
// command with one line), not serve's flags, and start nothing.
func TestHelpFlagsListTheCommands(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help", "help"} {
		t.Run(arg, func(t *testing.T) {
			a := newTestApp(validEnv())
			if code := a.run(context.Background(), []string{arg}); code != exitOK {
				t.Fatalf("exit code = %d; stderr: %s", code, a.stderr)
			}
			if a.served != nil {
				t.Fatal("help started the BFF")
			}
			for _, c := range commands() {
				if !strings.Contains(a.stdout.String(), c.name+strings.Repeat(" ", 9-len(c.name))+c.summary) {
					t.Errorf("help lacks %q with its summary:\n%s", c.name, a.stdout)
				}
			}
		})
	}
}

// TestCLIErrorsCarryOneBffPrefix: the library's errors start with "bff: " (Go's package
// prefix) and the CLI prefixes its messages with "bff: ": a listener that cannot open
// must read "bff: public listener: …", never "bff: bff: …" or "bff: serve: bff: …".
func TestCLIErrorsCarryOneBffPrefix(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	env := append(validEnv(), "BFF_SERVER_LISTEN="+taken.Addr().String(), "BFF_SERVER_ADMIN_LISTEN=127.0.0.1:0")
	// The server's JSON log (from goroutines, e.g. discovery) shares stderr.
	var stdout, stderr logbuf.Buffer
	a := newApp(&stdout, &stderr, env)
	if code := a.run(context.Background(), []string{"serve"}); code != exitRuntime {
		t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitRuntime, stderr.String())
	}
	var cli []string // the CLI's own lines; log lines are JSON objects
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(line, "bff") {
			cli = append(cli, line)
		}
	}
	if len(cli) != 1 || !strings.HasPrefix(cli[0], "bff: public listener: ") || strings.Count(cli[0], "bff: ") != 1 {
		t.Fatalf("the CLI printed %q, want one line with exactly one \"bff: \" prefix", cli)
	}
}

// TestCheckAndServeRefuseASPADirThatIsNotABuiltSPA: a spa.dir without index.html (a
// typo, the project root instead of ./dist, a build not run yet) used to pass check and
// serve bare 404s. Both now refuse it (exit 2) with the path and the fix.
func TestCheckAndServeRefuseASPADirThatIsNotABuiltSPA(t *testing.T) {
	root := t.TempDir()
	for _, tt := range []struct{ name, dir, want string }{
		{"missing", filepath.Join(root, "dist"), "does not exist: build the SPA first"},
		{"no index.html", root, "has no index.html"},
	} {
		for _, cmd := range [][]string{{"check", "--offline"}, {"serve"}} {
			t.Run(tt.name+"/"+cmd[0], func(t *testing.T) {
				a := newTestApp(append(validEnv(), "BFF_SPA_DIR="+tt.dir))
				if code := a.run(context.Background(), cmd); code != exitUsage {
					t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitUsage, a.stderr)
				}
				if out := a.stderr.String(); !strings.Contains(out, "  spa.dir: \""+tt.dir+"\"") || !strings.Contains(out, tt.want) {
					t.Errorf("stderr lacks the path and %q:\n%s", tt.want, out)
				}
				if a.served != nil || strings.Contains(a.stdout.String(), "configuration OK") {
					t.Error("a SPA dir without index.html passed")
				}
			})
		}
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<!doctype html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := newTestApp(append(validEnv(), "BFF_SPA_DIR="+root))
	if code := a.run(context.Background(), []string{"check", "--offline"}); code != exitOK {
		t.Fatalf("a built SPA: exit code = %d; stderr: %s", code, a.stderr)
	}
}

// TestCheckPingsTheSessionStore: check connects to the configured Redis as serve would:
// an unreachable one fails the check (exit 1) with the URL without its password and the
// setting to fix, before serve would start with every login answering 503.
func TestCheckPingsTheSessionStore(t *testing.T) {
	mr := miniredis.RunT(t)
	mr.RequireAuth("redis-password-never-printed")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close() // nothing listens there
	for _, tt := range []struct {
		name, url  string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{name: "unreachable", url: "redis://:redis-password-never-printed@" + down + "/0", wantCode: exitRuntime,
			wantStderr: []string{"session store redis://:xxxxx@" + down + "/0", "session.redisURL"}},
		{name: "wrong password", url: "redis://:wrong-password-never-printed@" + mr.Addr() + "/0", wantCode: exitRuntime,
			wantStderr: []string{"session store redis://:xxxxx@" + mr.Addr() + "/0", "session.redisURL"}},
		{name: "up", url: "redis://:redis-password-never-printed@" + mr.Addr() + "/0", wantCode: exitOK,
			wantStdout: "session store OK: redis://:xxxxx@" + mr.Addr() + "/0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(append(validEnv(), "BFF_SESSION_STORE=redis", "BFF_SESSION_REDIS_URL="+tt.url))
			a.pingStore = bff.PingStore // the real one: connect and PING
			if code := a.run(context.Background(), []string{"check", "--timeout", "5s"}); code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, a.stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(a.stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, a.stderr)
				}
			}
			if !strings.Contains(a.stdout.String(), tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, a.stdout)
			}
			if out := a.stdout.String() + a.stderr.String(); strings.Contains(out, "password-never-printed") {
				t.Errorf("check prints the Redis password:\n%s", out)
			}
			if tt.wantCode != exitOK && a.discovered != 0 {
				t.Error("discovery ran after the store check failed")
			}
		})
	}
}

// TestCheckNamesTheCSRFHeaderAsConfigured: what check tells the SPA developer to send
// is the configured header, spelled as configured.
func TestCheckNamesTheCSRFHeaderAsConfigured(t *testing.T) {
	for _, tt := range []struct{ env, want string }{
		{"", `"X-CSRF"`},
		{"BFF_CSRF_HEADER_NAME=X-Requested-By", `"X-Requested-By"`},
	} {
		a := newTestApp(append(validEnv(), tt.env))
		if code := a.run(context.Background(), []string{"check", "--offline"}); code != exitOK {
			t.Fatalf("exit code = %d; stderr: %s", code, a.stderr)
		}
		if !strings.Contains(a.stdout.String(), "header "+tt.want) {
			t.Errorf("stdout lacks the header %s:\n%s", tt.want, a.stdout)
		}
	}
}

// TestCLIMessageDropsInnerBffPrefixes: however a command wraps a library error, the
// printed message has one "bff: ".
func TestCLIMessageDropsInnerBffPrefixes(t *testing.T) {
	for _, tt := range []struct{ err, want string }{
		{"bff: session store: dial tcp: refused", "bff: session store: dial tcp: refused"},
		{"demo: bff: spa.dir is not a built SPA", "bff: demo: spa.dir is not a built SPA"},
		{"check: IdP https://idp: discovery: idp: misconfigured", "bff: check: IdP https://idp: discovery: idp: misconfigured"},
	} {
		if got := cliMessage(errors.New(tt.err)); got != tt.want {
			t.Errorf("cliMessage(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
