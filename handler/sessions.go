package handler

import (
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	ended, _, err := h.endListed(ctx, []session.Listed{*found})
	if err != nil {
		return storeProblem(err)
	}
	h.d.Metrics.SessionEnded(metrics.EndedLogout, len(ended))
	h.events.ended(endedLogout, ended...) // this replica's streams know why
	h.d.OnEnd(ended)
	if found.IDHash == cur.hash {
		h.clearSessionCookie(c.Response())
	}
	return c.NoContent(http.StatusNoContent)
}

// endEverywhere ends every session of cur's subject at its provider (POST
// /bff/logout?everywhere=1), under each of ownSubjectKeys (endSubject). It returns the
// id hashes it ended, also those ended before a failure.
func (h *Handlers) endEverywhere(ctx context.Context, cur *current) ([]string, error) {
	ended, _, err := h.endSubject(ctx, h.ownSubjectKeys(cur))
	return ended, err
}

// endSubject ends every session indexed under keys: the listed sessions are deleted and
// their refresh tokens revoked (endListed), then the whole subject index is drained
// (sessions beyond the listing's bound end too, without revocation). It returns the id
// hashes it ended, also those ended before a failure, and what the revocations did.
func (h *Handlers) endSubject(ctx context.Context, keys []string) ([]string, revokeStats, error) {
	var ended []string
	var stats revokeStats
	for _, key := range keys {
		l, err := h.d.Store.ListBySubject(ctx, key)
		if err != nil {
			return ended, stats, err
		}
		done, rs, err := h.endListed(ctx, l.Sessions)
		ended = append(ended, done...)
		stats.add(rs)
		if err != nil {
			return ended, stats, err
		}
		rest, err := h.d.Store.DeleteBySubject(ctx, key)
		ended = append(ended, rest...)
		if err != nil {
			return ended, stats, err
		}
	}
	return ended, stats, nil
}

// ownSubjectKeys are the subject index keys of cur's user (subjectKeys of its provider).
func (h *Handlers) ownSubjectKeys(cur *current) []string {
	return h.subjectKeys(h.providerName(cur.rec), cur.rec.Subject)
}

// subjectKeys are the subject index keys of sub at the provider named name: its
// provider's, and, for the default provider of a provider list, also the bare subject
// under which the sessions made before the list existed are indexed (they belong to the
// default provider, as back-channel logout also has it).
func (h *Handlers) subjectKeys(name, sub string) []string {
	if h.names == nil {
		return []string{session.SubjectKey("", sub)}
	}
	keys := []string{session.SubjectKey(name, sub)}
	if name == h.d.DefaultIdP && h.legacyKeyIsOwn(sub) {
		keys = append(keys, session.SubjectKey("", sub))
	}
	return keys
}

// legacyKeyIsOwn reports whether value (a default-provider sub or sid), used bare as the
// index key of the sessions made before oidc.providers existed, cannot also be another
// provider's qualified key "<name>:<rest>": a default provider whose subs can be chosen by
// users (usernames) would otherwise let "b:alice" list, end or log out provider b's
// alice. Such a value's pre-list sessions are not reached by these paths; they end at
// their own logout or expiry.
func (h *Handlers) legacyKeyIsOwn(value string) bool {
	for _, n := range h.names {
		if len(value) > len(n) && value[len(n)] == ':' && value[:len(n)] == n {
			return false
		}
	}
	return true
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

// revokeStats counts what endListed's revocations did: refresh tokens the provider
// accepted to revoke, and those whose revocation failed (the session ended anyway).
type revokeStats struct {
	Revoked, Failed int
}

func (s *revokeStats) add(o revokeStats) {
	s.Revoked, s.Failed = s.Revoked+o.Revoked, s.Failed+o.Failed
}

// endListed deletes the listed sessions, then revokes their refresh tokens (RFC 7009,
// best effort, at most revokeConcurrency at once), returning the id hashes it deleted
// and what the revocations did. The delete comes first and does not end with the
// request: a slow provider or a client that gives up must not leave the sessions alive.
func (h *Handlers) endListed(ctx context.Context, ls []session.Listed) ([]string, revokeStats, error) {
	hashes := make([]string, 0, len(ls))
	for _, s := range ls {
		hashes = append(hashes, s.IDHash)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ended, err := h.d.Store.DeleteByIDHashes(dctx, hashes)
	if err != nil {
		return ended, revokeStats{}, err
	}
	sem := make(chan struct{}, revokeConcurrency)
	var wg sync.WaitGroup
	var revoked, failed atomic.Int64
	for _, s := range ls {
		if s.Record.RefreshToken == "" {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			switch h.revoke(ctx, s.Record) {
			case revokeDone:
				revoked.Add(1)
			case revokeFailed:
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	return ended, revokeStats{Revoked: int(revoked.Load()), Failed: int(failed.Load())}, nil
}

// What revoke did with a session's refresh token.
type revokeOutcome uint8

const (
	revokeSkipped revokeOutcome = iota // no token, or its provider is no longer configured
	revokeDone
	revokeFailed
)

// revoke revokes rec's refresh token at the session's own provider (best effort: the session ends
// either way; the log line names no token).
func (h *Handlers) revoke(ctx context.Context, rec *session.Record) revokeOutcome {
	p, ok := h.provider(rec.Provider)
	if !ok || !h.ownProvider(rec) || rec.RefreshToken == "" { // not (or no longer) its provider: nothing to ask
		return revokeSkipped
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Revoke(rctx, rec.RefreshToken); err != nil {
		h.d.Logger.Warn("refresh token revocation failed", "err", err)
		return revokeFailed
	}
	return revokeDone
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
