package demoop

import (
	"context"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// GetRefreshTokenInfo implements op.AuthStorage for the revocation endpoint. Any refresh
// token the OP still remembers (current, rotated or revoked) is known.
func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[hashSecret(token)]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	g, ok := s.grants[rt.grantID]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.subject, rt.hash, nil
}

// RevokeToken implements op.AuthStorage (RFC 7009). tokenOrID is a refresh token's hash
// (from GetRefreshTokenInfo) or a verified access token's jti; userID is empty when the
// library recognised neither, and such a token is ignored (RFC 7009 section 2.2).
// Revoking a refresh token revokes its whole grant; revoking an access token only that
// token. A token issued to another client is refused.
func (s *storage) RevokeToken(_ context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if userID == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt, ok := s.refreshTokens[tokenOrID]; ok {
		return s.revokeOwnedLocked(rt.grantID, clientID, func(g *grant) { s.revokeGrantLocked(g.id) })
	}
	if at, ok := s.accessTokens[tokenOrID]; ok {
		return s.revokeOwnedLocked(at.grantID, clientID, func(*grant) { delete(s.accessTokens, at.id) })
	}
	return nil
}

func (s *storage) revokeOwnedLocked(grantID, clientID string, revoke func(*grant)) *oidc.Error {
	g, ok := s.grants[grantID]
	if !ok {
		return nil
	}
	if g.clientID != clientID {
		return oidc.ErrInvalidClient().WithParent(errWrongClient)
	}
	revoke(g)
	s.stats.revocations.Add(1)
	return nil
}

// revokeGrantLocked kills a token family: its access tokens are forgotten and its
// refresh tokens refused. The refresh token records stay until they expire, so a later
// reuse of a rotated one is still recognised. s.mu MUST be held.
func (s *storage) revokeGrantLocked(id string) {
	g, ok := s.grants[id]
	if !ok {
		return
	}
	g.revoked = true
	for atID, at := range s.accessTokens {
		if at.grantID == id {
			delete(s.accessTokens, atID)
		}
	}
}

// TerminateSession implements op.AuthStorage; unused because the storage implements
// op.CanTerminateSessionFromRequest, kept correct nonetheless.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeClientGrantsLocked(userID, clientID)
	return nil
}

func (s *storage) revokeClientGrantsLocked(subject, clientID string) {
	for _, g := range s.grants {
		if g.subject == subject && g.clientID == clientID {
			s.revokeGrantLocked(g.id)
		}
	}
}

// TerminateSessionFromRequest implements op.CanTerminateSessionFromRequest: RP-initiated
// logout after the library verified id_token_hint and post_logout_redirect_uri. The OP
// session named by the hint's sid ends, with every grant issued under it (all clients).
// The session of the browser's cookie is ended by the end_session handler.
func (s *storage) TerminateSessionFromRequest(_ context.Context, req *op.EndSessionRequest) (string, error) {
	s.stats.endSessions.Add(1)
	var sid string
	if req.IDTokenHintClaims != nil {
		sid = req.IDTokenHintClaims.SessionID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case sid != "":
		s.endSIDLocked(sid)
	case req.UserID != "" && req.ClientID != "":
		s.revokeClientGrantsLocked(req.UserID, req.ClientID)
	}
	return req.RedirectURI, nil
}

// endSIDLocked ends the OP session sid and revokes every grant issued under it.
// s.mu MUST be held.
func (s *storage) endSIDLocked(sid string) {
	for h, sess := range s.sessions {
		if sess.sid == sid {
			delete(s.sessions, h)
		}
	}
	for _, g := range s.grants {
		if g.sid == sid {
			s.revokeGrantLocked(g.id)
		}
	}
}

// logoutTarget is one relying-party session to notify by back-channel logout.
type logoutTarget struct {
	clientID, sid string
}

// logoutSubject ends every OP session of subject and revokes its live grants; it returns
// the distinct (client, sid) pairs that held a live grant.
func (s *storage) logoutSubject(subject string) []logoutTarget {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []logoutTarget
	seen := make(map[logoutTarget]bool)
	for _, g := range s.grants {
		if g.subject != subject || !grantLive(g, now) {
			continue
		}
		t := logoutTarget{clientID: g.clientID, sid: g.sid}
		if !seen[t] {
			seen[t] = true
			targets = append(targets, t)
		}
		s.revokeGrantLocked(g.id)
	}
	for h, sess := range s.sessions {
		if sess.subject == subject {
			delete(s.sessions, h)
		}
	}
	return targets
}

// grantLive reports whether a grant can still be used at time now. s.mu MUST be held.
func grantLive(g *grant, now time.Time) bool {
	return g != nil && !g.revoked && !now.After(g.expires)
}
