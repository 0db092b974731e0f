package session

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gorilla/securecookie"
)

// MaxCookieValue is the longest cookie value Decode looks at; longer values are
// refused before any decoding work, and Encode refuses to produce them.
const MaxCookieValue = 4096

// ErrCookieInvalid wraps every Decode failure: too long, not canonical, not authentic
// (tampered, forged, for another cookie name or under a retired key), expired or
// malformed. Its messages never contain the cookie value.
var ErrCookieInvalid = errors.New("session: cookie invalid")

// CookieCodec signs (HMAC-SHA256) and encrypts (AES-256-CTR) cookie values with
// gorilla/securecookie, one codec per ring key: the newest encodes, all decode, so
// keys rotate without logging anyone out. Values are serialized as JSON (a session
// id, a string, costs its length plus two quotes).
//
// The cookie name is authenticated with the value: a value issued for one cookie does
// not decode under another name.
//
// A CookieCodec is immutable after NewCookieCodec and safe for concurrent use.
type CookieCodec struct {
	codecs []securecookie.Codec
	// maxAge is the value's signed timestamp's age limit in seconds (0: none), as the
	// codecs check it: a CookieMemo must not serve a value past it.
	maxAge int64
}

// NewCookieCodec returns a codec over every key of ring. maxAge bounds the age of the
// value's signed timestamp (rounded up to whole seconds; securecookie checks it
// against the wall clock). maxAge <= 0 turns that check off: the caller MUST then bound
// the value's life by other means (the session cookie's life is bounded server-side by
// the record's expiry; a login cookie MUST carry its own issue time).
func NewCookieCodec(ring *KeyRing, maxAge time.Duration) *CookieCodec {
	if ring == nil {
		return &CookieCodec{}
	}
	pairs := make([][]byte, 0, 2*len(ring.keys))
	for _, k := range ring.keys {
		pairs = append(pairs, k.cookieHash, k.cookieBlock)
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.MaxAge(ageSeconds(maxAge))
		sc.MaxLength(MaxCookieValue)
		sc.SetSerializer(securecookie.JSONEncoder{})
	}
	return &CookieCodec{codecs: codecs, maxAge: int64(ageSeconds(maxAge))}
}

// ageSeconds rounds maxAge up to whole seconds; <= 0 means no limit.
func ageSeconds(maxAge time.Duration) int {
	if maxAge <= 0 {
		return 0
	}
	return int(min(math.Ceil(maxAge.Seconds()), math.MaxInt32))
}

// Encode seals value (anything encoding/json accepts) for the cookie called name with
// the newest key. The result is URL-safe base64, at most MaxCookieValue bytes.
func (c *CookieCodec) Encode(name string, value any) (string, error) {
	if len(c.codecs) == 0 {
		return "", fmt.Errorf("session: encode cookie %q: %w: empty key ring", name, ErrInvalidKey)
	}
	// Only the newest codec encodes: EncodeMulti would fall back to an older key
	// on error, which must never happen.
	v, err := c.codecs[0].Encode(name, value)
	if err != nil {
		// securecookie's encode errors are fixed strings or JSON type errors: no value.
		return "", fmt.Errorf("session: encode cookie %q: %w", name, err)
	}
	return v, nil
}

// Decode opens a value made by Encode for the same name with any ring key into dst (a
// pointer). Values longer than MaxCookieValue, or not in canonical base64url (so each
// encoded value has exactly one spelling), are refused before any cryptographic work.
// Errors wrap ErrCookieInvalid and never contain the value.
func (c *CookieCodec) Decode(name, value string, dst any) error {
	_, err := c.DecodeStale(name, value, dst)
	return err
}

// DecodeStale is Decode that also reports whether an older key than the newest opened
// the value: the caller then re-issues the cookie sealed with the newest key, so that
// the older key can be retired (key rotation).
func (c *CookieCodec) DecodeStale(name, value string, dst any) (stale bool, err error) {
	if err := precheckCookie(value); err != nil {
		return false, fmt.Errorf("session: decode cookie %q: %w", name, err)
	}
	if len(c.codecs) == 0 {
		return false, fmt.Errorf("session: decode cookie %q: %w: empty key ring", name, ErrInvalidKey)
	}
	first := c.codecs[0].Decode(name, value, dst)
	if first == nil {
		return false, nil
	}
	errs := securecookie.MultiError{first}
	if len(c.codecs) > 1 {
		rest := securecookie.DecodeMulti(name, value, dst, c.codecs[1:]...)
		if rest == nil {
			return true, nil
		}
		var multi securecookie.MultiError
		if errors.As(rest, &multi) {
			errs = append(errs, multi...)
		}
	}
	err = errs
	return false, fmt.Errorf("session: decode cookie %q: %w", name, decodeReason(err))
}

// Reasons Decode gives; each wraps ErrCookieInvalid.
var (
	errCookieEmpty     = fmt.Errorf("%w: empty", ErrCookieInvalid)
	errCookieTooLong   = fmt.Errorf("%w: longer than %d bytes", ErrCookieInvalid, MaxCookieValue)
	errCookieEncoding  = fmt.Errorf("%w: not canonical base64url", ErrCookieInvalid)
	errCookieNotAuthn  = fmt.Errorf("%w: not authentic (tampered, forged, other name or retired key)", ErrCookieInvalid)
	errCookieMalformed = fmt.Errorf("%w: expired or malformed", ErrCookieInvalid)
)

// precheckCookie refuses, cheaply and first, what cannot be a value made by Encode.
// Canonical means: only base64url characters and padding, and zero padding bits
// (Go's decoder would otherwise accept several spellings of one value).
func precheckCookie(value string) error {
	switch {
	case value == "":
		return errCookieEmpty
	case len(value) > MaxCookieValue:
		return errCookieTooLong
	}
	for i := 0; i < len(value); i++ {
		if !isBase64URLByte(value[i]) {
			return errCookieEncoding
		}
	}
	if _, err := base64.URLEncoding.Strict().DecodeString(value); err != nil {
		return errCookieEncoding
	}
	return nil
}

func isBase64URLByte(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' ||
		b == '-' || b == '_' || b == '='
}

// decodeReason maps securecookie's errors to ours without their text: "not authentic"
// when no key's MAC matched, else the MAC matched but the timestamp or the payload
// was refused.
func decodeReason(err error) error {
	var multi securecookie.MultiError
	if !errors.As(err, &multi) {
		return errCookieMalformed
	}
	for _, e := range multi {
		if !errors.Is(e, securecookie.ErrMacInvalid) {
			return errCookieMalformed
		}
	}
	return errCookieNotAuthn
}
