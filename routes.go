package bff

import (
	"slices"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/proxy"
)

// proxyRoutes turns config's routes[] into the proxy's own route type: config owns the
// keys, their defaults and the messages that name them; the proxy owns what a route
// means at run time. Defaults are applied here too, for a Config built in code.
func proxyRoutes(routes []config.Route) []proxy.Route {
	out := make([]proxy.Route, 0, len(routes))
	for _, rc := range routes {
		rc = rc.WithDefaults()
		out = append(out, proxy.Route{
			Name:               rc.Name,
			Path:               rc.Path,
			Upstream:           rc.Upstream,
			StripPrefix:        rc.StripPrefix,
			Auth:               proxy.Auth(rc.Auth),
			Timeout:            rc.Timeout,
			UploadIdleTimeout:  rc.UploadIdleTimeout,
			Methods:            rc.Methods,
			RetryOn401:         *rc.RetryOn401,
			MaxRequestBody:     int64(*rc.MaxRequestBody),
			PassEncodedSlashes: rc.PassEncodedSlashes,
			IdentityHeaders: proxy.IdentityHeaders{
				User:              rc.IdentityHeaders.User,
				Email:             rc.IdentityHeaders.Email,
				PreferredUsername: rc.IdentityHeaders.PreferredUsername,
			},
			Token: routeTokenSpec(rc),
		})
	}
	return out
}

// routeTokenSpec is the route's own token request, or nil for the session's token.
func routeTokenSpec(rc config.Route) *credential.TokenSpec {
	switch {
	case rc.TokenExchange.IsSet():
		x := rc.TokenExchange
		return &credential.TokenSpec{Exchange: &credential.ExchangeSpec{Audience: x.Audience, Scope: x.Scope, Resource: x.Resource}}
	case rc.Resource != "":
		return &credential.TokenSpec{Resource: rc.Resource, Scopes: slices.Clone(rc.Scopes)}
	}
	return nil
}
