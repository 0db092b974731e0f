package config

import (
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"
)

// keySize is the length in bytes of one session key.
const keySize = 32

// maxPendingLoginsLimit caps session.maxPendingLogins: each pending login is a 43-byte
// handle in the login cookie, which must stay far from header limits (431).
const maxPendingLoginsLimit = 20

// redisSchemes are the URL schemes session.redisURL may use, as the session package
// reads them: one node (redis, rediss, unix), Sentinel (+sentinel, or master_name= in
// the query) and Cluster (+cluster, or addr= in the query).
var redisSchemes = []string{
	"redis", "rediss", "unix",
	"redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster",
}

// recordFormats are the values of session.recordFormat (session.ParseRecordFormat).
var recordFormats = []string{"json", "compact"}

func validateSession(s Session, publicURL string, ps *problems) {
	if !slices.Contains(sessionStores, s.Store) {
		ps.add("session.store", "%q %s (empty means embedded)", s.Store, oneOf("embedded", "redis"))
	}
	validateRedisURL(s, ps)
	positive("session.idleTimeout", s.IdleTimeout, ps)
	positive("session.absoluteTimeout", s.AbsoluteTimeout, ps)
	if s.IdleTimeout > s.AbsoluteTimeout && s.AbsoluteTimeout > 0 {
		ps.add("session.idleTimeout", "must not exceed session.absoluteTimeout")
	}
	positive("session.loginTimeout", s.LoginTimeout, ps)
	if s.CacheTTL < 0 || s.CacheTTL > 10*time.Second {
		ps.add("session.cacheTTL", "must be 0 (off) to 10s")
	}
	if s.ExpiryWarning < 0 {
		ps.add("session.expiryWarning", "must not be negative (0 sends no expiring events)")
	}
	if s.RecordFormat != "" && !slices.Contains(recordFormats, s.RecordFormat) {
		ps.add("session.recordFormat", "%q %s", s.RecordFormat, oneOf(recordFormats...))
	}
	if s.CoherentCacheTTL < 0 || s.CoherentCacheTTL > time.Hour {
		ps.add("session.coherentCacheTTL", "must be 0 (off) to 1h")
	}
	if s.CacheMaxEntries < 1 || s.CacheMaxEntries > 10_000_000 {
		ps.add("session.cacheMaxEntries", "must be 1 to 10000000")
	}
	validateKeys(s.Keys, s.KeysFile, ps)
	validateCookieName(s.CookieName, publicURL, ps)
	if !slices.Contains(sameSites, s.SameSite) {
		ps.add("session.sameSite", "%q %s", s.SameSite, oneOf(sameSites...))
	}
	if s.MaxPendingLogins < 1 || s.MaxPendingLogins > maxPendingLoginsLimit {
		ps.add("session.maxPendingLogins", "must be from 1 to %d", maxPendingLoginsLimit)
	}
}

// validateRedisURL: a redis store needs a URL; any other store must not have one (it
// would be silently ignored and sessions silently not shared). The URL may hold a
// password, so no message quotes it.
func validateRedisURL(s Session, ps *problems) {
	if s.Store != "redis" {
		if s.RedisURL != "" {
			ps.add("session.redisURL", "is set but session.store is not redis: set session.store: redis, or remove it")
		}
		return
	}
	if s.RedisURL == "" {
		ps.add("session.redisURL", "%s (session.store is redis)", requiredSecret("session.redisURLFile", s.RedisURLFile))
		return
	}
	if msg := redisURLProblem(s.RedisURL); msg != "" {
		ps.add("session.redisURL", "%s", msg)
	}
}

// redisURLProblem checks the shape of a Redis URL; the session package parses the
// go-redis query options when it connects. It never quotes raw (it may hold a password).
func redisURLProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a valid URL"
	case !slices.Contains(redisSchemes, u.Scheme):
		return "scheme " + oneOf(redisSchemes...) + " (see docs/configuration.md)"
	case u.Scheme == "unix" && u.Path == "":
		return "a unix:// URL must name the socket path"
	case u.Scheme != "unix" && u.Hostname() == "":
		return "must name a host (percent-encode @ : / # ? in the password)"
	case u.Fragment != "":
		return "must not have a fragment (percent-encode # in the password)"
	case strings.HasSuffix(u.Scheme, "+sentinel") && u.Query().Get("master_name") == "":
		return "a Sentinel URL needs master_name= in the query"
	}
	return ""
}

// validateKeys: at least one key; each the standard base64 of exactly 32 bytes, not
// all zero, and no two alike. Messages name the index, never the key.
func validateKeys(keys []string, keysFile string, ps *problems) {
	if len(keys) == 0 {
		ps.add("session.keys", "%s; make keys with `bff keygen`", requiredSecret("session.keysFile", keysFile))
		return
	}
	decoded := make([][]byte, len(keys))
	for i, k := range keys {
		path := indexPath("session.keys", i)
		raw, err := base64.StdEncoding.Strict().DecodeString(k)
		switch {
		case err != nil || strings.ContainsAny(k, "\r\n"):
			ps.add(path, "is not standard base64 (make one with `bff keygen`)")
		case len(raw) != keySize:
			ps.add(path, "decodes to %d bytes, want %d", len(raw), keySize)
		case subtle.ConstantTimeCompare(raw, make([]byte, keySize)) == 1:
			ps.add(path, "is all zero bytes (a placeholder, not a key)")
		default:
			decoded[i] = raw
			if j := duplicateOf(decoded, i); j >= 0 {
				ps.add(path, "duplicates session.keys[%d]", j)
			}
		}
	}
}

// duplicateOf returns the index of an earlier key equal to keys[i], or -1.
func duplicateOf(keys [][]byte, i int) int {
	for j := range i {
		if keys[j] != nil && subtle.ConstantTimeCompare(keys[j], keys[i]) == 1 {
			return j
		}
	}
	return -1
}

// loginCookieName is the name of the BFF's login-in-progress cookie (package handler):
// the session cookie cannot share it.
const loginCookieName = "__Host-bff-login"

// validateCookieName: an RFC 6265 token; the __Host- and __Secure- prefixes need a
// Secure cookie, which browsers accept only on an https origin or a loopback http one.
func validateCookieName(name, publicURL string, ps *problems) {
	if !isToken(name) {
		ps.add("session.cookieName", "%q is not a cookie name (an RFC 6265 token)", name)
		return
	}
	if strings.EqualFold(name, loginCookieName) {
		ps.add("session.cookieName", "%q is reserved for the login cookie", name)
	}
	lower := strings.ToLower(name)
	prefixed := strings.HasPrefix(lower, "__host-") || strings.HasPrefix(lower, "__secure-")
	if prefixed && isWebOrigin(publicURL) && !securePublicURL(publicURL) {
		ps.add("session.cookieName", "a __Host-/__Secure- cookie needs an https server.publicURL (or http on localhost)")
	}
}
