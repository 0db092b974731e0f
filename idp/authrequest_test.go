package idp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestNewAuthRequestIsRandomAndCompact(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		ar, err := NewAuthRequest()
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"state": ar.State, "nonce": ar.Nonce, "verifier": ar.CodeVerifier} {
			raw, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil || len(raw) < 32 {
				t.Fatalf("%s = %q: want >= 256 bits base64url (err %v)", name, v, err)
			}
			if seen[v] {
				t.Fatalf("%s repeated", name)
			}
			seen[v] = true
		}
	}
	ar, _ := NewAuthRequest()
	b, _ := json.Marshal(ar)
	var keys map[string]string
	_ = json.Unmarshal(b, &keys)
	if len(keys) != 3 || keys["s"] != ar.State || keys["n"] != ar.Nonce || keys["v"] != ar.CodeVerifier {
		t.Errorf("JSON = %s, want short keys s, n, v", b)
	}
}

func TestMatchesState(t *testing.T) {
	ar := AuthRequest{State: "state-1", Nonce: "n", CodeVerifier: "v"}
	tests := []struct {
		name  string
		ar    AuthRequest
		state string
		want  bool
	}{
		{name: "same", ar: ar, state: "state-1", want: true},
		{name: "other login's state (CSRF)", ar: ar, state: "state-2"},
		{name: "prefix", ar: ar, state: "state-"},
		{name: "empty callback state", ar: ar, state: ""},
		{name: "empty cookie state", ar: AuthRequest{}, state: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ar.MatchesState(tt.state); got != tt.want {
				t.Errorf("MatchesState(%q) = %v, want %v", tt.state, got, tt.want)
			}
		})
	}
}

func TestAuthCodeURL(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	ar, _ := NewAuthRequest()
	login := url.Values{
		"prompt":       {"login"},
		"login_hint":   {"ada@example.com"},
		"ui_locales":   {"fr"},                        // not allowlisted
		"redirect_uri": {"https://evil.example.net/"}, // never passed through
		"state":        {"attacker-state"},
		"scope":        {"openid admin"},
	}
	raw, err := p.AuthCodeURL(ar, login)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != op.issuer+"/authorize" {
		t.Errorf("endpoint = %s", got)
	}
	sum := sha256.Sum256([]byte(ar.CodeVerifier))
	q := u.Query()
	want := map[string]string{
		"response_type":         "code",
		"client_id":             testClientID,
		"redirect_uri":          testRedirect,
		"scope":                 "openid profile email offline_access",
		"state":                 ar.State,
		"nonce":                 ar.Nonce,
		"code_challenge_method": "S256",
		"code_challenge":        base64.RawURLEncoding.EncodeToString(sum[:]),
		"prompt":                "login",
		"login_hint":            "ada@example.com",
	}
	for k, v := range want {
		if q.Get(k) != v || len(q[k]) != 1 {
			t.Errorf("%s = %q, want exactly %q", k, q[k], v)
		}
	}
	for k := range q {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected parameter %s=%q (only allowlisted parameters may pass)", k, q[k])
		}
	}
	if strings.Contains(raw, ar.CodeVerifier) {
		t.Error("the PKCE verifier itself must never appear in the authorize URL")
	}
}

// TestPassedParamsAreWhatTheAuthorizeURLCarries: PassedParams (what the handler records,
// e.g. whether a login asked for prompt=none, also under PAR where the browser's URL holds
// only request_uri) is exactly the pass-through part of AuthCodeURL.
func TestPassedParamsAreWhatTheAuthorizeURLCarries(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	ar, _ := NewAuthRequest()
	login := url.Values{
		"prompt":     {"none", "login"},                        // first value only
		"login_hint": {strings.Repeat("a", maxAuthParamLen+1)}, // over-long: dropped
		"ui_locales": {"fr"},                                   // not allowlisted
		"state":      {"attacker-state"},                       // never passed through
	}
	got := p.PassedParams(login)
	if len(got) != 1 || got.Get("prompt") != "none" {
		t.Fatalf("PassedParams = %v, want only prompt=none", got)
	}
	raw, err := p.AuthCodeURL(ar, login)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	if q := u.Query(); q.Get("prompt") != "none" || q.Has("login_hint") || q.Has("ui_locales") {
		t.Fatalf("authorize URL query %v disagrees with PassedParams %v", q, got)
	}
}

func TestAuthCodeURLRefusesIncompleteRequest(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	if _, err := p.AuthCodeURL(AuthRequest{State: "s", Nonce: "n"}, nil); err == nil {
		t.Error("an AuthRequest without verifier must be refused (PKCE downgrade)")
	}
}

func TestCheckIssuer(t *testing.T) {
	tests := []struct {
		name         string
		issSupported bool
		iss          func(issuer string) string
		wantErr      error
	}{
		{name: "exact match", issSupported: true, iss: func(i string) string { return i }},
		{name: "exact match, not advertised", iss: func(i string) string { return i }},
		{name: "trailing slash (mix-up)", issSupported: true, iss: func(i string) string { return i + "/" }, wantErr: ErrIssuerMismatch},
		{name: "other issuer (mix-up)", issSupported: true, iss: func(string) string { return "https://evil.example.net" }, wantErr: ErrIssuerMismatch},
		{name: "other issuer, not advertised (mix-up)", iss: func(string) string { return "https://evil.example.net" }, wantErr: ErrIssuerMismatch},
		{name: "case differs", issSupported: true, iss: strings.ToUpper, wantErr: ErrIssuerMismatch},
		{name: "absent but advertised (stripped iss)", issSupported: true, iss: func(string) string { return "" }, wantErr: ErrIssuerMismatch},
		{name: "absent and not advertised", iss: func(string) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			op.setMeta("authorization_response_iss_parameter_supported", tt.issSupported)
			p, _ := op.newProvider(nil)
			err := p.CheckIssuer(tt.iss(op.issuer))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("CheckIssuer = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestCheckIssuerBeforeDiscovery(t *testing.T) {
	p, err := New(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckIssuer("https://idp.example.com"); !errors.Is(err, ErrNotReady) {
		t.Errorf("CheckIssuer = %v, want ErrNotReady", err)
	}
}
