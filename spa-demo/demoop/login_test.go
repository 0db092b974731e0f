package demoop

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// loginPage follows /authorize to the login page and returns its auth request id.
func (e *testEnv) loginPage(t *testing.T, c *http.Client, a authAttempt) (string, string) {
	t.Helper()
	resp := e.get(t, c, a.url)
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	page := e.get(t, c, loc.String())
	body, _ := io.ReadAll(page.Body)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("login page status %d", page.StatusCode)
	}
	return loc.Query().Get(loginParamRequestID), string(body)
}

func TestLoginPageIsFillableByABrowser(t *testing.T) {
	e := newTestEnv(t)
	_, body := e.loginPage(t, e.browser(t), newAttempt(e.bffConfig()))
	for _, want := range []string{`id="username"`, `id="password"`, `id="submit"`, `type="password"`,
		"<code>alice</code>", "<code>wonderland</code>", "<code>bob</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
}

func TestWrongPasswordShowsTheFormAgain(t *testing.T) {
	tests := []struct {
		name, username, password string
	}{
		{name: "wrong password", username: "alice", password: "nope"},
		{name: "unknown user", username: "mallory", password: "wonderland"},
		{name: "other user's password", username: "alice", password: "builder"},
		{name: "empty", username: "", password: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			c := e.browser(t)
			id, _ := e.loginPage(t, c, newAttempt(e.bffConfig()))
			resp := e.postForm(t, c, loginPath, url.Values{loginParamRequestID: {id},
				"username": {tt.username}, "password": {tt.password}}, "", "")
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), msgWrongPassword) ||
				!strings.Contains(string(body), `id="username"`) {
				t.Fatalf("status %d, want the form again with an error", resp.StatusCode)
			}
			if strings.Contains(string(body), `value="`+tt.password+`"`) && tt.password != "" {
				t.Error("the password is echoed back")
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Error("a failed login set a cookie")
			}
		})
	}
	e := newTestEnv(t)
	_, err := LoginHeadless(t.Context(), e.browser(t), newAttempt(e.bffConfig()).url, "alice", "nope")
	if !errors.Is(err, ErrLoginRejected) {
		t.Errorf("LoginHeadless with a wrong password: %v, want ErrLoginRejected", err)
	}
}

// TestLoginPageEscapesInput_XSS: what a user typed comes back HTML-escaped.
func TestLoginPageEscapesInput_XSS(t *testing.T) {
	e := newTestEnv(t)
	c := e.browser(t)
	id, _ := e.loginPage(t, c, newAttempt(e.bffConfig()))
	payload := `"><script>alert(1)</script>`
	resp := e.postForm(t, c, loginPath, url.Values{loginParamRequestID: {id}, "username": {payload}, "password": {"x"}}, "", "")
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), "<script>") {
		t.Error("username reflected unescaped")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}

func TestLoginWithUnknownRequestIsABadRequestNotAServerError(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name   string
		method string
		form   url.Values
	}{
		{name: "GET unknown id", method: http.MethodGet},
		{name: "POST unknown id", method: http.MethodPost, form: url.Values{loginParamRequestID: {"nope"}, "username": {"alice"}, "password": {"wonderland"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			if tt.method == http.MethodGet {
				resp = e.get(t, e.srv.Client(), e.issuer+loginPath+"?"+loginParamRequestID+"=nope")
			} else {
				resp = e.postForm(t, e.srv.Client(), loginPath, tt.form, "", "")
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

func TestSingleSignOn(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	browser := e.browser(t)
	first := e.login(t, browser, newAttempt(cfg))
	tests := []struct {
		name     string
		opts     []oauth2.AuthCodeOption
		password string
		wantErr  error
	}{
		{name: "session reused without a form", password: "ignored"},
		{name: "prompt=login shows the form", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login")},
			password: "nope", wantErr: ErrLoginRejected},
		{name: "max_age=0 shows the form", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "0")},
			password: "nope", wantErr: ErrLoginRejected},
		{name: "prompt=none with a session", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none")},
			password: "ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := LoginHeadless(t.Context(), browser, newAttempt(cfg, tt.opts...).url, "alice", tt.password)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && cb.Query().Get("code") == "" {
				t.Errorf("no code in %s", cb.Redacted())
			}
		})
	}
	_ = first
}

func TestPromptNoneWithoutSessionAnswersLoginRequired(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	a := newAttempt(cfg, oauth2.SetAuthURLParam("prompt", "none"))
	cb, err := LoginHeadless(t.Context(), e.browser(t), a.url, "alice", "wonderland")
	if err != nil {
		t.Fatal(err)
	}
	if q := cb.Query(); q.Get("error") != "login_required" || q.Get("state") != a.state || q.Get("iss") != e.issuer {
		t.Errorf("callback = %v", q)
	}
}
