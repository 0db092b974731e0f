package config

import "testing"

// TestValidateRouteTokens: a route's own token (RFC 8707 resource with scopes, or an RFC
// 8693 exchange) is accepted in its valid forms, and every misuse is refused with a
// message at the key to fix.
func TestValidateRouteTokens(t *testing.T) {
	valid := []struct {
		name   string
		mutate func(r *Route)
	}{
		{"resource", func(r *Route) { r.Resource = "https://orders.example.com/" }},
		{"resource with scopes", func(r *Route) { r.Resource, r.Scopes = "urn:orders", []string{"orders:read", "openid"} }},
		{"exchange audience", func(r *Route) { r.TokenExchange = TokenExchange{Audience: "orders-api", Scope: "a b"} }},
		{"exchange resource", func(r *Route) { r.TokenExchange = TokenExchange{Resource: "https://orders.example.com/"} }},
		{"optional auth", func(r *Route) { r.Resource, r.Auth = "https://o.example.com/", "optional" }},
	}
	for _, tt := range valid {
		t.Run("valid "+tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c.Routes[0])
			if err := Validate(c); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
	refused := []struct {
		name, wantPath, wantInMsg string
		mutate                    func(r *Route)
	}{
		{"relative resource", "routes[0].resource", "absolute URI", func(r *Route) { r.Resource = "/orders" }},
		{"resource with fragment", "routes[0].resource", "fragment", func(r *Route) { r.Resource = "https://o.example.com/#x" }},
		{"resource with empty fragment", "routes[0].resource", "fragment", func(r *Route) { r.Resource = "https://o.example.com/#" }},
		{"scopes without resource", "routes[0].scopes", "needs routes[0].resource", func(r *Route) { r.Scopes = []string{"a"} }},
		{"scope with a space", "routes[0].scopes[1]", "not a scope", func(r *Route) {
			r.Resource, r.Scopes = "urn:o", []string{"a", "b c"}
		}},
		{"empty scope", "routes[0].scopes[0]", "not a scope", func(r *Route) { r.Resource, r.Scopes = "urn:o", []string{""} }},
		{"resource and exchange", "routes[0].tokenExchange", "not both", func(r *Route) {
			r.Resource, r.TokenExchange = "urn:o", TokenExchange{Audience: "x"}
		}},
		{"resource with auth none", "routes[0].auth", "asks for a token", func(r *Route) { r.Resource, r.Auth = "urn:o", "none" }},
		{"exchange with auth none", "routes[0].auth", "asks for a token", func(r *Route) {
			r.TokenExchange, r.Auth = TokenExchange{Audience: "x"}, "none"
		}},
		{"exchange for nothing", "routes[0].tokenExchange", "needs audience or resource", func(r *Route) {
			r.TokenExchange = TokenExchange{Scope: "a"}
		}},
		{"exchange audience with a space", "routes[0].tokenExchange.audience", "must not contain spaces", func(r *Route) {
			r.TokenExchange = TokenExchange{Audience: "a b"}
		}},
		{"exchange relative resource", "routes[0].tokenExchange.resource", "absolute URI", func(r *Route) {
			r.TokenExchange = TokenExchange{Resource: "orders"}
		}},
	}
	for _, tt := range refused {
		t.Run("refused "+tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c.Routes[0])
			ps := problemsOf(t, Validate(c))
			if _, ok := findProblem(ps, tt.wantPath, tt.wantInMsg); !ok {
				t.Errorf("want a problem at %s containing %q, got %v", tt.wantPath, tt.wantInMsg, ps)
			}
		})
	}
}
