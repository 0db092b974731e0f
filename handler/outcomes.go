package handler

// The label values the handlers report to their Recorder. Package handler owns them: a
// new outcome is a constant here and an entry in its list, which the assembly hands to
// package metrics as the label's set (TestReportedOutcomesAreListed keeps the two in
// step), so no outcome is ever counted as "other".

// Login outcomes (bff_logins_total{outcome}).
const (
	LoginStarted      = "started"       // /bff/login redirected the browser to the IdP
	LoginOK           = "ok"            // the callback created a session
	LoginDenied       = "denied"        // the IdP answered error=access_denied (or the user cancelled)
	LoginBadState     = "bad_state"     // missing, expired or mismatched state / login cookie / iss
	LoginIdPError     = "idp_error"     // the IdP returned another error or the code exchange failed
	LoginInvalidToken = "invalid_token" // the ID token failed verification (signature, nonce, claims)
	LoginStoreError   = "store_error"   // the session could not be saved
	// LoginSilentNoSession: a prompt=none login found no usable IdP session (login_required
	// and the like) and went back to the app with the marker: everyday business, not an error.
	LoginSilentNoSession = "silent_no_session"
)

// LoginOutcomes lists every login outcome (a new slice on each call).
func LoginOutcomes() []string {
	return []string{LoginStarted, LoginOK, LoginDenied, LoginBadState, LoginIdPError,
		LoginInvalidToken, LoginStoreError, LoginSilentNoSession}
}

// Back-channel logout outcomes (bff_backchannel_logouts_total{outcome}).
const (
	BackchannelOK      = "ok"      // verified, sessions ended
	BackchannelInvalid = "invalid" // the logout token failed verification
	BackchannelReplay  = "replay"  // the token's jti was seen before
	BackchannelError   = "error"   // store or IdP failure while handling a valid token
)

// BackchannelOutcomes lists every back-channel logout outcome (a new slice on each call).
func BackchannelOutcomes() []string {
	return []string{BackchannelOK, BackchannelInvalid, BackchannelReplay, BackchannelError}
}

// Reasons a request's session was refused (bff_session_rejected_total{reason}). An
// expired or logged-out session (no record) is everyday business and is not counted.
const (
	RejectedCookieInvalid   = "cookie_invalid"     // the cookie does not open: forged, tampered, expired, retired key, oversized
	RejectedCookieDuplicate = "cookie_duplicate"   // two or more session cookies in one request (cookie tossing)
	RejectedRecordForged    = "record_forged"      // the stored record fails AES-GCM: tampered, or bound to another id
	RejectedRecordKey       = "record_unknown_key" // the stored record was sealed by a key no longer in the ring
	RejectedRecordMalformed = "record_malformed"   // the stored record is oversized or not in a known format
)

// RejectedReasons lists every reason a session is refused (a new slice on each call).
func RejectedReasons() []string {
	return []string{RejectedCookieInvalid, RejectedCookieDuplicate, RejectedRecordForged,
		RejectedRecordKey, RejectedRecordMalformed}
}
