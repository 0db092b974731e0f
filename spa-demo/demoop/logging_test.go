package demoop

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenward/bff/internal/logbuf"
)

// TestLogsCarryNoSecrets_CredentialLeakThroughLogs drives login (good and bad), exchange,
// rotation, reuse and back-channel logout, then searches the OP's log for every secret.
func TestLogsCarryNoSecrets_CredentialLeakThroughLogs(t *testing.T) {
	var logs logbuf.Buffer
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer rp.Close()
	e := newTestEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Clients[0].BackchannelLogoutURI = rp.URL
	})
	cfg := e.bffConfig()
	browser := e.browser(t)
	if _, err := LoginHeadless(t.Context(), browser, newAttempt(cfg).url, "alice", "bad-password-123"); err == nil {
		t.Fatal("wrong password accepted")
	}
	a := newAttempt(cfg)
	cb := e.login(t, browser, a)
	tok, err := cfg.Exchange(e.ctx(t), cb.Query().Get("code"), oauthVerifier(a))
	if err != nil {
		t.Fatal(err)
	}
	next, err := e.refresh(t, cfg, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = e.refresh(t, cfg, tok.RefreshToken) // reuse
	fresh := e.tokens(t, cfg)
	if err := e.op.BackchannelLogout(t.Context(), DefaultUsers()[0].Subject); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "reuse detected") || !strings.Contains(out, "back-channel logout delivered") {
		t.Fatalf("expected events missing from the log:\n%s", out)
	}
	var cookie string
	for _, c := range browser.Jar.Cookies(cb) {
		cookie = c.Value
	}
	secrets := map[string]string{
		"password": "wonderland", "wrong password": "bad-password-123", "client secret": testClientSecret,
		"code": cb.Query().Get("code"), "refresh token": tok.RefreshToken, "rotated refresh token": next.RefreshToken,
		"access token": fresh.AccessToken, "id token": idToken(t, fresh), "state": a.state, "nonce": a.nonce,
	}
	if cookie != "" {
		secrets["session cookie"] = cookie
	}
	for name, v := range secrets {
		if v != "" && strings.Contains(out, v) {
			t.Errorf("the log contains the %s", name)
		}
	}
}
