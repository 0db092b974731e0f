package bff

import (
	"context"
	"net/http"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/handler"
)

// Protect guards one of the application's own handlers (a "local API", served next to
// the BFF on the same origin) with the rules of the proxied routes: the CSRF rule
// (403 problem+json, type csrf) and a live session (401 problem+json, type
// unauthenticated). h runs only for a request that passes both; IdentityFrom and
// CredentialsFrom give it the user and, for its own server-side calls, the session's
// credential. Protect refreshes nothing: only CredentialsFrom's Get does, when asked.
func (s *Server) Protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, err := s.handlers.Local(w, r)
		if err != nil {
			s.handlers.WriteError(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), localKey{}, local)))
	})
}

// localKey is the context key of the request's *handler.LocalSession.
type localKey struct{}

// IdentityFrom is the user of a request that Protect let through: the ID token's sub
// and its email and preferred_username claims. false outside Protect.
func IdentityFrom(ctx context.Context) (credential.Identity, bool) {
	local, ok := ctx.Value(localKey{}).(*handler.LocalSession)
	if !ok {
		return credential.Identity{}, false
	}
	return local.Identity, true
}

// CredentialsFrom is the session's credential source of a request that Protect let
// through, the one the proxy asks: Get(ctx, false) returns a credential.Session whose
// Credential sets its own Authorization header on an outbound request (Apply), refreshed
// first when the token is about to expire. The token itself is never handed out as a
// string. Call Get before writing the response: a refresh that finds the session ended
// clears its cookie. false outside Protect.
func CredentialsFrom(ctx context.Context) (credential.Source, bool) {
	local, ok := ctx.Value(localKey{}).(*handler.LocalSession)
	if !ok {
		return nil, false
	}
	return local.Credentials, true
}
