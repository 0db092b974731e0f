package session

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisMode is the deployment a store URL names.
type redisMode int

const (
	modeSingle redisMode = iota
	modeSentinel
	modeCluster
)

func (m redisMode) String() string {
	return [...]string{"single", "sentinel", "cluster"}[m]
}

// redisTarget is a parsed store URL: the options of exactly one go-redis client kind.
type redisTarget struct {
	mode     redisMode
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// errRedisURL is the reason given for a URL that url.Parse refuses. url.Parse's own
// error quotes the whole URL, password included, so it is never wrapped.
var errRedisURL = errors.New("session: redis URL: not a valid URL")

// parseRedisURL reads the forms documented in the package doc (doc.go): plain
// redis:// / rediss:// / unix:// for one node, "+sentinel" and "+cluster" schemes,
// or, on a plain scheme, master_name= (Sentinel) or addr= (Cluster) in the query.
// Query options are go-redis's (ParseURL, ParseFailoverURL, ParseClusterURL).
// Errors never contain the password.
func parseRedisURL(raw string) (redisTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return redisTarget{}, errRedisURL
	}
	base, mode, err := redisScheme(u)
	if err != nil {
		return redisTarget{}, err
	}
	u.Scheme = base
	t := redisTarget{mode: mode}
	switch mode {
	case modeSentinel:
		t.failover, err = parseSentinelURL(u)
	case modeCluster:
		t.cluster, err = redis.ParseClusterURL(u.String())
	default:
		t.single, err = redis.ParseURL(u.String())
	}
	if err != nil {
		// go-redis's parse errors name options, paths and addresses, not passwords.
		return redisTarget{}, fmt.Errorf("session: redis URL (%s): %w", mode, err)
	}
	return t, nil
}

// redisScheme splits "redis+sentinel" into ("redis", modeSentinel) and guesses the
// mode of a plain scheme from its query.
func redisScheme(u *url.URL) (string, redisMode, error) {
	base, suffix, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	switch {
	case base != "redis" && base != "rediss" && !(base == "unix" && suffix == ""):
		return "", 0, fmt.Errorf("session: redis URL: unsupported scheme %q", u.Scheme)
	case suffix == "sentinel":
		return base, modeSentinel, nil
	case suffix == "cluster":
		return base, modeCluster, nil
	case suffix != "":
		return "", 0, fmt.Errorf("session: redis URL: unsupported scheme %q", u.Scheme)
	case base == "unix":
		return base, modeSingle, nil
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		return base, modeSentinel, nil
	case q.Has("addr"):
		return base, modeCluster, nil
	}
	return base, modeSingle, nil
}

// parseSentinelURL parses a Sentinel URL: userinfo authenticates to the sentinels
// and, unless the query's username=/password= set the data nodes' own, to the data
// nodes too. master_name is required.
func parseSentinelURL(u *url.URL) (*redis.FailoverOptions, error) {
	o, err := redis.ParseFailoverURL(u.String())
	if err != nil {
		return nil, err
	}
	if o.MasterName == "" {
		return nil, errors.New("master_name is required")
	}
	if o.Username == "" && o.Password == "" {
		o.Username, o.Password = o.SentinelUsername, o.SentinelPassword
	}
	return o, nil
}

// tighten bounds the client so a dead or black-holed Redis fails within opTimeout:
// socket, dial and pool timeouts at most opTimeout, one retry and one dial attempt
// unless the URL asks for more retries, context deadlines honoured.
func (t redisTarget) tighten(opTimeout time.Duration) {
	t.limits().apply(opTimeout)
}

// limits points at the target's timeout and retry fields.
func (t redisTarget) limits() clientLimits {
	switch {
	case t.failover != nil:
		o := t.failover
		return clientLimits{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.MaxRetryBackoff, &o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled}
	case t.cluster != nil:
		o := t.cluster
		return clientLimits{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.MaxRetryBackoff, &o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled}
	default:
		o := t.single
		return clientLimits{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.MaxRetryBackoff, &o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled}
	}
}

// client builds the go-redis client of the target.
func (t redisTarget) client() redis.UniversalClient {
	switch {
	case t.failover != nil:
		return redis.NewFailoverClient(t.failover)
	case t.cluster != nil:
		return redis.NewClusterClient(t.cluster)
	default:
		return redis.NewClient(t.single)
	}
}

// clientLimits points at the same fields of the three go-redis option structs.
type clientLimits struct {
	dial, read, write, pool, maxBackoff *time.Duration
	retries, dialRetries                *int
	contextTimeout                      *bool
}

// Retry and backoff limits applied when the URL leaves them unset.
const (
	defaultMaxRetries      = 1
	defaultDialerRetries   = 1
	defaultMaxRetryBackoff = 100 * time.Millisecond
)

func (l clientLimits) apply(opTimeout time.Duration) {
	for _, d := range []*time.Duration{l.dial, l.read, l.write, l.pool} {
		if *d <= 0 || *d > opTimeout {
			*d = opTimeout
		}
	}
	if *l.maxBackoff == 0 {
		*l.maxBackoff = defaultMaxRetryBackoff
	}
	if *l.retries == 0 {
		*l.retries = defaultMaxRetries
	}
	if *l.dialRetries <= 0 {
		*l.dialRetries = defaultDialerRetries
	}
	*l.contextTimeout = true
}

// RedactRedisURL returns raw fit for a log line or a message: the password of the
// userinfo and of every query option whose name mentions a password (sentinel_password)
// replaced by "xxxxx". A URL that does not parse is not shown at all.
func RedactRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a valid URL)"
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
