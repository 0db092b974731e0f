package spademo_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/logbuf"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	spademo "github.com/tokenward/bff/spa-demo"
)

// The demo's timing in the browser test: a short access token, so that the test sees a
// refresh within seconds, and a refresh skew that fits it. The OP rounds expires_in down
// (5 s here), so the BFF refreshes 4 s after the login: time enough, on a loaded runner,
// for the login and the first API call to use the login's token.
const (
	tokenLifetime = 6 * time.Second
	refreshSkew   = time.Second
)

// demoEnv is `bff demo` started for a test: everything on free loopback ports, the
// token endpoint's answers recorded, and every log line (debug level) kept.
type demoEnv struct {
	*spademo.Demo
	tokens *issuedTokens
	logs   *logbuf.Buffer
}

// startDemo starts the demo and waits until the BFF is ready (discovery done). With
// BFF_TEST_REDIS_URL set, the sessions live in that Redis instead of the embedded store.
// configure, if any, edits the configuration last. Everything stops at the end of the test.
func startDemo(t *testing.T, configure ...func(*config.Config)) *demoEnv {
	t.Helper()
	idpClient, tokens := newRecordingIdPClient()
	logs := &logbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := spademo.Start(ctx, spademo.DemoConfig{
		Listen: "127.0.0.1:0", OPListen: "127.0.0.1:0", APIListen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
		AccessTokenLifetime: tokenLifetime,
		Logger:              slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Configure: func(c *config.Config) {
			c.OIDC.RefreshSkew = refreshSkew
			if url := os.Getenv("BFF_TEST_REDIS_URL"); url != "" {
				c.Session.Store, c.Session.RedisURL = "redis", url
			}
			for _, f := range configure {
				f(c)
			}
		},
		Options: []bff.Option{bff.WithIdPClient(idpClient)},
	})
	if err != nil {
		cancel()
		t.Fatalf("start the demo: %v", err)
	}
	t.Cleanup(func() { stopDemo(t, cancel, d, logs) })
	waitReady(t, d)
	return &demoEnv{Demo: d, tokens: tokens, logs: logs}
}

func stopDemo(t *testing.T, cancel context.CancelFunc, d *spademo.Demo, logs *logbuf.Buffer) {
	cancel()
	done := make(chan error, 1)
	go func() { done <- d.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the demo stopped with: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the demo did not stop within 10s")
	}
	if t.Failed() {
		// The test checks that these lines hold no token and no cookie value.
		t.Logf("demo logs:\n%s", logs.String())
	}
}

func waitReady(t *testing.T, d *spademo.Demo) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := d.BFF.Ready(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the BFF is not ready after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
