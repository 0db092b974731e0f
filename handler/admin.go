package handler

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tokenward/bff/idp"
)

// readiness is the body of /readyz.
type readiness struct {
	Ready bool   `json:"ready"`
	Store string `json:"store"`
	// IdP is the (default) provider's state; IdPs every named provider's, with
	// oidc.providers. Only the default one's counts for Ready: a secondary provider that
	// is down must not take every replica out of service.
	IdP  string            `json:"idp"`
	IdPs map[string]string `json:"idps,omitempty"`
}

// Health answers /healthz: the process is alive.
func Health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// Ready answers /readyz: 200 only when the store answers a ping and discovery is done.
// draining, when set and true, makes it answer 503 (graceful shutdown).
func (h *Handlers) Ready(draining func() bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		st := readiness{Ready: true, Store: "ok", IdP: "ok"}
		if err := h.d.Store.Ping(ctx); err != nil {
			st.Ready, st.Store = false, "unreachable"
		}
		if err := h.d.IdP.Ready(); err != nil {
			st.Ready, st.IdP = false, idpReadiness(err)
		}
		if h.names != nil {
			st.IdPs = make(map[string]string, len(h.names))
			for _, name := range h.names {
				st.IdPs[name] = "ok"
				if err := h.idps[name].Ready(); err != nil {
					st.IdPs[name] = idpReadiness(err)
				}
			}
		}
		if draining != nil && draining() {
			st.Ready = false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !st.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = jsonEncode(w, st)
	}
}

// idpReadiness says why the IdP is not ready. A misconfiguration (wrong oidc.issuer)
// says so, with the reason, which names the setting and holds no secret: a probe's
// reader must not wait for an IdP that is up but does not match the configuration.
func idpReadiness(err error) string {
	if errors.Is(err, idp.ErrMisconfigured) {
		return "misconfigured: " + err.Error()
	}
	return "discovery pending"
}

func jsonEncode(w http.ResponseWriter, v any) error {
	return json.NewEncoder(w).Encode(v)
}
