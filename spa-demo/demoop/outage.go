package demoop

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// SetTokenEndpointStatus simulates a token endpoint outage: while status is not 0, every
// token request (code and refresh grants) is answered with status and an OAuth error body,
// before the request is read, so no code or refresh token is consumed. 0 restores normal
// service. status MUST be 0 or 400–599; anything else panics (a bug in the test).
func (o *OP) SetTokenEndpointStatus(status int) {
	if status != 0 && (status < 400 || status > 599) {
		panic(fmt.Sprintf("demoop: SetTokenEndpointStatus(%d): want 0 or 400-599", status))
	}
	o.tokenStatus.Store(int32(status))
}

// serveToken adds what RFC 6749 section 5.1 requires and the library omits (no-store),
// and the simulated outage.
func (o *OP) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	status := int(o.tokenStatus.Load())
	if status == 0 {
		o.provider.ServeHTTP(w, r)
		return
	}
	o.stats.outageAnswers.Add(1)
	code := "invalid_request"
	if status >= 500 || status == http.StatusTooManyRequests {
		code = "temporarily_unavailable"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"error": code, "error_description": "token endpoint outage simulated by demoop",
	})
}
