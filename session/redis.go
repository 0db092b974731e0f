package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultKeyPrefix = "bff:"
	DefaultOpTimeout = time.Second
)

// MaxSealedRecord bounds a sealed record: Save refuses larger ones and Get never reads
// one (the size is checked inside Redis before the value is sent).
const MaxSealedRecord = 64 << 10

// Options configure the Redis store (NewRedis) and the embedded store (NewEmbedded).
type Options struct {
	// URL of the Redis deployment; see the package doc for the accepted forms.
	// Exactly one of URL and Client for NewRedis; neither for NewEmbedded.
	URL string
	// Client is an alternative to URL: a client the caller built and owns (Close does
	// not close it). It SHOULD have ContextTimeoutEnabled set; every call is bounded
	// by OpTimeout through its context either way.
	Client redis.UniversalClient
	// Keys seal records at rest and name the indexes. Required.
	Keys *KeyRing
	// IdleTimeout ends a record unused this long (Get slides it). Required, > 0.
	IdleTimeout time.Duration
	// KeyPrefix is put in front of every Redis key and channel. Default "bff:".
	KeyPrefix string
	// OpTimeout bounds every operation (one script, one pipeline). Default 1s.
	OpTimeout time.Duration
	// Now is the clock for absolute expiry. Default time.Now.
	Now func() time.Time
	// RecordFormat is the encoding Save and Update write (both are always read). Default
	// RecordJSON, which the previous release reads too (docs/operations.md).
	RecordFormat RecordFormat
}

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	var problems []error
	if o.Keys == nil || len(o.Keys.keys) == 0 {
		problems = append(problems, errors.New("session: options: Keys is required"))
	}
	if o.IdleTimeout <= 0 {
		problems = append(problems, errors.New("IdleTimeout must be > 0"))
	}
	if o.OpTimeout < 0 {
		problems = append(problems, errors.New("OpTimeout must not be negative"))
	}
	if o.RecordFormat > RecordCompact {
		problems = append(problems, errors.New("RecordFormat is unknown"))
	}
	if err := errors.Join(problems...); err != nil {
		return o, fmt.Errorf("session: store options: %w", err)
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = DefaultOpTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// NewRedis returns the Redis store. It does no I/O: a Redis that is down at startup
// shows as ErrUnavailable from the operations and from Ping (readiness), and the
// store heals when Redis comes back. ctx is reserved for startup I/O.
func NewRedis(ctx context.Context, opts Options) (Store, error) {
	if (opts.URL == "") == (opts.Client == nil) {
		return nil, errors.New("session: store options: exactly one of URL and Client is required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Client != nil {
		return newRedisStore(opts, opts.Client, nil), nil
	}
	target, err := parseRedisURL(opts.URL)
	if err != nil {
		return nil, err
	}
	target.tighten(opts.OpTimeout)
	client := target.client()
	s := newRedisStore(opts, client, client.Close)
	if target.mode == modeSentinel {
		s.endedProbe = defaultEndedProbe // see watchEndedOnce
	}
	return s, nil
}

// redisStore is the Store on Redis (single node, Sentinel or Cluster) and, through
// NewEmbedded, on miniredis. Safe for concurrent use.
type redisStore struct {
	client    redis.UniversalClient
	keys      *KeyRing
	idle      time.Duration
	prefix    string
	opTimeout time.Duration
	now       func() time.Time
	// pollMin and pollMax bound WaitUnlock's re-check backoff.
	pollMin, pollMax time.Duration
	// idleArg and coverArg are the idle timeout and coverThreshold in ms, boxed once:
	// Get passes them on every call, and boxing an int64 allocates.
	idleArg, coverArg any
	// format is the encoding records are written in (Options.RecordFormat).
	format RecordFormat
	// endedProbe is how often WatchEnded checks that its subscription still hears; 0
	// (single node, Cluster) does not check.
	endedProbe time.Duration

	closeOnce sync.Once
	closeErr  error
	closers   []func() error // run by Close, in order
}

var _ Store = (*redisStore)(nil)

// Default WaitUnlock re-check backoff: a lease that expires without a release (a
// crashed holder) is noticed within pollMax.
const (
	defaultPollMin = 200 * time.Millisecond
	defaultPollMax = 2 * time.Second
)

func newRedisStore(opts Options, client redis.UniversalClient, closer func() error) *redisStore {
	s := &redisStore{
		client: client, keys: opts.Keys, idle: opts.IdleTimeout, prefix: opts.KeyPrefix,
		opTimeout: opts.OpTimeout, now: opts.Now, pollMin: defaultPollMin, pollMax: defaultPollMax,
		format: opts.RecordFormat,
	}
	s.idleArg, s.coverArg = s.idle.Milliseconds(), s.coverThreshold().Milliseconds()
	if closer != nil {
		s.closers = append(s.closers, closer)
	}
	return s
}

// Redis key names. Only hashes and HMACs appear in them: never an id, a sid or a
// subject.
func (s *redisStore) recordKey(idHash string) string { return s.prefix + "s:" + idHash }
func (s *redisStore) lockKey(idHash string) string   { return s.prefix + "lock:" + idHash }
func (s *redisStore) unlockChannel(idHash string) string {
	return s.prefix + "unlock:" + idHash
}
func (s *redisStore) onceKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return s.prefix + "once:" + hex.EncodeToString(sum[:])
}

// indexName names the index of a sid or subject under one ring key: kind + ":" + an
// HMAC, not a plain hash, so a dump cannot confirm a guessed subject (e-mail, employee
// number). Records keep the names of their indexes (field i), so that deleting one can
// take it out of them.
func indexName(k *ringKey, kind, value string) string {
	m := hmac.New(sha256.New, k.indexKey)
	m.Write([]byte(kind + "\x00" + value))
	return kind + ":" + hex.EncodeToString(m.Sum(nil))
}

// indexKey is prefix + indexName: the rate limiter's key, and where the release before
// sorted indexes keeps a sid or subject index (a plain set whose TTL covers its members'
// absolute expiry). This release still writes those legacy sets beside the sorted ones
// (legacyIndexCalls) and takes ended sessions out of both, so that replicas of the
// previous release, during a rolling update or after a rollback, find every session;
// the next release may stop writing them, and they then empty and expire within one
// absolute timeout.
func (s *redisStore) indexKey(k *ringKey, kind, value string) string {
	return s.prefix + indexName(k, kind, value)
}

// legacySetKey is the plain set of an index name (see indexKey).
func (s *redisStore) legacySetKey(name string) string { return s.prefix + name }

// indexSetKey is the sorted set of an index name: members are id hashes, scored by
// their coverage (see redis_coverage.go).
func (s *redisStore) indexSetKey(name string) string { return s.prefix + "ix:" + name }

// op bounds one operation by OpTimeout.
func (s *redisStore) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}

// errOpTimeout replaces a context error caused by OpTimeout (not by the caller), so
// errors.Is(err, context.DeadlineExceeded) stays true only for the caller's deadline.
var errOpTimeout = errors.New("operation timed out")

// fail wraps a backend failure: always ErrUnavailable, plus the caller's context error
// when the caller's ctx (not OpTimeout) ended it.
func (s *redisStore) fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("session: redis %s: %w: %w", op, ErrUnavailable, cerr)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%w after %s", errOpTimeout, s.opTimeout)
	}
	return fmt.Errorf("session: redis %s: %w: %w", op, ErrUnavailable, err)
}

// Get implements Store: ONE round trip (getScript), then the record is opened here.
func (s *redisStore) Get(ctx context.Context, id string) (*Record, error) {
	idHash := IDHash(id)
	now := s.now()
	octx, cancel := s.op(ctx)
	defer cancel()
	v, err := runScript(octx, s.client, scriptCall{getScript, s.recordKey(idHash),
		[]any{now.UnixMilli(), s.idleArg, MaxSealedRecord, s.coverArg}}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, fmt.Errorf("session: get: %w", ErrNotFound)
	case err != nil:
		return nil, s.fail(ctx, "get", err)
	}
	if due, ok := v.([]any); ok && len(due) == 3 { // the coverage ends soon: extend it
		v = due[0]
		s.extendCoverage(ctx, idHash, due[1:])
	}
	sealed, ok := v.(string)
	if !ok { // getScript's -1: the value is over MaxSealedRecord and was not sent
		return nil, fmt.Errorf("session: get: %w: %w: larger than %d bytes", ErrNotFound, ErrUnreadable, MaxSealedRecord)
	}
	// The reply's bytes are only read (AES-GCM opens into a fresh plaintext): no copy.
	rec, err := openRecord(s.keys, idHash, bytesOf(sealed))
	if err != nil {
		return nil, fmt.Errorf("session: get: %w: %w", ErrNotFound, err)
	}
	if !now.Before(rec.AbsoluteExpiry) {
		// The stored expiry field disagreed with the sealed one: trust the sealed one.
		return nil, fmt.Errorf("session: get: %w", ErrNotFound)
	}
	if !s.keys.sealedByNewest(bytesOf(sealed)) {
		// Key rotation: re-seal with the newest key on use, so the old key can be
		// retired. Once per session; a failure only means trying again next time. Update,
		// not Save: a logout between this read and the write must not be undone.
		_ = s.Update(ctx, id, rec)
	}
	return rec, nil
}

// Peek implements Store: one round trip (peekScript), nothing written.
func (s *redisStore) Peek(ctx context.Context, idHash string) (*Record, time.Time, error) {
	now := s.now()
	octx, cancel := s.op(ctx)
	defer cancel()
	v, err := runScript(octx, s.client, scriptCall{peekScript, s.recordKey(idHash),
		[]any{now.UnixMilli(), MaxSealedRecord}}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, time.Time{}, fmt.Errorf("session: peek: %w", ErrNotFound)
	case err != nil:
		return nil, time.Time{}, s.fail(ctx, "peek", err)
	}
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 { // peekScript's -1: over MaxSealedRecord
		return nil, time.Time{}, fmt.Errorf("session: peek: %w: %w: larger than %d bytes", ErrNotFound, ErrUnreadable, MaxSealedRecord)
	}
	sealed, _ := pair[0].(string)
	rec, err := openRecord(s.keys, idHash, bytesOf(sealed))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("session: peek: %w: %w", ErrNotFound, err)
	}
	if !now.Before(rec.AbsoluteExpiry) {
		return nil, time.Time{}, fmt.Errorf("session: peek: %w", ErrNotFound)
	}
	ends := rec.AbsoluteExpiry
	// PTTL is 0 in the last millisecond of a record's life (a watcher whose timer fires at
	// the expected end reads exactly then): that is an end now, not "no TTL" (-1, which
	// cannot happen: every write sets one).
	if ttl, ok := pair[1].(int64); ok && ttl >= 0 {
		if idle := now.Add(time.Duration(ttl) * time.Millisecond); idle.Before(ends) {
			ends = idle
		}
	}
	return rec, ends, nil
}

// Touch implements Store: one round trip (touchScript).
func (s *redisStore) Touch(ctx context.Context, idHash string) (bool, error) {
	octx, cancel := s.op(ctx)
	defer cancel()
	v, err := runScript(octx, s.client, scriptCall{touchScript, s.recordKey(idHash),
		[]any{s.now().UnixMilli(), s.idleArg, s.coverArg}}).Result()
	if err != nil {
		return false, s.fail(ctx, "touch", err)
	}
	if due, ok := v.([]any); ok { // live, and its coverage ends soon
		s.extendCoverage(ctx, idHash, due)
		return true, nil
	}
	n, _ := v.(int64)
	return n == 1, nil
}

// TouchMany implements Store: touchScript for each id hash, in one pipeline.
func (s *redisStore) TouchMany(ctx context.Context, idHashes []string) ([]bool, error) {
	if len(idHashes) == 0 {
		return nil, nil
	}
	now := s.now().UnixMilli()
	calls := make([]scriptCall, len(idHashes))
	for i, h := range idHashes {
		calls[i] = scriptCall{touchScript, s.recordKey(h), []any{now, s.idleArg, s.coverArg}}
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	cmds, err := runScriptsCmds(octx, s.client, calls)
	if err != nil {
		return nil, s.fail(ctx, "touch", err)
	}
	live := make([]bool, len(idHashes))
	for i, c := range cmds {
		cmd, ok := c.(*redis.Cmd)
		if !ok || i >= len(live) {
			continue
		}
		switch v := cmd.Val().(type) {
		case []any: // live, and its coverage ends soon
			s.extendCoverage(ctx, idHashes[i], v)
			live[i] = true
		case int64:
			live[i] = v == 1
		}
	}
	return live, nil
}

// Save implements Store: one pipeline of single-key scripts (record, sid index,
// subject index). A record already past its absolute expiry is deleted instead.
func (s *redisStore) Save(ctx context.Context, id string, rec *Record) error {
	w, err := s.prepareWrite(ctx, id, rec)
	if err != nil || w == nil {
		return err
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	calls := append([]scriptCall{{saveScript, w.key, w.args}}, w.indexes...)
	if err := runScripts(octx, s.client, calls); err != nil {
		return s.fail(ctx, "save", err)
	}
	return nil
}

// Update implements Store: the record is replaced by one script that first checks it is
// still there (atomic against a concurrent Delete), then the indexes are refreshed in a
// second round trip, only when it was.
func (s *redisStore) Update(ctx context.Context, id string, rec *Record) error {
	w, err := s.prepareWrite(ctx, id, rec)
	if err != nil {
		return err
	}
	if w == nil { // past its absolute expiry: deleted, so the session is over
		return fmt.Errorf("session: update: %w", ErrNotFound)
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	n, err := runScript(octx, s.client, scriptCall{updateScript, w.key, w.args}).Int()
	if err != nil {
		return s.fail(ctx, "update", err)
	}
	if n == 0 {
		return fmt.Errorf("session: update: %w: the session ended meanwhile", ErrNotFound)
	}
	if len(w.indexes) > 0 {
		if err := runScripts(octx, s.client, w.indexes); err != nil {
			return s.fail(ctx, "update", err)
		}
	}
	return nil
}

// recordWrite is a sealed record ready to be written: its key, the save/update script's
// arguments and the index scripts that go with it.
type recordWrite struct {
	key     string
	args    []any
	indexes []scriptCall
}

// prepareWrite seals rec for id. It returns (nil, nil) when rec is already past its
// absolute expiry, after deleting whatever is stored under id.
func (s *redisStore) prepareWrite(ctx context.Context, id string, rec *Record) (*recordWrite, error) {
	if rec == nil || rec.AbsoluteExpiry.IsZero() {
		return nil, errors.New("session: save: record without AbsoluteExpiry")
	}
	idHash := IDHash(id)
	now := s.now()
	left := rec.AbsoluteExpiry.Sub(now)
	if left < time.Millisecond {
		return nil, s.Delete(ctx, id)
	}
	sealed, err := sealRecordAs(s.keys, idHash, rec, s.format)
	if err != nil {
		return nil, fmt.Errorf("session: save: %w", err)
	}
	if len(sealed) > MaxSealedRecord {
		return nil, fmt.Errorf("session: save: sealed record is %d bytes, more than %d", len(sealed), MaxSealedRecord)
	}
	coverage := s.coverage(now, rec.AbsoluteExpiry)
	newest, _ := s.keys.newest() // validated by withDefaults
	var names []string
	for _, ix := range []struct{ kind, value string }{{"sid", SIDKey(rec.Provider, rec.SID)}, {"sub", SubjectKey(rec.Provider, rec.Subject)}} {
		if ix.value != "" {
			names = append(names, indexName(newest, ix.kind, ix.value))
		}
	}
	w := &recordWrite{key: s.recordKey(idHash), args: []any{sealed, rec.AbsoluteExpiry.UnixMilli(),
		min(s.idle, left).Milliseconds(), coverage, strings.Join(names, " "), now.UnixMilli()}}
	w.indexes = append(s.indexCalls(idHash, names, coverage, now), s.legacyIndexCalls(idHash, names, left)...)
	return w, nil
}

// Delete implements Store: one script deletes the record and returns the names of its
// indexes, then one pipeline takes it out of them (they live on other Cluster slots).
// The session has ended once the record is gone: a failure of the second step is not
// reported, it only leaves members that the index scripts prune when their coverage
// passes.
func (s *redisStore) Delete(ctx context.Context, id string) error {
	deleted, err := s.deleteRecords(ctx, []string{IDHash(id)})
	if err != nil {
		return s.fail(ctx, "delete", err)
	}
	_ = s.unindex(ctx, deleted)
	return nil
}

// Once implements Store: SET NX PX on a hash of key.
func (s *redisStore) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond {
		return false, errors.New("session: once: ttl must be at least 1ms")
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	fresh, err := s.client.SetNX(octx, s.onceKey(key), "1", ttl).Result()
	if err != nil {
		return false, s.fail(ctx, "once", err)
	}
	return fresh, nil
}

// Ping implements Store. It also loads the request path's scripts into the server's
// script cache when it lacks them (see loadScripts), so the first read after a start or
// a Redis restart is one round trip (EVALSHA), not three (EVALSHA, NOSCRIPT, EVAL).
func (s *redisStore) Ping(ctx context.Context) error {
	octx, cancel := s.op(ctx)
	defer cancel()
	if err := s.client.Ping(octx).Err(); err != nil {
		return s.fail(ctx, "ping", err)
	}
	s.loadScripts(octx)
	return nil
}

// Close implements Store. It closes the client only if the store built it (URL or
// embedded), and stops the embedded server. Safe to call more than once.
func (s *redisStore) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, c := range s.closers {
			errs = append(errs, c())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("session: close: %w", err)
		}
	})
	return s.closeErr
}
