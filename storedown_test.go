package bff_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
)

// TestRedisDownAtStartIsLoudAtOnce: a Redis that does not answer when serve starts is
// reported by an error line at start (not first by a user's failed login), naming the
// URL without its password and what follows; the BFF still starts, /readyz says the store
// is unreachable and a login gets 503.
func TestRedisDownAtStartIsLoudAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there: connections are refused
	const password = "redis-password-never-logged"
	logs := &logbuf.Buffer{}
	e := testenv.Start(t, testenv.Options{SkipReady: true, Log: logs, Configure: func(c *config.Config) {
		c.Session.Store, c.Session.RedisURL = "redis", "redis://:"+password+"@"+addr+"/0"
	}})
	out := logs.String() // New has returned: the warning must already be there
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "session store unreachable at start") ||
		!strings.Contains(out, "redis://:xxxxx@"+addr+"/0") || !strings.Contains(out, "store_unavailable") {
		t.Fatalf("no loud start-up line naming the store:\n%s", out)
	}
	if strings.Contains(out, password) {
		t.Fatalf("the log holds the Redis password:\n%s", out)
	}
	e.WaitReadyzBody(t, `"store":"unreachable","idp":"ok"`)
	r, err := e.Client.Get(e.URL("/bff/login"))
	if err != nil {
		t.Fatal(err)
	}
	if body := testenv.ReadAll(t, r); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("login with the store down: %d %s", r.StatusCode, body)
	}
}
