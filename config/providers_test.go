package config

import (
	"errors"
	"strings"
	"testing"
)

// providersExample returns the YAML example of docs/configuration.md's "Several
// providers" section.
func providersExample(t *testing.T) string {
	t.Helper()
	return docYAMLBlock(t, "### Several providers")
}

// docYAMLBlock returns the first yaml block after heading in the configuration reference.
func docYAMLBlock(t *testing.T, heading string) string {
	t.Helper()
	_, doc := docRows(t)
	_, after, ok := strings.Cut(doc, heading)
	if !ok {
		t.Fatalf("no %s in the docs", heading)
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatalf("no yaml block after %s", heading)
	}
	return block
}

// loadProviders loads yaml over a valid base configuration (server, session) with the
// secret files named in it made real.
func loadProviders(t *testing.T, yaml string, env ...string) (Config, error) {
	t.Helper()
	for _, f := range []string{"/run/secrets/staff-client-secret", "/run/secrets/partner-client-secret"} {
		yaml = strings.ReplaceAll(yaml, f, writeFile(t, "secret", "secret-of-"+f+"\n"))
	}
	base := "server:\n  publicURL: https://app.example.com\nsession:\n  keys: [" + testKey1 + "]\n"
	c, err := Load(Source{File: writeFile(t, "bff.yaml", base+yaml), Env: env})
	if err != nil {
		return c, err
	}
	return c, Validate(c)
}

func TestProvidersExampleLoadsAndInherits(t *testing.T) {
	c, err := loadProviders(t, providersExample(t))
	if err != nil {
		t.Fatalf("the documented example does not validate: %v", err)
	}
	idps := c.OIDC.IdPs()
	if len(idps) != 2 || idps[0].Name != "staff" || idps[1].Name != "partner" || c.OIDC.DefaultIdP() != "staff" {
		t.Fatalf("providers %+v, default %q", idps, c.OIDC.DefaultIdP())
	}
	staff, partner := idps[0].OIDC, idps[1].OIDC
	if staff.ClientSecret != "secret-of-/run/secrets/staff-client-secret" || partner.ClientSecret != "secret-of-/run/secrets/partner-client-secret" {
		t.Error("each provider's secret file is read into its own entry")
	}
	if staff.HTTPTimeout != c.OIDC.HTTPTimeout || partner.MaxTokenAge != c.OIDC.MaxTokenAge {
		t.Error("shared keys are inherited")
	}
	if strings.Join(staff.Scopes, " ") != "openid profile email offline_access" || strings.Join(partner.Scopes, " ") != "openid email offline_access" {
		t.Errorf("scopes: staff %v (inherited), partner %v (its own)", staff.Scopes, partner.Scopes)
	}
	if staff.PushedAuthorization || !partner.PushedAuthorization {
		t.Error("pushedAuthorization: only partner's")
	}
	if staff.TokenEndpointAuth != "client_secret_basic" {
		t.Error("an unset tokenEndpointAuth inherits the block's default")
	}
}

func TestShorthandIsOneUnnamedProvider(t *testing.T) {
	c, err := loadProviders(t, "oidc:\n  issuer: https://idp.example.com\n  clientID: bff\n  clientSecret: s\n")
	if err != nil {
		t.Fatal(err)
	}
	idps := c.OIDC.IdPs()
	if len(idps) != 1 || idps[0].Name != "" || idps[0].OIDC.Issuer != "https://idp.example.com" || c.OIDC.DefaultIdP() != "" {
		t.Fatalf("shorthand: %+v default %q", idps, c.OIDC.DefaultIdP())
	}
}

func TestProvidersValidationNamesProviderAndKey(t *testing.T) {
	yaml := `oidc:
  clientSecret: shared
  defaultProvider: nope
  providers:
    - name: a
      issuer: https://a.example.com
      clientID: bff
    - name: A:b
      issuer: https://b.example.com
      clientID: bff
    - name: a
      issuer: https://a.example.com
    - name: d
      issuer: https://d.example.com
      clientID: bff
      tokenEndpointAuth: private_key_jwt
`
	_, err := loadProviders(t, yaml)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	want := map[string]string{
		"oidc.providers[1].name":      `"A:b" must be`,
		"oidc.providers[2].name":      `"a" is also the name of oidc.providers[0]`,
		"oidc.providers[2].clientID":  `provider "a": is required`,
		"oidc.providers[2].issuer":    `provider "a": the issuer of provider "a" too`,
		"oidc.providers[3].clientKey": `provider "d": is required`,
		"oidc.defaultProvider":        `"nope" names no provider`,
	}
	for path, msg := range want {
		found := false
		for _, p := range ve.Problems {
			found = found || p.Path == path && strings.Contains(p.Message, msg)
		}
		if !found {
			t.Errorf("no problem %s: %s… in\n%v", path, msg, ve)
		}
	}
	if strings.Contains(ve.Error(), "shared") {
		t.Error("a secret reached the problems")
	}
}

func TestProvidersFromEnv(t *testing.T) {
	c, err := loadProviders(t, "oidc:\n  clientSecret: s\n",
		`BFF_OIDC_PROVIDERS=[{name: x, issuer: "https://x.example.com", clientID: bff}, {name: y, issuer: "https://y.example.com", clientID: bff2}]`,
		"BFF_OIDC_DEFAULT_PROVIDER=y")
	if err != nil {
		t.Fatal(err)
	}
	if names := c.OIDC.ProviderNames(); strings.Join(names, ",") != "x,y" || c.OIDC.DefaultIdP() != "y" {
		t.Fatalf("names %v default %q", names, c.OIDC.DefaultIdP())
	}
}

func TestDefaultProviderWithoutProvidersRefused(t *testing.T) {
	_, err := loadProviders(t, "oidc:\n  issuer: https://idp.example.com\n  clientID: bff\n  clientSecret: s\n  defaultProvider: a\n")
	if err == nil || !strings.Contains(err.Error(), "oidc.defaultProvider") {
		t.Fatalf("want oidc.defaultProvider refused, got %v", err)
	}
}

func TestProviderSecretsAreSecret(t *testing.T) {
	if !isSecretPath("oidc.providers[3].clientSecret") || !isSecretPath("oidc.providers[0].clientKey") || isSecretPath("oidc.providers[0].issuer") || !isSecretPath("session.keys[1]") {
		t.Error("isSecretPath")
	}
}
