package config

import (
	"slices"
	"testing"
)

func TestEnvName(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string
	}{
		{name: "camel case", path: "oidc.clientSecret", want: "BFF_OIDC_CLIENT_SECRET"},
		{name: "trailing acronym", path: "server.publicURL", want: "BFF_SERVER_PUBLIC_URL"},
		{name: "acronym ID", path: "oidc.clientID", want: "BFF_OIDC_CLIENT_ID"},
		{name: "acronym inside", path: "session.redisURLFile", want: "BFF_SESSION_REDIS_URL_FILE"},
		{name: "leading acronym", path: "oidc.httpTimeout", want: "BFF_OIDC_HTTP_TIMEOUT"},
		{name: "upper-case leading acronym", path: "oidc.HTTPTimeout", want: "BFF_OIDC_HTTP_TIMEOUT"},
		{name: "one word", path: "routes", want: "BFF_ROUTES"},
		{name: "digits stay with their word", path: "routes.retryOn401", want: "BFF_ROUTES_RETRY_ON401"},
		{name: "three words", path: "oidc.allowInsecureIssuer", want: "BFF_OIDC_ALLOW_INSECURE_ISSUER"},
		{name: "section only", path: "csrf", want: "BFF_CSRF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EnvName(tt.path); got != tt.want {
				t.Errorf("EnvName(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// Two keys sharing a variable would make one of them impossible to set from env.
func TestEnvNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, l := range leaves() {
		if other, dup := seen[l.Env]; dup {
			t.Errorf("%s and %s both map to %s", other, l.Path, l.Env)
		}
		seen[l.Env] = l.Path
	}
}

func TestLeavesFollowYAMLTags(t *testing.T) {
	var paths []string
	for _, l := range leaves() {
		paths = append(paths, l.Path)
	}
	for _, want := range []string{
		"server.publicURL", "server.trustedProxies", "oidc.clientSecretFile",
		"oidc.allowInsecureIssuer", "session.keys", "session.maxPendingLogins",
		"csrf.headerName", "routes", "spa.upstream", "log.level",
	} {
		if !slices.Contains(paths, want) {
			t.Errorf("leaves() lacks %s; got %v", want, paths)
		}
	}
	if slices.Contains(paths, "routes.path") {
		t.Error("route fields must not be separate leaves: routes is set as a whole")
	}
}
