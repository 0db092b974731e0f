package handler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/session"
)

// RouteRefresher hands out a session's token for a route's token spec (RFC 8707 resource,
// RFC 8693 exchange); *refresh.Refresher implements it. A Refresher without it cannot
// serve such routes.
type RouteRefresher interface {
	ForRoute(ctx context.Context, id string, rec *session.Record, spec *credential.TokenSpec, force bool) (session.RouteToken, error)
}

// getRoute is Get for a route with a token spec: the route's own token, never the
// session's main token in its place.
func (s *requestSource) getRoute(ctx context.Context, cur *current, force bool) (credential.Session, error) {
	rr, ok := s.h.d.Refresher.(RouteRefresher)
	if !ok {
		return credential.Session{}, problem.New(http.StatusBadGateway, problem.TokenRefused,
			"this BFF cannot obtain route tokens", errors.New("handler: the refresher has no ForRoute"))
	}
	tok, err := rr.ForRoute(ctx, cur.id, cur.rec, s.spec, force)
	if err != nil {
		return credential.Session{}, s.tokenError(err)
	}
	s.answered(cur)
	// Remember the token sent, so that a forced renewal after a 401 knows which one the
	// upstream rejected.
	s.cur = &current{id: cur.id, rec: withSentRouteToken(cur.rec, s.spec.Key(), tok), hash: cur.hash}
	cred, err := s.h.routeCredential(cur.rec, tok)
	if err != nil {
		return credential.Session{}, err
	}
	return credential.Session{Credential: cred, Identity: s.h.identity(cur.rec), Key: cur.hash}, nil
}

// withSentRouteToken is rec with RouteTokens[key] = tok (a copy; rec is shared).
func withSentRouteToken(rec *session.Record, key string, tok session.RouteToken) *session.Record {
	next := *rec
	next.RouteTokens = maps.Clone(rec.RouteTokens)
	if next.RouteTokens == nil {
		next.RouteTokens = map[string]session.RouteToken{}
	}
	next.RouteTokens[key] = tok
	return &next
}

// routeCredential is the credential of a route token, of its type like the session's own
// (recordCredential: Bearer, or DPoP proven with the session's key); any other type is
// refused, never replaced by the session's main token.
func (h *Handlers) routeCredential(rec *session.Record, tok session.RouteToken) (credential.Credential, error) {
	if tok.AccessToken == "" {
		return nil, problem.New(http.StatusBadGateway, problem.TokenRefused, "the identity provider issued no token for this route", nil)
	}
	if strings.EqualFold(rec.TokenType, "DPoP") && !strings.EqualFold(tok.TokenType, "DPoP") {
		// A route token of a session whose main token is DPoP-bound must be bound too: an
		// unbound one (the provider ignored the proof of a resource grant, which idp keeps
		// for its rotated refresh token) is never sent, not even as Bearer.
		return nil, problem.New(http.StatusBadGateway, problem.TokenRefused,
			"the identity provider issued this route a token not bound to the session's DPoP key; enable DPoP-bound access tokens for this client at the provider",
			fmt.Errorf("handler: route token type %q in a DPoP session", tok.TokenType))
	}
	cred, err := h.recordCredential(&session.Record{AccessToken: tok.AccessToken, TokenType: tok.TokenType, DPoPKey: rec.DPoPKey})
	if err != nil {
		return nil, problem.New(http.StatusBadGateway, problem.TokenRefused,
			"the route's access token is of a type this BFF cannot send", fmt.Errorf("handler: route token type %q: %w", tok.TokenType, err))
	}
	return cred, nil
}
