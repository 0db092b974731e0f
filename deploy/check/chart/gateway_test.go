package chart_test

import (
	"slices"
	"strings"
	"testing"

	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tokenward/bff/deploy/check/internal/manifest"
)

// The BFF's endpoints a browser uses: the only ones a forward-auth setup may route to
// the BFF, each Exact. /bff/auth answers trusted proxies, the gateway among them, so a
// route reaching it would hand the access token to any script on the page.
var browserEndpoints = []string{"/bff/login", "/bff/callback", "/bff/user", "/bff/logout", "/bff/backchannel-logout"}

// Forward-auth on Gateway API, for Envoy Gateway and for Traefik: the BFF's HTTPRoute
// carries the browser-facing endpoints only, the app's HTTPRoute is on the same host (the
// session cookie is host-only) and sends the app its own Service, the guard asks the
// BFF's Service inside the cluster and copies the token and the identity headers the BFF
// is configured to send, and the BFF has forward-auth on with what it needs.
func TestGatewayForwardAuthPointsAtTheBFF(t *testing.T) {
	for _, name := range []string{"forward-auth-envoy-gateway.yaml", "forward-auth-traefik.yaml"} {
		t.Run(name, func(t *testing.T) {
			objs := rendering(t, name).Objects
			cfg := loadConfig(t, objs)
			public := serviceNamed(t, objs, "public")
			host := strings.TrimPrefix(cfg.Server.PublicURL, "https://")
			own, app := gatewayRoutes(t, objs)

			var paths []string
			for _, m := range own.Spec.Rules[0].Matches {
				if m.Path == nil || m.Path.Type == nil || *m.Path.Type != gwapiv1.PathMatchExact || m.Path.Value == nil {
					t.Errorf("the BFF's HTTPRoute has a match that is not an Exact path: %+v", m)
					continue
				}
				paths = append(paths, *m.Path.Value)
			}
			if !slices.Equal(paths, browserEndpoints) {
				t.Errorf("the BFF's HTTPRoute routes %v, want exactly %v", paths, browserEndpoints)
			}
			checkBackend(t, own, public.Name, public.Spec.Ports[0].Port)
			for _, r := range []*gwapiv1.HTTPRoute{own, app} {
				if len(r.Spec.Hostnames) != 1 || string(r.Spec.Hostnames[0]) != host {
					t.Errorf("HTTPRoute %s: hostnames %v, want [%s] (the session cookie is host-only)", r.Name, r.Spec.Hostnames, host)
				}
				if len(r.Spec.ParentRefs) == 0 {
					t.Errorf("HTTPRoute %s attaches to no Gateway", r.Name)
				}
			}
			if b := app.Spec.Rules[0].BackendRefs; len(b) != 1 || string(b[0].Name) == public.Name {
				t.Errorf("the app's HTTPRoute routes to %+v, want the app", b)
			}

			wantHeaders := append([]string{"Authorization"}, cfg.Server.ForwardAuthHeaders.Names()...)
			authURL := "http://" + public.Name + ".tokenward.svc.cluster.local:" + itoa(public.Spec.Ports[0].Port) + "/bff/auth"
			switch name {
			case "forward-auth-envoy-gateway.yaml":
				checkSecurityPolicy(t, one[manifest.SecurityPolicy](t, objs), app, public.Name, public.Spec.Ports[0].Port, wantHeaders)
			case "forward-auth-traefik.yaml":
				checkMiddleware(t, one[manifest.Middleware](t, objs), app, authURL+"?redirect=1", wantHeaders)
			}

			if !cfg.Server.ForwardAuth {
				t.Error("server.forwardAuth is off: /bff/auth would answer 404 and every request be denied")
			}
			if len(cfg.Server.TrustedProxies) == 0 {
				t.Error("server.trustedProxies is empty: /bff/auth would refuse the proxy (403)")
			}
			if cfg.Session.SameSite != "lax" {
				t.Errorf("session.sameSite = %q: a Strict cookie is not sent on the redirect back from the IdP", cfg.Session.SameSite)
			}
		})
	}
}

// gatewayRoutes returns the BFF's HTTPRoute (component public) and the app's (forward-auth).
func gatewayRoutes(t *testing.T, objs []manifest.Object) (own, app *gwapiv1.HTTPRoute) {
	t.Helper()
	for _, r := range manifest.All[gwapiv1.HTTPRoute](objs) {
		switch r.Labels["app.kubernetes.io/component"] {
		case "public":
			own = r
		case "forward-auth":
			app = r
		}
	}
	if own == nil || app == nil || len(own.Spec.Rules) != 1 || len(app.Spec.Rules) != 1 {
		t.Fatal("want the BFF's HTTPRoute and the app's, one rule each")
	}
	return own, app
}

func checkBackend(t *testing.T, r *gwapiv1.HTTPRoute, service string, port int32) {
	t.Helper()
	b := r.Spec.Rules[0].BackendRefs
	if len(b) != 1 || string(b[0].Name) != service || b[0].Port == nil || int32(*b[0].Port) != port ||
		(b[0].Kind != nil && *b[0].Kind != "Service") {
		t.Errorf("HTTPRoute %s routes to %+v, want Service %s port %d", r.Name, b, service, port)
	}
}

func checkSecurityPolicy(t *testing.T, p *manifest.SecurityPolicy, app *gwapiv1.HTTPRoute, service string, port int32, headers []string) {
	t.Helper()
	if len(p.Spec.TargetRefs) != 1 || p.Spec.TargetRefs[0].Kind != "HTTPRoute" ||
		p.Spec.TargetRefs[0].Group != gwapiv1.GroupName || string(p.Spec.TargetRefs[0].Name) != app.Name {
		t.Errorf("the SecurityPolicy targets %+v, want the app's HTTPRoute %s", p.Spec.TargetRefs, app.Name)
	}
	ea := p.Spec.ExtAuth
	if ea == nil || ea.HTTP == nil {
		t.Fatal("the SecurityPolicy has no extAuth.http")
	}
	if ea.FailOpen == nil || *ea.FailOpen {
		t.Error("extAuth.failOpen is not false: an unreachable BFF would let every request through")
	}
	if !slices.Contains(ea.HeadersToExtAuth, "cookie") {
		t.Errorf("extAuth.headersToExtAuth = %v: without the cookie the BFF sees no session", ea.HeadersToExtAuth)
	}
	h := ea.HTTP
	if len(h.BackendRefs) != 1 || string(h.BackendRefs[0].Name) != service || h.BackendRefs[0].Port == nil || int32(*h.BackendRefs[0].Port) != port {
		t.Errorf("extAuth.http.backendRefs = %+v, want Service %s port %d", h.BackendRefs, service, port)
	}
	if h.Path == nil || *h.Path != "/bff/auth" {
		t.Errorf("extAuth.http.path = %v, want /bff/auth", h.Path)
	}
	for _, want := range headers {
		if !slices.Contains(h.HeadersToBackend, want) {
			t.Errorf("extAuth.http.headersToBackend = %v lacks %s", h.HeadersToBackend, want)
		}
	}
}

func checkMiddleware(t *testing.T, m *manifest.Middleware, app *gwapiv1.HTTPRoute, address string, headers []string) {
	t.Helper()
	fa := m.Spec.ForwardAuth
	if fa == nil {
		t.Fatal("the Middleware has no forwardAuth")
	}
	if fa.Address != address {
		t.Errorf("forwardAuth.address = %q, want %q", fa.Address, address)
	}
	if fa.TrustForwardHeader {
		t.Error("forwardAuth.trustForwardHeader is true: a client's X-Forwarded-Uri would reach the BFF as the proxy's")
	}
	for _, want := range headers {
		if !slices.Contains(fa.AuthResponseHeaders, want) {
			t.Errorf("forwardAuth.authResponseHeaders = %v lacks %s", fa.AuthResponseHeaders, want)
		}
	}
	f := app.Spec.Rules[0].Filters
	if len(f) != 1 || f[0].Type != gwapiv1.HTTPRouteFilterExtensionRef || f[0].ExtensionRef == nil ||
		f[0].ExtensionRef.Group != "traefik.io" || f[0].ExtensionRef.Kind != "Middleware" || string(f[0].ExtensionRef.Name) != m.Name {
		t.Errorf("the app's HTTPRoute filters = %+v, want an ExtensionRef to Middleware %s", f, m.Name)
	}
}

// No HTTPRoute of any rendering reaches the admin Service (/metrics, the probes).
func TestHTTPRoutesNeverReachTheAdminService(t *testing.T) {
	for _, r := range renderings(t) {
		for _, route := range manifest.All[gwapiv1.HTTPRoute](r.Objects) {
			for _, rule := range route.Spec.Rules {
				for _, b := range rule.BackendRefs {
					if strings.HasSuffix(string(b.Name), "-admin") {
						t.Errorf("%s: HTTPRoute %s routes to the admin Service", r.Name, route.Name)
					}
				}
			}
		}
	}
}

// The Gateway API and forward-auth refusals, each with the message a user needs.
func TestChartRefusesUnsafeGatewayValues(t *testing.T) {
	fa := []string{"--set", "config.server.forwardAuth=true", "--set", "config.server.trustedProxies={10.0.0.0/8}"}
	route := []string{"--set", "httpRoute.enabled=true", "--set", "httpRoute.parentRefs[0].name=eg"}
	with := func(parts ...[]string) []string { return slices.Concat(parts...) }
	tests := []struct {
		name    string
		args    []string
		wantMsg string
	}{
		{name: "an HTTPRoute without a Gateway", args: []string{"--set", "httpRoute.enabled=true"},
			wantMsg: "httpRoute.parentRefs is empty"},
		{name: "Envoy Gateway forward-auth without a Gateway",
			args:    with(fa, []string{"--set", "forwardAuth.envoyGateway.enabled=true", "--set", "forwardAuth.envoyGateway.backend.service.name=app"}),
			wantMsg: "httpRoute.parentRefs is empty"},
		{name: "Envoy Gateway forward-auth with forward-auth off in the BFF",
			args:    with(route, []string{"--set", "httpRoute.paths[0].type=Exact", "--set", "httpRoute.paths[0].value=/bff/login", "--set", "forwardAuth.envoyGateway.enabled=true", "--set", "forwardAuth.envoyGateway.backend.service.name=app"}),
			wantMsg: "forwardAuth.envoyGateway.enabled needs config.server.forwardAuth: true"},
		{name: "Traefik forward-auth with forward-auth off in the BFF", args: []string{"--set", "forwardAuth.traefik.enabled=true"},
			wantMsg: "forwardAuth.traefik.enabled needs config.server.forwardAuth: true"},
		{name: "Envoy Gateway forward-auth without the app to protect",
			args:    with(fa, route, []string{"--set", "httpRoute.paths[0].type=Exact", "--set", "httpRoute.paths[0].value=/bff/login", "--set", "forwardAuth.envoyGateway.enabled=true"}),
			wantMsg: "forwardAuth.envoyGateway.backend.service.name"},
		{name: "forward-auth with the whole host routed to the BFF (PathPrefix /)", args: with(fa, route),
			wantMsg: `httpRoute.paths: PathPrefix "/" routes /bff/auth`},
		{name: "forward-auth with /bff routed to the BFF", args: with(fa, route, []string{"--set", "httpRoute.paths[0].value=/bff"}),
			wantMsg: `PathPrefix "/bff" routes /bff/auth`},
		{name: "forward-auth with /bff/auth itself routed", args: with(fa, route, []string{"--set", "httpRoute.paths[0].type=Exact", "--set", "httpRoute.paths[0].value=/bff/auth"}),
			wantMsg: `Exact "/bff/auth" routes /bff/auth`},
		{name: "forward-auth with a path under /bff/auth/ routed", args: with(fa, route, []string{"--set", "httpRoute.paths[0].type=Exact", "--set", "httpRoute.paths[0].value=/bff/auth/x"}),
			wantMsg: `Exact "/bff/auth/x" routes /bff/auth`},
		{name: "forward-auth with an Ingress prefix over /bff/", args: with(fa, []string{"--set", "ingress.enabled=true", "--set", "ingress.paths[0].path=/bff/"}),
			wantMsg: `ingress.paths: Prefix "/bff/" routes /bff/auth`},
		{name: "forward-auth with an Ingress path nginx matches as it likes", args: with(fa, []string{"--set", "ingress.enabled=true", "--set", "ingress.paths[0].path=/bff/login", "--set", "ingress.paths[0].pathType=ImplementationSpecific"}),
			wantMsg: `ImplementationSpecific "/bff/login" routes /bff/auth`},
		{name: "both gateway forward-auths at once (two HTTPRoutes of one name)",
			args:    with(fa, []string{"--set", "forwardAuth.envoyGateway.enabled=true", "--set", "forwardAuth.traefik.enabled=true"}),
			wantMsg: "forwardAuth.envoyGateway and forwardAuth.traefik are both enabled"},
		{name: "a path type Gateway API does not know", args: with(route, []string{"--set", "httpRoute.paths[0].type=RegularExpression"}),
			wantMsg: "at '/httpRoute/paths/0/type': value must be one of 'PathPrefix', 'Exact'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := templateErr(t, tt.args...)
			if err == nil {
				t.Fatal("helm rendered the chart")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("helm's message %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// Paths that stay clear of /bff/auth render with forward-auth on: the refusal is not a
// blanket one.
func TestChartAcceptsForwardAuthWithExactBrowserEndpoints(t *testing.T) {
	args := []string{"--set", "config.server.forwardAuth=true", "--set", "config.server.trustedProxies={10.0.0.0/8}",
		"--set", "httpRoute.enabled=true", "--set", "httpRoute.parentRefs[0].name=eg"}
	for i, p := range append([]string{"/bffx", "/bff/authx"}, browserEndpoints...) {
		typ := "Exact"
		if i < 2 {
			typ = "PathPrefix" // element-wise prefixes that do not cover /bff/auth
		}
		args = append(args, "--set", "httpRoute.paths["+itoa(int32(i))+"].type="+typ, "--set", "httpRoute.paths["+itoa(int32(i))+"].value="+p)
	}
	own := one[gwapiv1.HTTPRoute](t, template(t, args...))
	if n := len(own.Spec.Rules[0].Matches); n != 7 {
		t.Fatalf("%d matches, want 7", n)
	}
}
