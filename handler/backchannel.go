package handler

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/session"
)

// maxReplayTTL caps how long a logout token's jti is remembered.
const maxReplayTTL = 24 * time.Hour

// maxLogoutBody bounds a back-channel logout request (a form with one JWT).
const maxLogoutBody = 64 << 10

// backchannel implements OIDC Back-Channel Logout 1.0 (POST /bff/backchannel-logout): the
// IdP posts a logout_token; a valid, never-seen one ends every session of its sid (or, with
// no sid, of its sub) on every replica, since they all share the store.
func (h *Handlers) backchannel(c echo.Context) error {
	outcome, err := h.backchannelLogout(c)
	h.d.Metrics.BackchannelLogout(outcome)
	return err
}

// backchannelLogout is the endpoint's work; it names its outcome for the metrics.
func (h *Handlers) backchannelLogout(c echo.Context) (string, error) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		return metrics.BackchannelInvalid, problem.New(http.StatusBadRequest, problem.BadRequest, "a form with a logout_token is required", err)
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		return metrics.BackchannelInvalid, problem.New(http.StatusBadRequest, problem.BadRequest, "logout_token is required", nil)
	}
	lt, err := h.d.IdP.VerifyLogoutToken(r.Context(), raw)
	if errors.Is(err, idp.ErrUnavailable) {
		// The IdP's keys could not be fetched: let it retry rather than drop the logout.
		return metrics.BackchannelError, problem.New(http.StatusServiceUnavailable, problem.IdPUnavailable, "cannot verify the logout_token now", err)
	}
	if err != nil {
		return metrics.BackchannelInvalid, problem.New(http.StatusBadRequest, problem.BadRequest, "invalid logout_token", err)
	}
	// Remember the jti while the token could still be accepted (its exp, capped: exp is
	// the IdP's word and must not pin a key in the store for ever).
	ttl := h.cfg.BackchannelReplayTTL
	if d := lt.Expiry.Sub(h.d.Now()); d > ttl && d < maxReplayTTL {
		ttl = d
	} else if d >= maxReplayTTL {
		ttl = maxReplayTTL
	}
	fresh, err := h.d.Store.Once(r.Context(), "jti:"+session.IDHash(lt.JTI), ttl+time.Minute)
	if err != nil {
		return metrics.BackchannelError, storeProblem(err)
	}
	if !fresh {
		return metrics.BackchannelReplay, problem.New(http.StatusBadRequest, problem.BadRequest, "logout_token replayed", errors.New("jti seen before"))
	}
	var ended []string
	if lt.SID != "" {
		ended, err = h.d.Store.DeleteBySID(r.Context(), lt.SID)
	} else {
		ended, err = h.d.Store.DeleteBySubject(r.Context(), lt.Subject)
	}
	if err != nil {
		return metrics.BackchannelError, storeProblem(err)
	}
	h.d.Metrics.SessionEnded(metrics.EndedBackchannel, len(ended))
	h.d.OnEnd(ended)
	h.d.Logger.Info("back-channel logout", "sessions", len(ended))
	return metrics.BackchannelOK, c.NoContent(http.StatusOK)
}
