package handler

import (
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/session"
)

// sessionList is the body of GET /bff/sessions: the caller's sessions at this BFF. It
// carries no token, session id or id hash: a session is named by its public handle.
type sessionList struct {
	Sessions []sessionItem `json:"sessions"`
	// Truncated: the user has more than session.MaxListed sessions; the newest are shown.
	Truncated bool `json:"truncated,omitempty"`
}

type sessionItem struct {
	Handle   string    `json:"handle,omitempty"`
	Created  time.Time `json:"createdAt"`
	LastUsed time.Time `json:"lastUsedAt"`
	Device   string    `json:"device,omitempty"`
	Current  bool      `json:"current"`
}

// maxHandle bounds the handle a DELETE may name (NewSessionHandle makes 43 characters).
const maxHandle = 64

// revokeConcurrency bounds the refresh-token revocations of one "sign out everywhere".
const revokeConcurrency = 4

// sessions answers GET /bff/sessions (CSRF-checked): the sessions of the caller's subject
// at the caller's provider, newest first.
func (h *Handlers) sessions(c echo.Context) error {
	cur, err := h.session(c)
	if err != nil {
		return err
	}
	l, err := h.listOwn(c.Request().Context(), cur)
	if err != nil {
		return storeProblem(err)
	}
	out := sessionList{Sessions: make([]sessionItem, 0, len(l.Sessions)), Truncated: l.Truncated}
	for _, s := range l.Sessions {
		out.Sessions = append(out.Sessions, sessionItem{
			Handle: s.Record.Handle, Created: s.Record.Created, LastUsed: s.LastUsed,
			Device: s.Record.Device, Current: s.IDHash == cur.hash,
		})
	}
	return c.JSON(http.StatusOK, out)
}

// endSessionByHandle answers DELETE /bff/sessions/{handle} (CSRF-checked): it ends one of
// the CALLER's sessions, found by its handle among the caller's own listing (a handle
// of another user's session is as unknown as a made-up one: 404), revokes its refresh
// token, cuts its streams on every replica and answers 204. Ending the current session
// this way is a logout: the cookie is cleared.
func (h *Handlers) endSessionByHandle(c echo.Context) error {
	cur, err := h.session(c)
	if err != nil {
		return err
	}
	handle := c.Param("handle")
	if handle == "" || len(handle) > maxHandle {
		return problem.New(http.StatusNotFound, problem.NotFound, "no such session", nil)
	}
	ctx := c.Request().Context()
	l, err := h.listOwn(ctx, cur)
	if err != nil {
		return storeProblem(err)
	}
	var found *session.Listed
	for i := range l.Sessions {
		// Every handle is compared, in constant time: neither timing nor order tells
		// which of the caller's handles came close.
		s := &l.Sessions[i]
		if s.Record.Handle != "" && subtle.ConstantTimeCompare([]byte(s.Record.Handle), []byte(handle)) == 1 {
			found = s
		}
	}
	if found == nil {
		return problem.New(http.StatusNotFound, problem.NotFound, "no such session", nil)
	}
	ended, err := h.endListed(ctx, []session.Listed{*found})
	if err != nil {
		return storeProblem(err)
	}
	h.d.Metrics.SessionEnded(metrics.EndedLogout, len(ended))
	h.d.OnEnd(ended)
	if found.IDHash == cur.hash {
		h.clearSessionCookie(c.Response())
	}
	return c.NoContent(http.StatusNoContent)
}

// endEverywhere ends every session of cur's subject at its provider (POST
// /bff/logout?everywhere=1), under each of ownSubjectKeys: the listed sessions are
// deleted and their refresh tokens revoked (endListed), then the whole subject index is
// drained (sessions beyond the listing's bound end too, without revocation). It returns
// the id hashes it ended, also those ended before a failure.
func (h *Handlers) endEverywhere(ctx context.Context, cur *current) ([]string, error) {
	var ended []string
	for _, key := range h.ownSubjectKeys(cur) {
		l, err := h.d.Store.ListBySubject(ctx, key)
		if err != nil {
			return ended, err
		}
		done, err := h.endListed(ctx, l.Sessions)
		ended = append(ended, done...)
		if err != nil {
			return ended, err
		}
		rest, err := h.d.Store.DeleteBySubject(ctx, key)
		ended = append(ended, rest...)
		if err != nil {
			return ended, err
		}
	}
	return ended, nil
}

// ownSubjectKeys are the subject index keys of cur's user: its provider's, and, for the
// default provider of a provider list, also the bare subject under which the sessions
// made before the list existed are indexed (they belong to the default provider, as
// back-channel logout also has it).
func (h *Handlers) ownSubjectKeys(cur *current) []string {
	sub := cur.rec.Subject
	if h.names == nil {
		return []string{session.SubjectKey("", sub)}
	}
	name := h.providerName(cur.rec)
	keys := []string{session.SubjectKey(name, sub)}
	if name == h.d.DefaultIdP {
		keys = append(keys, session.SubjectKey("", sub))
	}
	return keys
}

// listOwn lists the sessions of cur's user under every key of ownSubjectKeys, newest first.
func (h *Handlers) listOwn(ctx context.Context, cur *current) (session.Listing, error) {
	var all session.Listing
	for _, key := range h.ownSubjectKeys(cur) {
		l, err := h.d.Store.ListBySubject(ctx, key)
		if err != nil {
			return all, err
		}
		all.Sessions = append(all.Sessions, l.Sessions...)
		all.Truncated = all.Truncated || l.Truncated
	}
	slices.SortStableFunc(all.Sessions, func(a, b session.Listed) int { return b.Record.Created.Compare(a.Record.Created) })
	return all, nil
}

// endListed deletes the listed sessions, then revokes their refresh tokens (RFC 7009,
// best effort, at most revokeConcurrency at once), returning the id hashes it deleted.
// The delete comes first and does not end with the request: a slow provider or a client
// that gives up must not leave the sessions alive.
func (h *Handlers) endListed(ctx context.Context, ls []session.Listed) ([]string, error) {
	hashes := make([]string, 0, len(ls))
	for _, s := range ls {
		hashes = append(hashes, s.IDHash)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ended, err := h.d.Store.DeleteByIDHashes(dctx, hashes)
	if err != nil {
		return ended, err
	}
	sem := make(chan struct{}, revokeConcurrency)
	var wg sync.WaitGroup
	for _, s := range ls {
		if s.Record.RefreshToken == "" {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			h.revoke(ctx, s.Record)
		})
	}
	wg.Wait()
	return ended, nil
}

// revoke revokes rec's refresh token at the session's own provider (best effort: the session ends
// either way; the log line names no token).
func (h *Handlers) revoke(ctx context.Context, rec *session.Record) {
	p, ok := h.provider(rec.Provider)
	if !ok || !h.ownProvider(rec) || rec.RefreshToken == "" { // not (or no longer) its provider: nothing to ask
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Revoke(rctx, rec.RefreshToken); err != nil {
		h.d.Logger.Warn("refresh token revocation failed", "err", err)
	}
}

// maxDevice bounds Record.Device.
const maxDevice = 40

// deviceOf is the coarse description of a User-Agent: browser family and OS ("Firefox on
// Linux"), from a fixed vocabulary, so nothing of the raw header (versions, build ids,
// whatever a client put there) is ever stored or shown.
func deviceOf(ua string) string {
	if len(ua) > 1024 {
		ua = ua[:1024]
	}
	browser := firstMatch(ua, []string{"Edg/", "Edge"}, "Edge", []string{"OPR/", "Opera"}, "Opera",
		[]string{"Firefox/"}, "Firefox", []string{"Chrome/", "Chromium/", "CriOS/"}, "Chrome",
		[]string{"Safari/"}, "Safari")
	os := firstMatch(ua, []string{"Android"}, "Android", []string{"iPhone", "iPad", "iOS"}, "iOS",
		[]string{"Windows"}, "Windows", []string{"Mac OS X", "Macintosh"}, "macOS",
		[]string{"CrOS"}, "ChromeOS", []string{"Linux", "X11"}, "Linux")
	switch {
	case browser == "" && os == "":
		return "Unknown device"
	case browser == "":
		return truncate(os, maxDevice)
	case os == "":
		return truncate(browser, maxDevice)
	}
	return truncate(browser+" on "+os, maxDevice)
}

// firstMatch takes pairs (needles, name) and returns the name of the first pair one of
// whose needles ua contains, "" when none does.
func firstMatch(ua string, pairs ...any) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		for _, n := range pairs[i].([]string) {
			if strings.Contains(ua, n) {
				return pairs[i+1].(string)
			}
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
