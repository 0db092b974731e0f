package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
)

// Two valid session keys, for tests only.
const (
	testKey1 = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
	testKey2 = "ESIzRFVmd4iZqrvM3e7/ABEiM0RVZneImaq7zN3u/wA="
)

// validEnv sets every required key through the environment.
func validEnv() []string {
	return []string{
		"PATH=/usr/bin",
		"BFF_SERVER_PUBLIC_URL=http://localhost:8080",
		"BFF_OIDC_ISSUER=http://127.0.0.1:1",
		"BFF_OIDC_CLIENT_ID=spa",
		"BFF_OIDC_CLIENT_SECRET=client-secret-value",
		"BFF_SESSION_KEYS=" + testKey1 + "," + testKey2,
	}
}

// testApp is an app whose serve, demo and discover record their calls.
type testApp struct {
	*app
	stdout, stderr *bytes.Buffer
	served         *config.Config
	demoArgs       []string
	discovered     int
	serveErr       error
	discoverErr    error
}

func newTestApp(env []string) *testApp {
	t := &testApp{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer)}
	t.app = newApp(t.stdout, t.stderr, env)
	t.app.serve = func(_ context.Context, cfg config.Config, _, _ io.Writer) error {
		t.served = &cfg
		return t.serveErr
	}
	t.app.demo = func(_ context.Context, args []string, _, _ io.Writer) error {
		t.demoArgs = append([]string{}, args...)
		return nil
	}
	t.app.discover = func(context.Context, config.Config) error {
		t.discovered++
		return t.discoverErr
	}
	t.app.pingStore = func(context.Context, config.Config) error { return nil }
	return t
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bff.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDispatch(t *testing.T) {
	file := writeConfig(t, "log:\n  level: warn\n")
	tests := []struct {
		name         string
		args         []string
		env          []string
		serveErr     error
		wantCode     int
		wantServed   bool
		wantLevel    string // log.level of the served config
		wantDemoArgs []string
		wantStdout   string
		wantStderr   string
	}{
		{name: "no command means serve", env: validEnv(), wantCode: exitOK, wantServed: true, wantLevel: "info"},
		{name: "flags without command mean serve", args: []string{"--set", "log.level=debug"}, env: validEnv(), wantCode: exitOK, wantServed: true, wantLevel: "debug"},
		{name: "serve with a file", args: []string{"serve", "--config", file}, env: validEnv(), wantCode: exitOK, wantServed: true, wantLevel: "warn"},
		{name: "set beats file", args: []string{"serve", "--config", file, "--set=log.level=error"}, env: validEnv(), wantCode: exitOK, wantServed: true, wantLevel: "error"},
		{name: "serve error is a runtime error", env: validEnv(), serveErr: errors.New("listen: address in use"), wantCode: exitRuntime, wantServed: true, wantLevel: "info", wantStderr: "bff: listen: address in use"},
		{name: "invalid config is not served", env: nil, wantCode: exitUsage, wantStderr: "server.publicURL: is required"},
		{name: "missing config file", args: []string{"--config", "/nonexistent.yaml"}, env: validEnv(), wantCode: exitUsage, wantStderr: "no such file"},
		{name: "unknown key in file", args: []string{"--config", writeConfig(t, "lgo: {}\n")}, env: validEnv(), wantCode: exitUsage, wantStderr: "lgo: line 1: unknown key"},
		{name: "demo gets its arguments", args: []string{"demo", "--listen", "127.0.0.1:0"}, wantCode: exitOK, wantDemoArgs: []string{"--listen", "127.0.0.1:0"}},
		{name: "unknown command", args: []string{"srve"}, wantCode: exitUsage, wantStderr: "unknown command \"srve\""},
		{name: "unknown flag", args: []string{"serve", "--nope"}, env: validEnv(), wantCode: exitUsage, wantStderr: "flag provided but not defined: -nope"},
		{name: "positional argument", args: []string{"serve", "bff.yaml"}, env: validEnv(), wantCode: exitUsage, wantStderr: "unexpected argument \"bff.yaml\""},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "keygen   print fresh session keys"},
		{name: "help for a command", args: []string{"help", "check"}, wantCode: exitOK, wantStderr: "-offline"},
		{name: "help for an unknown command", args: []string{"help", "nope"}, wantCode: exitUsage, wantStderr: "unknown command"},
		{name: "-h on a command", args: []string{"serve", "-h"}, wantCode: exitOK, wantStderr: "usage: bff serve"},
		{name: "malformed --set", args: []string{"--set", "log.level"}, env: validEnv(), wantCode: exitUsage, wantStderr: "--set #1 is not key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(tt.env)
			a.serveErr = tt.serveErr
			code := a.run(context.Background(), tt.args)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, a.stdout, a.stderr)
			}
			if (a.served != nil) != tt.wantServed {
				t.Fatalf("serve called = %v, want %v", a.served != nil, tt.wantServed)
			}
			if tt.wantServed && a.served.Log.Level != tt.wantLevel {
				t.Errorf("served log.level = %q, want %q", a.served.Log.Level, tt.wantLevel)
			}
			if tt.wantDemoArgs != nil && strings.Join(a.demoArgs, " ") != strings.Join(tt.wantDemoArgs, " ") {
				t.Errorf("demo args = %q, want %q", a.demoArgs, tt.wantDemoArgs)
			}
			if !strings.Contains(a.stdout.String(), tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, a.stdout)
			}
			if !strings.Contains(a.stderr.String(), tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, a.stderr)
			}
		})
	}
}

// A --set argument without "=" may well be a secret pasted in the wrong place; the
// flag package would quote it in its error message.
func TestMalformedSetDoesNotEchoASecret(t *testing.T) {
	const secret = "pasted-client-secret-value"
	a := newTestApp(validEnv())
	if code := a.run(context.Background(), []string{"check", "--set", secret}); code != exitUsage {
		t.Fatalf("exit code = %d, want %d", code, exitUsage)
	}
	if out := a.stdout.String() + a.stderr.String(); strings.Contains(out, secret) {
		t.Errorf("output echoes the --set argument:\n%s", out)
	}
}

func TestServeConfigErrorDoesNotLeakSecrets(t *testing.T) {
	env := append(validEnv(), "BFF_SESSION_STORE=redis", "BFF_SESSION_REDIS_URL=http://user:redis-password@redis:6379")
	a := newTestApp(env)
	if code := a.run(context.Background(), nil); code != exitUsage {
		t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitUsage, a.stderr)
	}
	for _, secret := range []string{"redis-password", "client-secret-value", testKey1[:12]} {
		if strings.Contains(a.stderr.String(), secret) {
			t.Errorf("stderr leaks %q:\n%s", secret, a.stderr)
		}
	}
}

// TestSIGTERMCancelsServe drives runMain, the signal wiring of main: serve sees its
// context end when the process receives SIGTERM, and the exit code is 0.
func TestSIGTERMCancelsServe(t *testing.T) {
	a := newTestApp(validEnv())
	stopped := make(chan error, 1)
	a.app.serve = func(ctx context.Context, _ config.Config, _, _ io.Writer) error {
		// The handler is installed before serve runs: the signal cannot kill the test.
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			stopped <- nil
			return nil
		case <-time.After(5 * time.Second):
			stopped <- errors.New("context not cancelled by SIGTERM")
			return nil
		}
	}
	if code := runMain(a.app, nil); code != exitOK {
		t.Fatalf("exit code = %d, stderr: %s", code, a.stderr)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
