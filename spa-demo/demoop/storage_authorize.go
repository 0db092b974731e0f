package demoop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// CreateAuthRequest implements op.AuthStorage. It is called after the library validated
// client, redirect URI, scopes and response type. It refuses a request without PKCE S256
// (the library itself only checks the method when a challenge is sent) and response modes
// other than query and fragment.
func (s *storage) CreateAuthRequest(_ context.Context, in *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if in.CodeChallenge == "" || in.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required")
	}
	// form_post would answer with an HTML page that the RFC 9207 hook cannot amend.
	if in.ResponseMode != "" && in.ResponseMode != oidc.ResponseModeQuery && in.ResponseMode != oidc.ResponseModeFragment {
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query or fragment")
	}
	now := s.now()
	req := newAuthRequest(rand.Text(), now, in)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collectLocked(now)
	s.authRequests[req.id] = req
	return req.snapshot(), nil
}

// AuthRequestByID implements op.AuthStorage.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	r, err := s.authRequestSnapshot(id)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return r, nil
}

func (s *storage) authRequestSnapshot(id string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.liveAuthRequestLocked(id, s.now())
	if err != nil {
		return nil, err
	}
	return r.snapshot(), nil
}

func (s *storage) liveAuthRequestLocked(id string, now time.Time) (*authRequest, error) {
	r, ok := s.authRequests[id]
	if !ok {
		return nil, fmt.Errorf("auth request: %w", errNotFound)
	}
	if now.After(r.created.Add(authRequestTTL)) {
		return nil, fmt.Errorf("auth request: %w", errExpired)
	}
	return r, nil
}

// completeLogin marks the auth request as authenticated by the OP session sess.
func (s *storage) completeLogin(id string, sess opSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.liveAuthRequestLocked(id, s.now())
	if err != nil {
		return err
	}
	if r.done {
		return errAlreadyAuthenticated
	}
	r.done, r.subject, r.sid, r.authTime = true, sess.subject, sess.sid, sess.authTime
	return nil
}

// SaveAuthCode implements op.AuthStorage. One auth request yields one code: a second
// authorization response for the same request is refused.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.liveAuthRequestLocked(id, now)
	if err != nil {
		return err
	}
	if r.codeHash != "" {
		return oidc.ErrInvalidRequest().WithDescription("authorization response already issued")
	}
	r.codeHash = hashSecret(code)
	s.codes[r.codeHash] = &codeRecord{requestID: id, expires: now.Add(codeTTL)}
	return nil
}

// AuthRequestByCode implements op.AuthStorage. A code presented after it was redeemed
// revokes the tokens it issued (RFC 6749 section 4.1.2) and fails.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	r, err := s.authRequestByCode(hashSecret(code))
	if errors.Is(err, errCodeReplayed) {
		s.log.Warn("demoop: authorization code replayed; grant revoked")
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *storage) authRequestByCode(codeHash string) (*authRequest, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[codeHash]
	if !ok {
		return nil, fmt.Errorf("code: %w", errNotFound)
	}
	if c.used {
		s.revokeGrantLocked(c.grantID)
		return nil, errCodeReplayed
	}
	if now.After(c.expires) {
		return nil, fmt.Errorf("code: %w", errExpired)
	}
	r, err := s.liveAuthRequestLocked(c.requestID, now)
	if err != nil {
		return nil, err
	}
	return r.snapshot(), nil
}

// claimCodeLocked marks the code of req redeemed by grantID; it fails when another
// exchange won the race for the same code. s.mu MUST be held.
func (s *storage) claimCodeLocked(req *authRequest, grantID string) error {
	c, ok := s.codes[req.codeHash]
	if !ok {
		return oidc.ErrInvalidGrant().WithParent(fmt.Errorf("code: %w", errNotFound))
	}
	if c.used {
		s.revokeGrantLocked(c.grantID)
		return oidc.ErrInvalidGrant().WithParent(errCodeReplayed)
	}
	c.used, c.grantID = true, grantID
	return nil
}

// DeleteAuthRequest implements op.AuthStorage; the code record outlives the request so
// that a replay is recognised.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
	return nil
}
