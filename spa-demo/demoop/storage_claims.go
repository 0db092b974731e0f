package demoop

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// claimSID is the OpenID Connect session id claim (Front/Back-Channel Logout 1.0).
const claimSID = "sid"

// SetUserinfoFromScopes implements op.OPStorage; deprecated by the library in favour of
// SetUserinfoFromRequest, so it is empty as the library asks.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the ID token's user
// claims and its sid (the OP session of the login, unchanged by refreshes).
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	u, ok := s.users[req.GetSubject()]
	if !ok {
		return fmt.Errorf("user: %w", errNotFound)
	}
	setUserinfo(info, u, scopes)
	if sid := s.sidOf(req); sid != "" {
		info.AppendClaims(claimSID, sid)
	}
	return nil
}

// setUserinfo fills info with the claims the scopes grant (OIDC Core section 5.4).
func setUserinfo(info *oidc.UserInfo, u User, scopes []string) {
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.PreferredUsername = u.Username
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		info.Email = u.Email
		info.EmailVerified = true
	}
}

// GetPrivateClaimsFromScopes implements op.OPStorage; GetPrivateClaimsFromRequest is
// used instead.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest implements op.CanGetPrivateClaimsFromRequest: the extra
// claims of a JWT access token, so that the demo API can show who called it: scope, sid,
// and the profile/email claims the scopes grant.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	claims := map[string]any{"scope": strings.Join(req.GetScopes(), " ")}
	if sid := s.sidOf(req); sid != "" {
		claims[claimSID] = sid
	}
	if u, ok := s.users[req.GetSubject()]; ok {
		info := new(oidc.UserInfo)
		setUserinfo(info, u, req.GetScopes())
		addIfSet(claims, "name", info.Name)
		addIfSet(claims, "preferred_username", info.PreferredUsername)
		addIfSet(claims, "email", info.Email)
	}
	return claims, nil
}

// sidOf is the sid claim of the tokens issued for req: its OP session, or "" when the OP
// is configured to issue none (Config.OmitSID).
func (s *storage) sidOf(req any) string {
	if sr, ok := req.(sessionRequest); ok && !s.omitSID {
		return sr.sessionID()
	}
	return ""
}

func addIfSet(claims map[string]any, name, value string) {
	if value != "" {
		claims[name] = value
	}
}

// SetUserinfoFromToken implements op.OPStorage for the userinfo endpoint: the access
// token (already verified as a JWT by the library) must still be live at the OP.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	at, g, err := s.liveAccessToken(tokenID)
	if err != nil {
		return err
	}
	u, ok := s.users[g.subject]
	if !ok {
		return fmt.Errorf("user: %w", errNotFound)
	}
	setUserinfo(info, u, at.scopes)
	for k, v := range s.userinfoClaims(g.subject) {
		info.AppendClaims(k, v)
	}
	return nil
}

// SetUserinfoClaims makes the userinfo endpoint answer claims for sub on top of the
// user's own, from now on (nil: none), while ID tokens stay as they were: a provider whose
// profile changed at the provider, or that keeps its ID tokens lean. Tests use it to see a
// relying party pick up a changed claim. A claim the library fills itself (sub, name,
// email, preferred_username while their scope is granted) is not replaced.
func (o *OP) SetUserinfoClaims(sub string, claims map[string]any) {
	o.store.mu.Lock()
	defer o.store.mu.Unlock()
	if o.store.userinfoExtra == nil {
		o.store.userinfoExtra = map[string]map[string]any{}
	}
	o.store.userinfoExtra[sub] = maps.Clone(claims)
}

// userinfoClaims is a copy of sub's SetUserinfoClaims.
func (s *storage) userinfoClaims(sub string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.userinfoExtra[sub])
}

// SetIntrospectionFromToken implements op.OPStorage (RFC 7662): only the client the token
// was issued to learns that it is active.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	at, g, err := s.liveAccessToken(tokenID)
	if err != nil {
		return err
	}
	if g.clientID != clientID {
		return errWrongClient
	}
	info := new(oidc.UserInfo)
	if u, ok := s.users[g.subject]; ok {
		setUserinfo(info, u, at.scopes)
	}
	resp.SetUserInfo(info)
	resp.Scope = at.scopes
	resp.ClientID = g.clientID
	resp.Audience = []string{g.clientID}
	resp.Expiration = oidc.FromTime(at.expires)
	resp.TokenType = oidc.BearerToken
	return nil
}

// liveAccessToken returns copies of an unexpired, unrevoked access token and its grant.
func (s *storage) liveAccessToken(id string) (accessToken, grant, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.accessTokens[id]
	if !ok {
		return accessToken{}, grant{}, fmt.Errorf("access token: %w", errNotFound)
	}
	if now.After(at.expires) {
		return accessToken{}, grant{}, fmt.Errorf("access token: %w", errExpired)
	}
	g := s.grants[at.grantID]
	if !grantLive(g, now) {
		return accessToken{}, grant{}, fmt.Errorf("access token: %w", errRevoked)
	}
	return *at, *g, nil
}
