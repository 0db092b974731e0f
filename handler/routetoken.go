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
	cred, err := routeCredential(tok)
	if err != nil {
		return credential.Session{}, err
	}
	return credential.Session{Credential: cred, Identity: identity(cur.rec), Key: cur.hash}, nil
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

// routeCredential is the bearer credential of a route token; like recordCredential it
// refuses any other token type.
func routeCredential(tok session.RouteToken) (credential.Credential, error) {
	if tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "bearer") {
		return nil, problem.New(http.StatusBadGateway, problem.TokenRefused,
			"the route's access token is of a type this BFF cannot send", fmt.Errorf("handler: route token type %q", tok.TokenType))
	}
	cred := credential.NewBearer(tok.AccessToken)
	if cred == nil {
		return nil, problem.New(http.StatusBadGateway, problem.TokenRefused, "the identity provider issued no token for this route", nil)
	}
	return cred, nil
}
