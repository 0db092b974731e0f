package metrics

import "github.com/prometheus/client_golang/prometheus"

// DefaultProvider is the provider label of the one provider configured without
// oidc.providers (its name is "").
const DefaultProvider = "default"

// Grants of bff_idp_token_requests_total{grant}.
const (
	GrantCode    = "authorization_code" // the login's code exchange
	GrantRefresh = "refresh_token"      // a session's refresh
)

// Outcomes of bff_idp_token_requests_total{outcome}.
const (
	TokenOK = "ok"
	// TokenRefused: the provider refused the grant (invalid_grant) or answered a token
	// that failed a check: the login fails, the session ends.
	TokenRefused = "refused"
	// TokenError: no usable answer (network, timeout, 5xx, a refused client).
	TokenError = "error"
)

var (
	grants        = []string{GrantCode, GrantRefresh}
	tokenOutcomes = []string{TokenOK, TokenRefused, TokenError}
)

// WithProviders adds the configured provider names (oidc.providers) to the provider
// label's set; DefaultProvider is always in it. Any other value counts as "other", so
// the label's cardinality is the configuration's.
func WithProviders(names ...string) Option {
	return func(o *options) { o.providers = append(o.providers, names...) }
}

func (m *Metrics) newIdPInstruments() {
	m.tokenRequests = m.counterVec("bff_idp_token_requests_total",
		"Requests to an identity provider's token endpoint for a login or a refresh, by provider, grant and outcome.",
		"provider", "grant", "outcome")
	m.userInfo = m.counterVec("bff_userinfo_total",
		"UserInfo fetches after a login or a refresh (oidc.userInfo), by provider and outcome.", "provider", "outcome")
	for _, p := range m.providerSet.values() {
		for _, g := range grants {
			for _, o := range tokenOutcomes {
				m.tokenRequests.WithLabelValues(p, g, o)
			}
		}
		for _, o := range m.userInfoSet.values() {
			m.userInfo.WithLabelValues(p, o)
		}
	}
}

// provider is the label value of a provider name: "" is DefaultProvider, a name outside
// the configured set "other".
func (m *Metrics) provider(name string) string {
	if name == "" {
		return DefaultProvider
	}
	return m.providerSet.value(name)
}

// TokenRequest counts one token endpoint request of provider (its configured name, ""
// without oidc.providers) for grant (Grant*) that ended as outcome (Token*).
func (m *Metrics) TokenRequest(provider, grant, outcome string) {
	if m == nil {
		return
	}
	m.tokenRequests.WithLabelValues(m.provider(provider), m.grantSet.value(grant), m.tokenOutcomeSet.value(outcome)).Inc()
}

// UserInfo counts a UserInfo fetch of provider that ended as outcome (one of
// Labels.UserInfo).
func (m *Metrics) UserInfo(provider, outcome string) {
	if m == nil {
		return
	}
	m.userInfo.WithLabelValues(m.provider(provider), m.userInfoSet.value(outcome)).Inc()
}

// SetProviderReady adds bff_idp_ready{provider}: 1 while ready (discovery done) says nil,
// else 0, read at each scrape. ready MUST be cheap (idp.Provider.Ready is an atomic load).
func (m *Metrics) SetProviderReady(provider string, ready func() error) {
	if m == nil || ready == nil {
		return
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "bff_idp_ready",
		Help:        "1 when the identity provider's discovery succeeded (it can serve logins and refreshes), else 0.",
		ConstLabels: prometheus.Labels{"provider": m.provider(provider)},
	}, func() float64 {
		if ready() == nil {
			return 1
		}
		return 0
	})
	if err := m.reg.Register(g); err != nil {
		return // the same provider twice: its first gauge stays
	}
	m.own(g)
}
