// Package config holds Tokenward's typed configuration: the YAML file, the BFF_*
// environment overlay, the defaults and a validation that lists every problem at once.
//
// The struct below IS the external contract (docs/configuration.md): each field's yaml tag is the
// key path users write (`oidc.clientSecret`), and its env name is derived mechanically
// (`BFF_OIDC_CLIENT_SECRET`). docs/configuration.md documents every key; a test keeps
// the two in step.
package config

import "time"

// Config is the whole configuration of one bff process.
type Config struct {
	Server  Server  `yaml:"server"`
	OIDC    OIDC    `yaml:"oidc"`
	Session Session `yaml:"session"`
	CSRF    CSRF    `yaml:"csrf"`
	Routes  []Route `yaml:"routes"`
	SPA     SPA     `yaml:"spa"`
	Log     Log     `yaml:"log"`
	// RateLimit bounds logins per client IP.
	RateLimit RateLimit `yaml:"rateLimit"`
}

// Server configures the listeners.
type Server struct {
	// Listen is the public listener address. Default ":8080".
	Listen string `yaml:"listen"`
	// AdminListen serves /healthz, /readyz and /metrics (and, with AdminTokenFile, the
	// admin kill-switch). Default ":9090".
	AdminListen string `yaml:"adminListen"`
	// AdminTokenFile is a file holding the bearer secret (at least 32 bytes) of the
	// admin kill-switch on the admin listener (/admin/subjects/{sub}/sessions: count a
	// subject's sessions, end them all). Unset (default): those endpoints do not exist.
	// There is no inline form: the secret lives in a file, re-read when it changes.
	AdminTokenFile string `yaml:"adminTokenFile"`
	// PublicURL is the origin browsers use (scheme://host[:port]); the redirect URI is
	// PublicURL + /bff/callback. Required.
	PublicURL string `yaml:"publicURL"`
	// ShutdownTimeout bounds graceful shutdown. Default 15s.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// TrustedProxies are CIDRs whose X-Forwarded-* / X-Original-URL headers are believed
	// (forward-auth, client IP). Default: none.
	TrustedProxies []string `yaml:"trustedProxies"`
	// ForwardAuth turns on GET /bff/auth for an ingress (forward-auth). Off by default:
	// its answer carries the access token, so it answers only trustedProxies, and only
	// when an operator asked for it. Default false.
	ForwardAuth bool `yaml:"forwardAuth"`
	// ForwardAuthHeaders names the headers of forward-auth's 200 that carry the user's
	// identity for the ingress to copy upstream. Default user X-Auth-Request-User, email
	// X-Auth-Request-Email, preferredUsername none.
	ForwardAuthHeaders IdentityHeaders `yaml:"forwardAuthHeaders"`
	// MaxHeaderBytes bounds a request's head (request line and header fields, cookies
	// included) on both listeners; a longer one gets 431. Default 64 KiB.
	MaxHeaderBytes int `yaml:"maxHeaderBytes"`
	// BodyReadTimeout bounds reading the body of a /bff/* request (at most 64 KiB: a
	// back-channel logout form); a body not in by then gets 408. Default 10s.
	BodyReadTimeout time.Duration `yaml:"bodyReadTimeout"`
	// MaxEventStreams bounds the session event streams (GET /bff/session/events) one
	// replica keeps open at once; one more gets 503. Default 10000, 1 to 1000000.
	MaxEventStreams int `yaml:"maxEventStreams"`
}

// OIDC configures the relying party.
type OIDC struct {
	// Issuer is the OpenID provider's issuer URL (discovery at /.well-known/openid-configuration).
	Issuer string `yaml:"issuer"`
	// ClientID of the confidential client registered for the BFF.
	ClientID string `yaml:"clientID"`
	// ClientSecret, or ClientSecretFile to read it from (one of them is required with the
	// client_secret_* methods, and refused with private_key_jwt).
	ClientSecret     string `yaml:"clientSecret"`
	ClientSecretFile string `yaml:"clientSecretFile"`
	// ClientKey is the PEM private key (PKCS#8, PKCS#1 RSA or SEC 1 EC: RSA 2048+,
	// ECDSA P-256 or Ed25519) the BFF signs its client assertions with under
	// tokenEndpointAuth private_key_jwt; ClientKeyFile reads it from a file (one of them
	// is required then, and refused otherwise). ClientKeyID is its kid, as registered at
	// the IdP; default: the key's RFC 7638 thumbprint (what `bff keygen --client-key`
	// prints).
	ClientKey     string `yaml:"clientKey"`
	ClientKeyFile string `yaml:"clientKeyFile"`
	ClientKeyID   string `yaml:"clientKeyID"`
	// ClientCert is an optional PEM X.509 certificate of ClientKey (ClientCertFile reads
	// it from a file), as uploaded to the IdP: the client assertions then name it by its
	// thumbprints (x5t#S256, x5t), which Microsoft Entra ID's certificate credentials
	// require. It must hold ClientKey's public key and be valid now.
	ClientCert     string `yaml:"clientCert"`
	ClientCertFile string `yaml:"clientCertFile"`
	// ClientAssertionAudience is the aud of the client assertions: issuer (default, the
	// issuer identifier) or tokenEndpoint (the discovered token endpoint URL, as OIDC
	// Core §9 and Entra ID want).
	ClientAssertionAudience string `yaml:"clientAssertionAudience"`
	// Scopes requested at login. Default [openid, profile, email, offline_access].
	Scopes []string `yaml:"scopes"`
	// TokenEndpointAuth is client_secret_basic (default), client_secret_post or
	// private_key_jwt (RFC 7523: a JWT signed with ClientKey). Never auto-detected.
	TokenEndpointAuth string `yaml:"tokenEndpointAuth"`
	// RefreshSkew: refresh the access token when it expires within this, or within half
	// its lifetime when that is shorter (short-lived tokens are not refreshed on every
	// request). Default 30s.
	RefreshSkew time.Duration `yaml:"refreshSkew"`
	// ForcedRefreshCooldown: after an upstream answers 401, the BFF refreshes the token and
	// retries at most once per this long per session; within it the 401 is passed on as it
	// is. An upstream rejecting every token then costs the IdP one grant per session per
	// cooldown, not one per API call. Default 30s.
	ForcedRefreshCooldown time.Duration `yaml:"forcedRefreshCooldown"`
	// PostLogoutRedirect is the path (same origin) the IdP sends the browser to after
	// logout. Default "/".
	PostLogoutRedirect string `yaml:"postLogoutRedirect"`
	// AuthParams lists the query parameters of /bff/login passed through to the authorize
	// request. Default [prompt, login_hint, acr_values, ui_locales]; others are ignored.
	AuthParams []string `yaml:"authParams"`
	// HTTPTimeout bounds each request to the IdP. Default 10s.
	HTTPTimeout time.Duration `yaml:"httpTimeout"`
	// MaxTokenAge is the oldest iat accepted on an ID token (at login and at refresh) and
	// on a back-channel logout token, beyond the 60 s clock-skew allowance: older ones are
	// replays. Default 5m; at most 24h (a logout token's jti is remembered that long).
	MaxTokenAge time.Duration `yaml:"maxTokenAge"`
	// AllowInsecureIssuer permits an http:// issuer (loopback demos and tests only).
	AllowInsecureIssuer bool `yaml:"allowInsecureIssuer"`
	// PushedAuthorization sends the authorization request to the IdP's PAR endpoint
	// (RFC 9126) first, so its parameters never travel through the browser. Used anyway
	// when the IdP requires it. Default false.
	PushedAuthorization bool `yaml:"pushedAuthorization"`
	// DPoP binds the session's tokens to a key pair the BFF makes per session (RFC 9449):
	// token requests and upstream calls carry proofs of it, and the IdP must issue
	// token_type DPoP. Default false.
	DPoP bool `yaml:"dpop"`
	// DPoPAlgorithm signs the DPoP proofs: ES256 (default) or EdDSA. The IdP must accept
	// it (its dpop_signing_alg_values_supported). RS256 is refused: a key is made at each
	// login, and an RSA key's CPU cost is one an anonymous visitor would control.
	DPoPAlgorithm string `yaml:"dpopAlgorithm"`
	// UserInfo fetches the IdP's UserInfo endpoint (OIDC Core §5.3) with the new access
	// token after the login and after every refresh, and lays its claims over the ID
	// token's in the session (what /bff/user shows). A failed or mismatched answer never
	// fails the login or the refresh: the claims stay as they were. The discovery document
	// must name a userinfo_endpoint. Not with dpop. Default false.
	UserInfo bool `yaml:"userInfo"`
	// Providers, when set, configures several OpenID providers at once (see
	// docs/configuration.md, "Several providers"): each entry names one registration;
	// the keys it leaves unset are inherited from this block. Without it this block is
	// the one provider (its sessions carry no provider name).
	Providers []Provider `yaml:"providers"`
	// DefaultProvider names the provider /bff/login uses without ?idp=, and the one
	// sessions made before the list existed belong to. Default: the first of Providers.
	DefaultProvider string `yaml:"defaultProvider"`
}

// Provider is one entry of oidc.providers: a name and the registration-specific keys of
// the oidc block. A key left unset (empty, or absent for the booleans) is inherited from
// the oidc block; the client credential (clientSecret, clientKey, clientKeyID,
// clientCert and their files) is inherited as a whole, only when the entry sets none of
// it. The shared keys (refreshSkew, forcedRefreshCooldown, httpTimeout, maxTokenAge,
// postLogoutRedirect) are set once, in the oidc block.
type Provider struct {
	// Name is how /bff/login?idp=, the back-channel logout's ?idp=, /bff/user, /readyz
	// and the metrics name it: 1-32 lowercase letters, digits and '-'; unique. Required.
	Name                    string   `yaml:"name"`
	Issuer                  string   `yaml:"issuer"`
	ClientID                string   `yaml:"clientID"`
	ClientSecret            string   `yaml:"clientSecret"`
	ClientSecretFile        string   `yaml:"clientSecretFile"`
	ClientKey               string   `yaml:"clientKey"`
	ClientKeyFile           string   `yaml:"clientKeyFile"`
	ClientKeyID             string   `yaml:"clientKeyID"`
	ClientCert              string   `yaml:"clientCert"`
	ClientCertFile          string   `yaml:"clientCertFile"`
	ClientAssertionAudience string   `yaml:"clientAssertionAudience"`
	Scopes                  []string `yaml:"scopes"`
	TokenEndpointAuth       string   `yaml:"tokenEndpointAuth"`
	AuthParams              []string `yaml:"authParams"`
	AllowInsecureIssuer     *bool    `yaml:"allowInsecureIssuer"`
	PushedAuthorization     *bool    `yaml:"pushedAuthorization"`
	DPoP                    *bool    `yaml:"dpop"`
	DPoPAlgorithm           string   `yaml:"dpopAlgorithm"`
	UserInfo                *bool    `yaml:"userInfo"`
}

// Session configures the session store and the cookies.
type Session struct {
	// Store is "redis" or "" / "embedded" (miniredis in process: not shared, lost on restart).
	Store string `yaml:"store"`
	// RedisURL: redis://, rediss:// or unix:// (one node), redis+sentinel:// (or
	// ?master_name=…) for Sentinel, redis+cluster:// (or ?addr=…) for Cluster; see
	// docs/configuration.md. A secret (it may hold a password): RedisURLFile reads it
	// from a file instead.
	RedisURL     string `yaml:"redisURL"`
	RedisURLFile string `yaml:"redisURLFile"`
	// IdleTimeout ends a session unused this long. Default 30m.
	IdleTimeout time.Duration `yaml:"idleTimeout"`
	// AbsoluteTimeout ends a session this long after login, used or not. Default 12h.
	AbsoluteTimeout time.Duration `yaml:"absoluteTimeout"`
	// Keys are base64 32-byte keys, newest first: the first seals, all open. Required,
	// from Keys or KeysFile (one key per line, blank lines and # comments ignored).
	Keys     []string `yaml:"keys"`
	KeysFile string   `yaml:"keysFile"`
	// CookieName of the session cookie. Default "__Host-bff".
	CookieName string `yaml:"cookieName"`
	// SameSite of the session cookie: strict (default) or lax.
	SameSite string `yaml:"sameSite"`
	// LoginTimeout bounds a login in progress (its pending login in the store and the
	// login cookie that holds its handle). Default 10m.
	LoginTimeout time.Duration `yaml:"loginTimeout"`
	// CacheTTL keeps a session read in this replica's memory that long, so a burst of API
	// calls costs one store round trip per TTL. Ends are exact (evicted here and, through
	// the store's announcement, on every replica); a lost announcement leaves an ended
	// session usable here for at most CacheTTL. Default 1s; 0 turns it off; at most 10s.
	CacheTTL time.Duration `yaml:"cacheTTL"`
	// CoherentCacheTTL is how long a replica keeps a session read while its subscription
	// to the store's announcements is live and heard its last probe (session.Cached):
	// every end and refresh then evicts the copy at once; a lost subscription falls back
	// to CacheTTL and drops everything when it comes back. Hits slide the store's idle
	// expiry behind the request (a touch per quarter idle timeout). Default 5m; 0 (or
	// anything <= CacheTTL) off; at most 1h. No effect when CacheTTL is 0.
	CoherentCacheTTL time.Duration `yaml:"coherentCacheTTL"`
	// CacheMaxEntries bounds the sessions one replica caches (about 3 KB each with
	// 2.1 KB of tokens: the record with its tokens). Default 50000.
	CacheMaxEntries int `yaml:"cacheMaxEntries"`
	// MaxPendingLogins caps the logins in progress one browser may have at once (handles
	// in its login cookie; the oldest is dropped). Default 5.
	MaxPendingLogins int `yaml:"maxPendingLogins"`
	// ExpiryWarning is how long before a session's idle or absolute expiry its event
	// streams get an `expiring` event. Default 2m; 0 sends none.
	ExpiryWarning time.Duration `yaml:"expiryWarning"`
	// RecordFormat is how session records are written: "json" (default; every release
	// reads it) or "compact" (binary, cheaper to read and smaller; releases before this one
	// cannot read it). Both are always read. See docs/operations.md, "Record format".
	RecordFormat string `yaml:"recordFormat"`
}

// CSRF configures the anti-forgery header check.
type CSRF struct {
	// HeaderName the SPA must send on API and JSON /bff/* calls. Default "X-CSRF".
	HeaderName string `yaml:"headerName"`
}

// Route maps a path prefix to an upstream API.
type Route struct {
	// Name labels metrics and logs. Default: the path.
	Name string `yaml:"name"`
	// Path prefix, starting and ending with "/", e.g. "/api/".
	Path string `yaml:"path"`
	// Upstream base URL (http or https).
	Upstream string `yaml:"upstream"`
	// StripPrefix removed from the path before proxying, e.g. "/api".
	StripPrefix string `yaml:"stripPrefix"`
	// Auth is required (default), optional or none.
	Auth string `yaml:"auth"`
	// Timeout for the upstream's response headers, counted from the moment the request,
	// its body included, has been sent; neither a slow upload nor a long response body
	// (a stream) counts against it. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// UploadIdleTimeout bounds each pause in a request body: no byte from the client for
	// that long gets 408, no byte taken by the upstream 504, and the upstream sees the
	// request aborted. Default 30s.
	UploadIdleTimeout time.Duration `yaml:"uploadIdleTimeout"`
	// Methods allowed; empty means all.
	Methods []string `yaml:"methods"`
	// RetryOn401 allows one forced refresh and one retry when the upstream answers 401
	// to a replayable request. Default true.
	RetryOn401 *bool `yaml:"retryOn401"`
	// MaxRequestBody bounds the request body in bytes, enforced while it streams: more
	// gets 413 and the upstream sees an aborted request. Default 10 MiB; 0 means no bound.
	MaxRequestBody *int `yaml:"maxRequestBody"`
	// AllowInsecureUpstream permits a plain http:// upstream on a non-loopback host,
	// where the bearer would cross the network in clear text. Default false.
	AllowInsecureUpstream bool `yaml:"allowInsecureUpstream"`
	// PassEncodedSlashes routes paths holding an encoded slash (%2F) and passes them to
	// the upstream unchanged (GitLab's /projects/group%2Fproject, object-store keys);
	// "..", "//" and "\\" stay refused in the decoded path, "%5C" in the escaped one.
	// Default false: an encoded slash gets 400.
	PassEncodedSlashes bool `yaml:"passEncodedSlashes"`
	// IdentityHeaders sends the user's identity to the upstream in these headers (with a
	// session only); a client's own headers of these names are always dropped. Default:
	// none.
	IdentityHeaders IdentityHeaders `yaml:"identityHeaders"`
	// Resource, when set, gives the route an access token of its own for this resource
	// (RFC 8707: an absolute URI without fragment), obtained with the refresh token.
	Resource string `yaml:"resource"`
	// Scopes asked for the resource's token; empty: the provider's default. Only with
	// Resource.
	Scopes []string `yaml:"scopes"`
	// TokenExchange, when set, gives the route a token exchanged (RFC 8693) for the
	// session's access token. Not with Resource.
	TokenExchange TokenExchange `yaml:"tokenExchange"`
}

// TokenExchange is a route's RFC 8693 token exchange request; unset when all are "".
type TokenExchange struct {
	// Audience asked for (the downstream service's name at the provider).
	Audience string `yaml:"audience"`
	// Scope asked for, space-separated; "": the provider's default.
	Scope string `yaml:"scope"`
	// Resource asked for (an absolute URI without fragment).
	Resource string `yaml:"resource"`
}

// IsSet reports whether the route asks for a token exchange.
func (x TokenExchange) IsSet() bool { return x != TokenExchange{} }

// SPA configures what serves everything that is not /bff/* or a route.
type SPA struct {
	// Dir is a static directory with index.html (fallback for unknown paths).
	Dir string `yaml:"dir"`
	// Upstream is a dev server (e.g. Vite) to proxy instead of Dir.
	Upstream string `yaml:"upstream"`
}

// RateLimit bounds how often one client IP may start logins and complete callbacks
// (/bff/login, /bff/callback): each costs the IdP work and a pending login in the store. The client IP is
// the peer's address, or the X-Forwarded-For entry a trusted proxy
// (server.trustedProxies) vouches for.
type RateLimit struct {
	// PerMinute is the sustained rate per client IP, shared by all replicas (the budgets
	// live in the session store). Default 300 (an office of hundreds behind one NAT
	// signing in at 9 a.m., see docs/operations.md); 0 turns the limit off.
	PerMinute int `yaml:"perMinute"`
	// Burst is how many requests one client IP may make at once. Default 150.
	Burst int `yaml:"burst"`
}

// Log configures logging.
type Log struct {
	// Format is json (default) or text.
	Format string `yaml:"format"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
}
