package config

import (
	"fmt"
	"slices"
	"strings"
)

// maxProviderName bounds a provider's name (it is a metric label value and part of the
// store's index keys).
const maxProviderName = 32

// maxProviders bounds oidc.providers: each one discovers, holds a key set and is a
// metric label value.
const maxProviders = 32

// NamedOIDC is one provider's effective settings: its name ("" for the oidc block
// without providers) and the oidc block with its entry's keys applied.
type NamedOIDC struct {
	Name string
	OIDC OIDC
}

// IdPs returns the configured providers in order, each with its inherited keys filled
// in (Providers and DefaultProvider cleared). Without oidc.providers it is the oidc block
// itself, named "".
func (o OIDC) IdPs() []NamedOIDC {
	if len(o.Providers) == 0 {
		base := o
		base.Providers, base.DefaultProvider = nil, ""
		return []NamedOIDC{{OIDC: base}}
	}
	out := make([]NamedOIDC, len(o.Providers))
	for i, p := range o.Providers {
		out[i] = NamedOIDC{Name: p.Name, OIDC: o.inherit(p)}
	}
	return out
}

// DefaultIdP names the provider /bff/login uses without ?idp=: DefaultProvider, else the
// first of Providers, else "" (the oidc block without providers).
func (o OIDC) DefaultIdP() string {
	if o.DefaultProvider != "" || len(o.Providers) == 0 {
		return o.DefaultProvider
	}
	return o.Providers[0].Name
}

// inherit returns the oidc block with p's set keys in place of its own.
func (o OIDC) inherit(p Provider) OIDC {
	r := o
	r.Providers, r.DefaultProvider = nil, ""
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	list := func(dst *[]string, v []string) {
		if v != nil {
			*dst = slices.Clone(v)
		}
	}
	flag := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	str(&r.Issuer, p.Issuer)
	str(&r.ClientID, p.ClientID)
	if p.hasCredential() {
		r.ClientSecret, r.ClientSecretFile = p.ClientSecret, p.ClientSecretFile
		r.ClientKey, r.ClientKeyFile, r.ClientKeyID = p.ClientKey, p.ClientKeyFile, p.ClientKeyID
		r.ClientCert, r.ClientCertFile = p.ClientCert, p.ClientCertFile
	}
	str(&r.ClientAssertionAudience, p.ClientAssertionAudience)
	list(&r.Scopes, p.Scopes)
	str(&r.TokenEndpointAuth, p.TokenEndpointAuth)
	list(&r.AuthParams, p.AuthParams)
	flag(&r.AllowInsecureIssuer, p.AllowInsecureIssuer)
	flag(&r.PushedAuthorization, p.PushedAuthorization)
	flag(&r.DPoP, p.DPoP)
	str(&r.DPoPAlgorithm, p.DPoPAlgorithm)
	flag(&r.UserInfo, p.UserInfo)
	return r
}

// hasCredential reports whether the entry sets any part of the client credential (then
// none of the oidc block's is inherited).
func (p Provider) hasCredential() bool {
	return p.ClientSecret != "" || p.ClientSecretFile != "" || p.ClientKey != "" || p.ClientKeyFile != "" ||
		p.ClientKeyID != "" || p.ClientCert != "" || p.ClientCertFile != ""
}

// ValidProviderName reports whether name may name a provider: 1-32 lowercase letters,
// digits and '-' (so never ':', which separates it from sub and sid in the store's
// index keys).
func ValidProviderName(name string) bool {
	if name == "" || len(name) > maxProviderName {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validateOIDCBlock checks the oidc block: as one provider without oidc.providers, else
// the shared keys once and every provider with its inherited keys, each problem under
// the provider's own path and naming the provider.
func validateOIDCBlock(o OIDC, ps *problems) {
	if len(o.Providers) == 0 {
		validateOIDC(o, ps)
		if o.DefaultProvider != "" {
			ps.add("oidc.defaultProvider", "is set but oidc.providers is empty: name one of the providers, or remove it")
		}
		return
	}
	validateSharedOIDC(o, ps)
	if len(o.Providers) > maxProviders {
		ps.add("oidc.providers", "at most %d providers", maxProviders)
	}
	names := map[string]int{}
	issuers := map[string]string{}
	for i, p := range o.Providers {
		path := indexPath("oidc.providers", i)
		switch {
		case !ValidProviderName(p.Name):
			ps.add(path+".name", "%q must be 1-%d lowercase letters, digits or '-'", p.Name, maxProviderName)
		case names[p.Name] > 0:
			ps.add(path+".name", "%q is also the name of oidc.providers[%d]: names must be unique", p.Name, names[p.Name]-1)
		default:
			names[p.Name] = i + 1
		}
		r := o.inherit(p)
		var sub problems
		validateRegistration(r, &sub)
		for _, q := range sub {
			ps.add(path+strings.TrimPrefix(q.Path, "oidc"), "provider %q: %s", p.Name, q.Message)
		}
		if other, dup := issuers[r.Issuer]; dup && r.Issuer != "" {
			ps.add(path+".issuer", "provider %q: the issuer of provider %q too: each provider needs its own issuer "+
				"(logout tokens and RFC 9207's iss are matched to a provider by it)", p.Name, other)
		} else {
			issuers[r.Issuer] = p.Name
		}
	}
	if d := o.DefaultProvider; d != "" && names[d] == 0 {
		ps.add("oidc.defaultProvider", "%q names no provider of oidc.providers", d)
	}
}

// ProviderNames lists the names of oidc.providers (nil without them).
func (o OIDC) ProviderNames() []string {
	var names []string
	for _, p := range o.Providers {
		names = append(names, p.Name)
	}
	return names
}

// providerPath names key of provider i in a Problem.
func providerPath(i int, key string) string {
	return fmt.Sprintf("oidc.providers[%d].%s", i, key)
}
