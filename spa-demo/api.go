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
	_ = json.NewEncoder(w).Encode(me{
		Subject: tok.Subject, Claims: claims, ExpiresAt: tok.Expiry,
		SecondsLeft: int64(tok.Expiry.Sub(a.now()) / time.Second), TokenFingerprint: fp,
	})
}

// clock streams the time and the token's remaining life until the client leaves.
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
		fmt.Fprintf(w, "data: {\"time\":%q,\"tokenSecondsLeft\":%d}\n\n", now.UTC().Format(time.RFC3339), int64(tok.Expiry.Sub(now)/time.Second))
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}
