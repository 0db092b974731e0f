package dpop

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Verification errors. Every failure wraps ErrInvalidProof; a missing or stale nonce
// wraps ErrUseNonce too (answer with a fresh DPoP-Nonce and error use_dpop_nonce).
var (
	ErrInvalidProof = errors.New("dpop: invalid proof")
	ErrUseNonce     = fmt.Errorf("%w: nonce required", ErrInvalidProof)
	ErrReplay       = fmt.Errorf("%w: replayed jti", ErrInvalidProof)
	// ErrReplayCacheFull: the verifier holds its maximum of unexpired jti values and
	// cannot record one more, so it refuses the proof (fail closed) rather than accept
	// one it could not refuse the second time.
	ErrReplayCacheFull = fmt.Errorf("%w: replay cache full", ErrInvalidProof)
)

// DefaultWindow is how far a proof's iat may lie from the verifier's clock, either way.
const DefaultWindow = time.Minute

// DefaultMaxEntries bounds the replay cache: the jti values seen within twice the window
// (100k entries, a few tens of MB at most; about 800 proofs a second with the default
// window).
const DefaultMaxEntries = 100_000

// maxProofLen bounds a proof before it is parsed: an RS256 proof is about 1.5 KB.
const maxProofLen = 8 << 10

// verifyAlgs are the asymmetric algorithms a proof may use; none and HS* never.
var verifyAlgs = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.RS256, jose.PS256,
}

// Verifier checks DPoP proofs (RFC 9449 §4.3) and refuses replays: a jti is accepted once
// within twice the window. Its replay cache is bounded (SetMaxEntries, DefaultMaxEntries):
// when it is full of unexpired entries, every new proof is refused with
// ErrReplayCacheFull until some expire (fail closed: an unrecorded proof could be
// replayed). Safe for concurrent use; make it with NewVerifier.
type Verifier struct {
	now    func() time.Time
	window time.Duration

	mu    sync.Mutex
	max   int
	seen  map[string]time.Time // jkt+jti -> when it may be forgotten
	order []seenEntry          // the same entries in the order recorded, oldest first
}

// seenEntry is one recorded jkt+jti and when it may be forgotten.
type seenEntry struct {
	key   string
	until time.Time
}

// NewVerifier returns a Verifier on clock now (nil: time.Now) accepting an iat within
// window of it (0: DefaultWindow).
func NewVerifier(now func() time.Time, window time.Duration) *Verifier {
	if now == nil {
		now = time.Now
	}
	if window <= 0 {
		window = DefaultWindow
	}
	return &Verifier{now: now, window: window, max: DefaultMaxEntries, seen: map[string]time.Time{}}
}

// SetMaxEntries bounds the replay cache to n unexpired proofs (n <= 0: DefaultMaxEntries).
// Size it for the peak proofs per twice the window the verifier must accept.
func (v *Verifier) SetMaxEntries(n int) {
	if n <= 0 {
		n = DefaultMaxEntries
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.max = n
}

// Check is what a proof must match.
type Check struct {
	// Method and URL of the request as the verifier received it.
	Method string
	URL    *url.URL
	// AccessToken, for a resource request, must hash to the proof's ath; "" for a token
	// request (then ath must be absent).
	AccessToken string
	// JKT, when set, is the thumbprint the token is bound to (cnf.jkt): the proof's key
	// must be that key.
	JKT string
	// Nonce, when set, is the nonce the server currently demands.
	Nonce string
}

// Proof is a verified proof: its key's thumbprint and its jti.
type Proof struct {
	JKT, JTI string
	IAT      time.Time
}

// Verify checks one proof (the DPoP header's value) against c: one compact JWS of an
// allowed asymmetric algorithm, typ dpop+jwt, a public jwk header whose key made the
// signature, htm and htu matching the request, iat within the window, ath the token's
// hash, the nonce, the key's thumbprint, and a jti not seen before.
func (v *Verifier) Verify(proof string, c Check) (*Proof, error) {
	jwk, cl, err := parseProof(proof)
	if err != nil {
		return nil, err
	}
	jkt, err := Thumbprint(jwk)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if err := v.checkClaims(cl, c, jkt); err != nil {
		return nil, err
	}
	if err := v.once(jkt, cl.JTI); err != nil {
		return nil, err
	}
	return &Proof{JKT: jkt, JTI: cl.JTI, IAT: time.Unix(cl.IAT, 0)}, nil
}

// parseProof verifies the JWS with the key in its own header and returns key and claims.
func parseProof(proof string) (*jose.JSONWebKey, *claims, error) {
	if proof == "" || len(proof) > maxProofLen {
		return nil, nil, fmt.Errorf("%w: missing or oversized", ErrInvalidProof)
	}
	jws, err := jose.ParseSignedCompact(proof, verifyAlgs)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != proofType {
		return nil, nil, fmt.Errorf("%w: typ is not %s", ErrInvalidProof, proofType)
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return nil, nil, fmt.Errorf("%w: no public jwk header", ErrInvalidProof)
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: signature: %w", ErrInvalidProof, err)
	}
	var cl claims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, nil, fmt.Errorf("%w: claims: %w", ErrInvalidProof, err)
	}
	return jwk, &cl, nil
}

func (v *Verifier) checkClaims(cl *claims, c Check, jkt string) error {
	switch {
	case cl.JTI == "" || len(cl.JTI) > 256:
		return fmt.Errorf("%w: jti", ErrInvalidProof)
	case cl.HTM != c.Method:
		return fmt.Errorf("%w: htm does not match the request", ErrInvalidProof)
	case c.URL == nil || cl.HTU != HTU(c.URL):
		return fmt.Errorf("%w: htu does not match the request", ErrInvalidProof)
	case !equal(cl.ATH, athOf(c.AccessToken)):
		return fmt.Errorf("%w: ath does not match the access token", ErrInvalidProof)
	case c.JKT != "" && !equal(jkt, c.JKT):
		return fmt.Errorf("%w: the proof's key is not the token's (cnf.jkt)", ErrInvalidProof)
	case c.Nonce != "" && !equal(cl.Nonce, c.Nonce):
		return ErrUseNonce
	}
	iat, now := time.Unix(cl.IAT, 0), v.now()
	if iat.Before(now.Add(-v.window)) || iat.After(now.Add(v.window)) {
		return fmt.Errorf("%w: iat outside the window", ErrInvalidProof)
	}
	return nil
}

func athOf(token string) string {
	if token == "" {
		return ""
	}
	return ATH(token)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// once records jkt+jti, refusing one seen within twice the window (a proof older than
// that fails the iat check anyway). Entries are forgotten oldest first as they expire, so
// a check costs no scan; when v.max unexpired entries remain the proof is refused.
func (v *Verifier) once(jkt, jti string) error {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.forgetExpired(now)
	key := jkt + "." + jti
	if _, dup := v.seen[key]; dup {
		return ErrReplay
	}
	if len(v.seen) >= v.max {
		return ErrReplayCacheFull
	}
	until := now.Add(2 * v.window)
	v.seen[key] = until
	v.order = append(v.order, seenEntry{key: key, until: until})
	return nil
}

// forgetExpired drops the expired entries at the head of v.order. Entries are recorded
// with a non-decreasing until on a sane clock; should the clock step back, a later entry
// only waits behind an earlier one, which keeps it longer, never shorter.
func (v *Verifier) forgetExpired(now time.Time) {
	i := 0
	for i < len(v.order) && now.After(v.order[i].until) {
		delete(v.seen, v.order[i].key)
		i++
	}
	v.order = v.order[i:]
}
