package credential

import (
	"context"
	"slices"
	"strings"
)

// TokenSpec is what a route asks of a session's token instead of the login's access
// token: one for a Resource (RFC 8707, with Scopes, obtained with the refresh token), or
// one obtained by token Exchange (RFC 8693) of the session's access token. Exactly one of
// Resource and Exchange is set. Immutable once a route holds it.
type TokenSpec struct {
	Resource string
	Scopes   []string
	Exchange *ExchangeSpec
}

// ExchangeSpec is an RFC 8693 token exchange request: the audience, scope and resource
// asked for (any may be ""; at least one of Audience and Resource is set).
type ExchangeSpec struct {
	Audience, Scope, Resource string
}

// Key names the token a spec asks for in the session record: "res:"+resource[+" "+sorted
// scopes], or "tx:"+audience+" "+scope+" "+resource. Two routes asking for the same thing
// share one token.
func (s *TokenSpec) Key() string {
	if s.Exchange != nil {
		return "tx:" + s.Exchange.Audience + " " + s.Exchange.Scope + " " + s.Exchange.Resource
	}
	if len(s.Scopes) == 0 {
		return "res:" + s.Resource
	}
	scopes := slices.Clone(s.Scopes)
	slices.Sort(scopes)
	return "res:" + s.Resource + " " + strings.Join(slices.Compact(scopes), " ")
}

type tokenSpecKey struct{}

// WithTokenSpec returns ctx carrying the route's token spec for the Source of the
// request (see TokenSpecFrom). Routes without a spec do not call it.
func WithTokenSpec(ctx context.Context, s *TokenSpec) context.Context {
	return context.WithValue(ctx, tokenSpecKey{}, s)
}

// TokenSpecFrom returns the token spec ctx carries, or nil for the session's own token.
func TokenSpecFrom(ctx context.Context) *TokenSpec {
	s, _ := ctx.Value(tokenSpecKey{}).(*TokenSpec)
	return s
}
