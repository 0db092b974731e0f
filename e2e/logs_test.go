package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/logbuf"

	"github.com/alicebob/miniredis/v2"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/session"
)

// TestLogsHoldNoSecrets runs login → API call → refresh → bad requests → logout with debug
// logging and asserts that no token, code, state, nonce, secret, key or cookie value
// appears anywhere in the log output.
func TestLogsHoldNoSecrets(t *testing.T) {
	logs := &logbuf.Buffer{}
	mr := miniredis.RunT(t)
	redisURL := "redis://" + mr.Addr() + "/0"
	o := testenv.Options{Log: logs, Configure: func(c *config.Config) {
		c.Session.Store, c.Session.RedisURL = "redis", redisURL
		c.Log.Level = "debug"
	}}
	testenv.ShortTokens(&o)
	e := testenv.Start(t, o)

	var secrets []string
	add := func(what string, vs ...string) {
		for _, v := range vs {
			if len(v) < 8 {
				t.Fatalf("%s: %q is too short to search for", what, v)
			}
			secrets = append(secrets, v)
		}
	}
	add("client secret", testenv.ClientSecret)
	add("session key", e.Config.Session.Keys...)

	cb := e.Authorize(t, e.Client, "alice", "/")
	add("code and state", cb.Query().Get("code"), cb.Query().Get("state"))
	for _, ck := range e.Client.Jar.Cookies(&url.URL{Scheme: "https", Host: e.Server.Listener.Addr().String(), Path: "/bff/callback"}) {
		add("login cookie", ck.Value)
	}
	resp, err := e.Client.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := testenv.FindCookie(resp, "__Host-bff").Value
	add("session cookie", cookie)
	recordOf := func() *session.Record {
		keys, err := session.ParseKeys(e.Config.Session.Keys)
		if err != nil {
			t.Fatal(err)
		}
		var id string
		if err := session.NewCookieCodec(keys, 0).Decode("__Host-bff", cookie, &id); err != nil {
			t.Fatal(err)
		}
		add("session id", id)
		st, err := session.NewRedis(context.Background(), session.Options{URL: redisURL, Keys: keys, IdleTimeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rec, err := st.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	before := recordOf()
	add("tokens", before.AccessToken, before.RefreshToken, before.IDToken)

	if r := e.Do(t, nil, http.MethodGet, "/api/x?token=in-the-query", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("api: %d", r.StatusCode)
	}
	time.Sleep(2100 * time.Millisecond)
	if r := e.Do(t, nil, http.MethodGet, "/api/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("api after expiry: %d", r.StatusCode)
	}
	after := recordOf()
	if after.AccessToken == before.AccessToken {
		t.Fatal("no refresh happened")
	}
	add("refreshed tokens", after.AccessToken, after.RefreshToken)
	// Some failures log their errors too.
	bad, _ := e.NewClient(t).Get(e.URL("/bff/callback?state=" + cb.Query().Get("state") + "&code=" + cb.Query().Get("code")))
	bad.Body.Close()
	if r := e.Do(t, nil, http.MethodPost, "/bff/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}

	out := logs.String()
	if testing.Verbose() {
		t.Log(out)
	}
	if !strings.Contains(out, "request_id=") || !strings.Contains(out, "route=demo") && !strings.Contains(out, "route=/api/") {
		t.Fatalf("the access log is missing: %s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("a secret (%d bytes, starting %q) appears in the logs", len(s), s[:4])
		}
	}
	if strings.Contains(out, "in-the-query") {
		t.Error("a query string appears in the logs")
	}
}
