package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/problem"
)

// The admin kill-switch (docs/sessions.md, "Admin kill-switch"), on the ADMIN listener
// only and only with server.adminTokenFile:
//
//	GET    /admin/subjects/{sub}/sessions?idp=<name>  → {"subject","provider","count","truncated"}
//	DELETE /admin/subjects/{sub}/sessions?idp=<name>  → {"ended","revoked","revokeFailed"}
//
// Both need Authorization: Bearer <the secret in server.adminTokenFile>. No answer
// carries a session's id, hash, handle or token: a count is all an operator needs.

// AdminSessionsPath is the pattern path of the kill-switch's endpoints; {sub} is one
// path segment, percent-decoded (a subject holding '/' is sent as %2F).
const AdminSessionsPath = "/admin/subjects/{sub}/sessions"

// maxAdminSubject bounds {sub}: OpenID Connect's sub is at most 255 ASCII characters.
const maxAdminSubject = 255

// adminCount is the body of GET /admin/subjects/{sub}/sessions.
type adminCount struct {
	Subject  string `json:"subject"`
	Provider string `json:"provider,omitempty"`
	Count    int    `json:"count"`
	// Truncated: some index key holds more than session.MaxListed sessions; Count counts
	// the listed ones (DELETE still ends them all).
	Truncated bool `json:"truncated"`
}

// adminEnded is the body of DELETE /admin/subjects/{sub}/sessions.
type adminEnded struct {
	Ended        int `json:"ended"`
	Revoked      int `json:"revoked"`
	RevokeFailed int `json:"revokeFailed"`
}

// MountAdmin adds the kill-switch's endpoints to the admin listener's mux when
// server.adminTokenFile is set (Config.AdminTokenFile); without it they do not exist.
func (h *Handlers) MountAdmin(mux *http.ServeMux) {
	if h.adminToken == nil {
		return
	}
	mux.HandleFunc("GET "+AdminSessionsPath, h.admin(h.adminCountSessions))
	mux.HandleFunc("DELETE "+AdminSessionsPath, h.admin(h.adminEndSessions))
}

// admin wraps an admin endpoint: the bearer secret first (401 problem+json with
// WWW-Authenticate otherwise), then the endpoint; its error is written as problem+json.
func (h *Handlers) admin(next func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.adminToken.allows(r.Header.Get("Authorization")) {
			h.d.Logger.Warn("admin request refused: no valid bearer secret", "method", r.Method, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="bff-admin"`)
			problem.Write(w, problem.New(http.StatusUnauthorized, problem.Unauthenticated,
				"a valid admin bearer secret is required", nil))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := next(w, r); err != nil {
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				return // the caller went away: nobody to answer
			}
			var p *problem.Error
			if !errors.As(err, &p) {
				p = problem.New(http.StatusInternalServerError, problem.Internal, "the request failed", err)
			}
			if p.Status >= 500 {
				h.d.Logger.Error("admin request failed", "method", r.Method, "err", err)
			}
			problem.Write(w, p)
		}
	}
}

// adminCountSessions answers GET: how many live sessions the subject has at the provider.
func (h *Handlers) adminCountSessions(w http.ResponseWriter, r *http.Request) error {
	sub, name, err := h.adminTarget(r)
	if err != nil {
		return err
	}
	out := adminCount{Subject: sub, Provider: name}
	for _, key := range h.subjectKeys(name, sub) {
		l, err := h.d.Store.ListBySubject(r.Context(), key)
		if err != nil {
			return storeProblem(err)
		}
		out.Count += len(l.Sessions)
		out.Truncated = out.Truncated || l.Truncated
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// adminEndSessions answers DELETE: every session of the subject at the provider ends,
// on every replica (endSubject: deleted first, then refresh tokens revoked; OnEnd cuts
// proxied streams here and announces the end to the other replicas).
func (h *Handlers) adminEndSessions(w http.ResponseWriter, r *http.Request) error {
	sub, name, err := h.adminTarget(r)
	if err != nil {
		return err
	}
	ended, rs, err := h.endSubject(r.Context(), h.subjectKeys(name, sub))
	// What ended before a failure is still announced and counted.
	h.events.ended(endedAdmin, ended...) // this replica's event streams know why
	h.d.OnEnd(ended)
	h.d.Metrics.SessionEnded(metrics.EndedAdmin, len(ended))
	// The subject is personal data: the log names it by a short hash an operator can
	// compute from a subject they know, not as given.
	h.d.Logger.Info("admin kill-switch: sessions ended", "subjectHash", subjectHash(sub), "provider", name,
		"ended", len(ended), "revoked", rs.Revoked, "revokeFailed", rs.Failed, "remote", r.RemoteAddr)
	if err != nil {
		return storeProblem(err)
	}
	writeJSON(w, http.StatusOK, adminEnded{Ended: len(ended), Revoked: rs.Revoked, RevokeFailed: rs.Failed})
	return nil
}

// adminTarget is the request's subject (the decoded {sub} segment, 1 to 255 bytes of
// UTF-8) and provider name (?idp=, adminProvider).
func (h *Handlers) adminTarget(r *http.Request) (sub, name string, err error) {
	sub = r.PathValue("sub")
	if sub == "" || len(sub) > maxAdminSubject || !utf8.ValidString(sub) {
		return "", "", problem.New(http.StatusBadRequest, problem.BadRequest,
			"sub must be 1 to 255 bytes of UTF-8, percent-encoded as one path segment", nil)
	}
	q := r.URL.Query()
	if len(q["idp"]) > 1 {
		return "", "", problem.New(http.StatusBadRequest, problem.BadRequest, "idp may be given once", nil)
	}
	name, err = h.adminProvider(q.Get("idp"))
	return sub, name, err
}

// adminProvider is the provider name ?idp= gives: without oidc.providers none may be
// named (""); with them a configured name, or the default one when none is given. An
// unknown name is a 400 listing the configured names.
func (h *Handlers) adminProvider(given string) (string, error) {
	if h.names == nil {
		if given != "" {
			return "", problem.New(http.StatusBadRequest, problem.BadRequest,
				"no named identity providers are configured (oidc.providers): leave idp out", errUnknownProvider)
		}
		return "", nil
	}
	name, _, err := h.loginProvider(given)
	return name, err
}

// subjectHash names a subject in logs: the first 12 hex digits of its SHA-256.
func subjectHash(sub string) string {
	sum := sha256.Sum256([]byte(sub))
	return hex.EncodeToString(sum[:6])
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = jsonEncode(w, v)
}
