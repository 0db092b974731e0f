package spademo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// API is the demo resource server: it accepts only JWT access tokens signed by the
// issuer, and never shows the token itself (a fingerprint stands in for it).
type API struct {
	verifier *oidc.IDTokenVerifier
	now      func() time.Time
	tick     time.Duration
}

// NewAPI returns the demo API for tokens of issuer, verified against the JWKS that the
// issuer's discovery document names. The issuer must be up.
func NewAPI(ctx context.Context, issuer string, client *http.Client) (*API, error) {
	if client != nil {
		ctx = oidc.ClientContext(ctx, client)
	}
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("demo api: discovery: %w", err)
	}
	return &API{
		// Access tokens are not ID tokens: their audience is the API, not a client id.
		verifier: p.Verifier(&oidc.Config{SkipClientIDCheck: true}),
		now:      time.Now,
		tick:     time.Second,
	}, nil
}

// me is the answer of GET /me.
type me struct {
	Subject          string         `json:"sub"`
	Claims           map[string]any `json:"claims"`
	ExpiresAt        time.Time      `json:"expiresAt"`
	SecondsLeft      int64          `json:"secondsLeft"`
	TokenFingerprint string         `json:"tokenFingerprint"`
}

// ServeHTTP routes GET /me and GET /clock (server-sent events, one per second).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok, claims, err := a.verify(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/me":
		a.me(w, tok, claims)
	case "/clock":
		a.clock(w, r, tok)
	default:
		http.NotFound(w, r)
	}
}

func (a *API) verify(r *http.Request) (*oidc.IDToken, map[string]any, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return nil, nil, fmt.Errorf("no bearer")
	}
	tok, err := a.verifier.Verify(r.Context(), raw)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: %w", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, nil, fmt.Errorf("claims: %w", err)
	}
	sum := sha256.Sum256([]byte(raw))
	claims["_fingerprint"] = hex.EncodeToString(sum[:6])
	return tok, claims, nil
}

func (a *API) me(w http.ResponseWriter, tok *oidc.IDToken, claims map[string]any) {
	fp, _ := claims["_fingerprint"].(string)
	delete(claims, "_fingerprint")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	left, _ := secondsLeft(tok.Expiry, a.now())
	_ = json.NewEncoder(w).Encode(me{
		Subject: tok.Subject, Claims: claims, ExpiresAt: tok.Expiry,
		SecondsLeft: left, TokenFingerprint: fp,
	})
}

// tick is one event of GET /clock.
//
// A stream is one long request: the bearer it carries is the token the BFF injected when
// the stream opened, checked once, then. After the BFF refreshes the session's token, new
// requests carry the new one while the stream still runs on the old one, now expired. So
// an event describes the stream's own token, says plainly when it has expired, and never
// counts below zero (a negative "time left" is the symptom that this explains).
type tick struct {
	Time             time.Time `json:"time"`
	TokenExpiresAt   time.Time `json:"tokenExpiresAt"`
	TokenSecondsLeft int64     `json:"tokenSecondsLeft"`
	TokenExpired     bool      `json:"tokenExpired"`
}

// secondsLeft is the whole seconds until exp, rounded up so that 0 means expired (a token
// with half a second to live has 1 s left, not 0), and never negative.
func secondsLeft(exp, now time.Time) (left int64, expired bool) {
	d := exp.Sub(now)
	if d <= 0 {
		return 0, true
	}
	return int64((d + time.Second - 1) / time.Second), false
}

// clock streams the time and the remaining life of the token that this stream was opened
// with, until the client leaves.
func (a *API) clock(w http.ResponseWriter, r *http.Request, tok *oidc.IDToken) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	t := time.NewTicker(a.tick)
	defer t.Stop()
	for {
		now := a.now()
		left, expired := secondsLeft(tok.Expiry, now)
		data, err := json.Marshal(tick{
			Time: now.UTC().Truncate(time.Second), TokenExpiresAt: tok.Expiry.UTC(),
			TokenSecondsLeft: left, TokenExpired: expired,
		})
		if err != nil {
			return // cannot happen: times and numbers always marshal
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return // the client left
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}
