package demoop

// The storage is adapted from zitadel/oidc example/server/storage/storage.go
// (https://github.com/zitadel/oidc, Apache-2.0, Copyright The zitadel/oidc Contributors),
// trimmed to the flows the demo needs and changed so that:
//   - clients, users and all state belong to one OP instance (no package-level maps);
//   - refresh tokens rotate and a reused one revokes its whole grant (token family);
//   - an authorization code is single use, and a replayed one revokes what it issued;
//   - tokens, codes and session cookies are stored under their SHA-256, never in clear;
//   - every read hands the library a snapshot, so concurrent requests never share a value.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// gcInterval is how often, at most, a write sweeps expired records.
const gcInterval = 30 * time.Second

var (
	errNotFound             = errors.New("not found")
	errAlreadyAuthenticated = errors.New("auth request already authenticated")
	errExpired              = errors.New("expired")
	errRevoked              = errors.New("grant revoked")
	errRefreshTokenReused   = errors.New("refresh token reused: token family revoked")
	errCodeReplayed         = errors.New("authorization code replayed: issued tokens revoked")
	errBadClientSecret      = errors.New("unknown client or wrong secret")
	errJWTProfile           = errors.New("JWT profile grant not supported")
	errWrongClient          = errors.New("token was not issued to this client")
	errUnsupportedRequest   = errors.New("unsupported token request")
)

// grant is what one code exchange issued: the token family of one login at one client.
// Revoking it kills every refresh and access token issued under it.
type grant struct {
	id       string
	clientID string
	subject  string
	sid      string
	scopes   []string
	authTime time.Time
	amr      []string
	revoked  bool
	expires  time.Time // latest expiry of anything issued under it; collected after
}

type codeRecord struct {
	requestID string
	expires   time.Time
	used      bool
	grantID   string
}

type accessToken struct {
	id      string
	grantID string
	scopes  []string
	expires time.Time
}

type refreshToken struct {
	hash    string
	grantID string
	expires time.Time
	rotated bool
	// rotatedAt is the first rotation; within the grace period the token still redeems.
	rotatedAt time.Time
}

// storage implements op.Storage for one OP. It is safe for concurrent use: one mutex
// guards every map, and it is never held while logging or calling out.
type storage struct {
	now       func() time.Time
	accessTTL time.Duration
	refreshTT time.Duration
	keys      *keyRing
	clients   map[string]*opClient
	users     map[string]User // by subject
	byName    map[string]User // by username
	stats     *counters
	log       *slog.Logger
	omitSID   bool          // no sid claim in tokens (Config.OmitSID)
	grace     time.Duration // Config.RefreshGracePeriod

	mu            sync.Mutex
	authRequests  map[string]*authRequest
	codes         map[string]*codeRecord   // by sha256(code)
	grants        map[string]*grant        // by id
	accessTokens  map[string]*accessToken  // by id (the JWT's jti)
	refreshTokens map[string]*refreshToken // by sha256(token)
	sessions      map[string]*opSession    // by sha256(cookie value)
	// userinfoExtra are claims the userinfo endpoint adds for a subject (SetUserinfoClaims).
	userinfoExtra map[string]map[string]any
	lastGC        time.Time
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)

func newStorage(cfg Config, keys *keyRing, clients map[string]*opClient, stats *counters) *storage {
	s := &storage{
		now:           cfg.Now,
		accessTTL:     cfg.AccessTokenLifetime,
		refreshTT:     cfg.RefreshTokenLifetime,
		keys:          keys,
		clients:       clients,
		users:         make(map[string]User, len(cfg.Users)),
		byName:        make(map[string]User, len(cfg.Users)),
		stats:         stats,
		log:           cfg.Logger,
		omitSID:       cfg.OmitSID,
		grace:         cfg.RefreshGracePeriod,
		authRequests:  make(map[string]*authRequest),
		codes:         make(map[string]*codeRecord),
		grants:        make(map[string]*grant),
		accessTokens:  make(map[string]*accessToken),
		refreshTokens: make(map[string]*refreshToken),
		sessions:      make(map[string]*opSession),
	}
	for _, u := range cfg.Users {
		s.users[u.Subject] = u
		s.byName[u.Username] = u
	}
	return s
}

// hashSecret is the storage key of a bearer value (token, code, cookie).
func hashSecret(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// equalSecret compares in constant time, also across lengths.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// checkPassword returns the user when username and password match, comparing in
// constant time even for an unknown username.
func (s *storage) checkPassword(username, password string) (User, bool) {
	u, known := s.byName[username]
	want := u.Password
	if !known {
		want = "\x00unknown user"
	}
	ok := equalSecret(password, want)
	return u, ok && known
}

// GetClientByClientID implements op.OPStorage.
func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("client %q: %w", clientID, errNotFound)
	}
	return c, nil
}

// AuthorizeClientIDSecret implements op.OPStorage (client_secret_basic and _post).
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	c, ok := s.clients[clientID]
	want := "\x00unknown client"
	if ok && c.PublicKey == nil { // a key client has no secret: "" must not pass
		want = c.Secret
	}
	if !equalSecret(secret, want) || !ok {
		return errBadClientSecret
	}
	return nil
}

// SigningKey implements op.AuthStorage.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.keys.signing(), nil }

// SignatureAlgorithms implements op.AuthStorage.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet implements op.AuthStorage: the JWKS holds the public signing key (and, after
// RotateSigningKey, the one before it).
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return s.keys.published(), nil
}

// GetKeyByIDAndClientID implements op.OPStorage: the public key of a private_key_jwt
// client, for its client assertions. (The JWT profile grant itself stays refused:
// ValidateJWTProfileScopes.)
func (s *storage) GetKeyByIDAndClientID(_ context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, ok := s.clients[clientID]
	if !ok || c.PublicKey == nil || c.PublicKey.KeyID != keyID {
		return nil, errJWTProfile
	}
	return c.PublicKey, nil
}

// ValidateJWTProfileScopes implements op.OPStorage; the JWT profile grant is not offered.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errJWTProfile
}

// Health implements op.Storage.
func (s *storage) Health(context.Context) error { return nil }

// collectLocked drops expired records, at most once per gcInterval. s.mu MUST be held.
func (s *storage) collectLocked(now time.Time) {
	if now.Sub(s.lastGC) < gcInterval {
		return
	}
	s.lastGC = now
	for id, r := range s.authRequests {
		if now.After(r.created.Add(authRequestTTL)) {
			delete(s.authRequests, id)
		}
	}
	for id, g := range s.grants {
		if now.After(g.expires) {
			delete(s.grants, id)
		}
	}
	for h, c := range s.codes {
		if _, live := s.grants[c.grantID]; now.After(c.expires) && (!c.used || !live) {
			delete(s.codes, h)
		}
	}
	for id, t := range s.accessTokens {
		if now.After(t.expires) {
			delete(s.accessTokens, id)
		}
	}
	for h, t := range s.refreshTokens {
		if now.After(t.expires) {
			delete(s.refreshTokens, h)
		}
	}
	for h, sess := range s.sessions {
		if now.After(sess.expires) {
			delete(s.sessions, h)
		}
	}
}
