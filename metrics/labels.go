package metrics

import (
	"net/http"
	"strconv"
)

// other is the label value of anything outside a label's fixed set.
const other = "other"

// Route names of the BFF's own endpoints (what handler.Observe reports), the SPA
// fallback, and the proxy's refusal of an unclean path. Configured route names are added
// with WithRoutes.
const (
	RouteLogin       = "bff_login"
	RouteCallback    = "bff_callback"
	RouteUser        = "bff_user"
	RouteLogout      = "bff_logout"
	RouteBackchannel = "bff_backchannel"
	RouteAuth        = "bff_auth"
	RouteClient      = "bff_client"   // /bff/client.js and /bff/client-config
	RouteSessions    = "bff_sessions" // /bff/sessions and /bff/sessions/{handle}
	RouteEvents      = "bff_session_events"
	RouteSPA         = "spa"
	RouteBadPath     = "bad_path"
)

// Reasons a session ended (bff_sessions_ended_total{reason}).
const (
	EndedLogout        = "logout"         // RP-initiated logout (/bff/logout)
	EndedBackchannel   = "backchannel"    // OIDC back-channel logout
	EndedInvalidGrant  = "invalid_grant"  // the refresh token was refused
	EndedExpiredStream = "expired_stream" // a live stream's session was found gone (idle/absolute expiry)
	// EndedProviderRemoved: the session's identity provider is no longer configured.
	EndedProviderRemoved = "provider_removed"
	// EndedAdmin: the admin kill-switch ended every session of a subject.
	EndedAdmin = "admin"
)

// Session store operations (bff_store_operation_duration_seconds{op},
// bff_store_errors_total{op}); see InstrumentStore for the method each one times.
const (
	OpGet        = "get"
	OpTouch      = "touch"
	OpPeek       = "peek"
	OpSave       = "save"
	OpDelete     = "delete"
	OpOnce       = "once"
	OpLoginPut   = "login_put"
	OpLoginTake  = "login_take"
	OpLock       = "lock"
	OpWaitUnlock = "wait_unlock"
	OpRenew      = "renew"
	OpRelease    = "release"
	OpPublish    = "publish"
	OpPing       = "ping"
	OpList       = "list"
)

// The sets this package owns: ended-session reasons have several producers (the
// handlers, the refresh outcome, the stream sweep), and the store operations are named
// by InstrumentStore here. Every other outcome set is its producer's, passed in with
// WithLabels.
var (
	endReasons = []string{EndedLogout, EndedBackchannel, EndedInvalidGrant, EndedExpiredStream, EndedProviderRemoved, EndedAdmin}
	storeOps   = []string{OpGet, OpPeek, OpTouch, OpSave, OpDelete, OpOnce, OpLoginPut, OpLoginTake, OpLock,
		OpWaitUnlock, OpRenew, OpRelease, OpPublish, OpPing, OpList}
	builtinRoutes = []string{RouteLogin, RouteCallback, RouteUser, RouteLogout,
		RouteBackchannel, RouteAuth, RouteEvents, RouteSPA, RouteBadPath, RouteClient, RouteSessions}
)

// labelSet is a fixed set of label values; anything else maps to "other". It is built
// once and only read afterwards, so it needs no lock.
type labelSet map[string]struct{}

func newLabelSet(values ...[]string) labelSet {
	s := labelSet{other: {}}
	for _, vs := range values {
		for _, v := range vs {
			s[v] = struct{}{}
		}
	}
	return s
}

// value returns v when it is in the set, else "other".
func (s labelSet) value(v string) string {
	if _, ok := s[v]; ok {
		return v
	}
	return other
}

// values lists the set (used to pre-create every series at zero).
func (s labelSet) values() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	return out
}

// methodLabel keeps the nine standard methods as they are and maps every other token
// (including lower-case spellings, which are different methods) to "OTHER".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// codeLabels is the label of every status code 0..599, computed once: the exact code
// when it is registered (http.StatusText knows it), the class ("4xx") for unregistered
// codes in 100..599, and "other" below 100.
//
// Exact codes, not classes: the BFF's operational signals differ within a class (401
// session_expired vs 403 csrf vs 429 rate limited; 502 vs 503 vs 504 upstream failures),
// and the registered codes are a fixed set of about sixty, of which a route sees a handful.
var codeLabels = func() (t [600]string) {
	for c := range t {
		switch {
		case c < 100:
			t[c] = other
		case http.StatusText(c) != "":
			t[c] = strconv.Itoa(c)
		default:
			t[c] = strconv.Itoa(c/100) + "xx"
		}
	}
	return t
}()

func codeLabel(code int) string {
	if code < 0 || code >= len(codeLabels) {
		return other
	}
	return codeLabels[code]
}
