package demoop

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is one authorization request, from /authorize to the code exchange.
// The storage keeps the only mutable copy under its lock and hands out snapshots, so the
// library never reads a value another request is writing.
//
// Adapted from zitadel/oidc example/server/storage/oidc.go
// (Apache-2.0, Copyright The zitadel/oidc Contributors).
type authRequest struct {
	id            string
	created       time.Time
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge
	promptNone    bool
	maxAge        *time.Duration // nil: any OP session will do; 0: always show the form

	// Set by a successful login.
	done     bool
	subject  string
	sid      string
	authTime time.Time

	// codeHash is set once the authorization response (the code) was issued.
	codeHash string
}

var _ op.AuthRequest = (*authRequest)(nil)

func newAuthRequest(id string, now time.Time, in *oidc.AuthRequest) *authRequest {
	req := &authRequest{
		id:           id,
		created:      now,
		clientID:     in.ClientID,
		redirectURI:  in.RedirectURI,
		state:        in.State,
		nonce:        in.Nonce,
		scopes:       append([]string(nil), in.Scopes...),
		responseType: in.ResponseType,
		responseMode: in.ResponseMode,
		codeChallenge: &oidc.CodeChallenge{
			Challenge: in.CodeChallenge,
			Method:    in.CodeChallengeMethod,
		},
	}
	for _, p := range in.Prompt {
		req.promptNone = req.promptNone || p == oidc.PromptNone
	}
	if in.MaxAge != nil {
		d := time.Duration(*in.MaxAge) * time.Second
		req.maxAge = &d
	}
	return req
}

func (a *authRequest) snapshot() *authRequest {
	cp := *a
	return &cp
}

func (a *authRequest) GetID() string         { return a.id }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAudience() []string { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.authTime
}
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

// GetAMR reports password authentication once the login succeeded.
func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

// sessionID returns the OP session (sid) the login belongs to.
func (a *authRequest) sessionID() string { return a.sid }

// refreshRequest is what a valid refresh token stands for: the grant it belongs to, with
// the scopes of this one request (a refresh may narrow them, RFC 6749 section 6).
type refreshRequest struct {
	grant  grant // a copy
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string       { return r.grant.amr }
func (r *refreshRequest) GetAudience() []string  { return []string{r.grant.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time { return r.grant.authTime }
func (r *refreshRequest) GetClientID() string    { return r.grant.clientID }
func (r *refreshRequest) GetScopes() []string    { return r.scopes }
func (r *refreshRequest) GetSubject() string     { return r.grant.subject }
func (r *refreshRequest) SetCurrentScopes(scopes []string) {
	r.scopes = append([]string(nil), scopes...)
}
func (r *refreshRequest) sessionID() string { return r.grant.sid }

// sessionRequest is implemented by the requests that carry an OP session id.
type sessionRequest interface {
	sessionID() string
}
