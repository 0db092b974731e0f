package handler

import (
	"context"
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
// IdP posts a logout_token; a valid, never-seen one ends, on every replica (they all share
// the store), every session of its sid and sub when it names both (§2.4: both must
// match), of its sid alone, or of its sub alone. It answers 200 even when no session
// matched (§2.8: the RP's state is "logged out" either way).
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
		return BackchannelInvalid, problem.New(http.StatusBadRequest, problem.BadRequest, "a form with a logout_token is required", err)
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		return BackchannelInvalid, problem.New(http.StatusBadRequest, problem.BadRequest, "logout_token is required", nil)
	}
	name, p, err := h.logoutProvider(r, raw)
	if err != nil {
		return BackchannelInvalid, err
	}
	lt, err := p.VerifyLogoutToken(r.Context(), raw)
	if errors.Is(err, idp.ErrUnavailable) {
		// The IdP's keys could not be fetched: let it retry rather than drop the logout.
		return BackchannelError, problem.New(http.StatusServiceUnavailable, problem.IdPUnavailable, "cannot verify the logout_token now", err)
	}
	if err != nil {
		return BackchannelInvalid, problem.New(http.StatusBadRequest, problem.BadRequest, "invalid logout_token", err)
	}
	// Remember the jti while the token could still be accepted (its exp, capped: exp is
	// the IdP's word and must not pin a key in the store for ever).
	ttl := h.cfg.BackchannelReplayTTL
	if d := lt.Expiry.Sub(h.d.Now()); d > ttl && d < maxReplayTTL {
		ttl = d
	} else if d >= maxReplayTTL {
		ttl = maxReplayTTL
	}
	// jti is unique per issuer only: qualified by the provider (bare without a list)
	fresh, err := h.d.Store.Once(r.Context(), "jti:"+session.IDHash(session.SIDKey(name, lt.JTI)), ttl+time.Minute)
	if err != nil {
		return BackchannelError, storeProblem(err)
	}
	if !fresh {
		return BackchannelReplay, problem.New(http.StatusBadRequest, problem.BadRequest, "logout_token replayed", errors.New("jti seen before"))
	}
	ended, err := h.endSessions(r.Context(), name, lt)
	if err == nil && name != "" && name == h.d.DefaultIdP && h.legacyKeyIsOwn(lt.SID) && h.legacyKeyIsOwn(lt.Subject) {
		// Records made before oidc.providers existed carry no provider name and belong
		// to the default provider: its logout reaches them by the bare keys too (unless a
		// bare key could be another provider's, legacyKeyIsOwn).
		var legacy []string
		legacy, err = h.endSessions(r.Context(), "", lt)
		ended = append(ended, legacy...)
	}
	if err != nil {
		return BackchannelError, storeProblem(err)
	}
	h.d.Metrics.SessionEnded(metrics.EndedBackchannel, len(ended))
	h.events.ended(endedBackchannel, ended...) // this replica's event streams know why
	h.d.OnEnd(ended)
	h.d.Logger.Info("back-channel logout", "provider", name, "sessions", len(ended))
	return BackchannelOK, c.NoContent(http.StatusOK)
}

// endSessions deletes the sessions of provider (its name, "" for the bare keys) a
// verified logout token names. With both sid and sub a session must carry both: a sid
// alone would also end another subject's session that happens to share it (a provider
// bug, or sids that are not unique across users). The keys are qualified by the
// provider: another provider's equal sid or sub is another session, another person.
func (h *Handlers) endSessions(ctx context.Context, provider string, lt *idp.LogoutToken) ([]string, error) {
	sid, sub := session.SIDKey(provider, lt.SID), session.SubjectKey(provider, lt.Subject)
	switch {
	case lt.SID != "" && lt.Subject != "":
		return h.d.Store.DeleteBySIDAndSubject(ctx, sid, sub)
	case lt.SID != "":
		return h.d.Store.DeleteBySID(ctx, sid)
	default:
		return h.d.Store.DeleteBySubject(ctx, sub)
	}
}

// maxIdPParam bounds ?idp= (names are at most 32 bytes).
const maxIdPParam = 64

// logoutProvider chooses the provider whose keys verify a logout token: without
// oidc.providers the one provider; with them the one ?idp= names (for IdPs that register
// one URL per client), else the one whose issuer the token's iss names, read unverified
// only to choose (VerifyLogoutToken then checks the signature, iss and aud with that
// provider's keys and registration). An unknown name or issuer is a 400.
func (h *Handlers) logoutProvider(r *http.Request, raw string) (string, Provider, error) {
	if h.names == nil {
		return "", h.d.IdP, nil
	}
	if name := r.URL.Query().Get("idp"); name != "" {
		if p, ok := h.provider(name); ok && name != "" && len(name) <= maxIdPParam {
			return name, p, nil
		}
		return "", nil, problem.New(http.StatusBadRequest, problem.BadRequest, "unknown identity provider", errUnknownProvider)
	}
	iss, err := idp.UnverifiedIssuer(raw)
	if err != nil {
		return "", nil, problem.New(http.StatusBadRequest, problem.BadRequest, "invalid logout_token", err)
	}
	name, ok := h.issuers[iss]
	if !ok {
		return "", nil, problem.New(http.StatusBadRequest, problem.BadRequest, "the logout_token's issuer is no configured identity provider", errUnknownProvider)
	}
	p, _ := h.provider(name)
	return name, p, nil
}
