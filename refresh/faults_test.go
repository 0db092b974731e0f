package refresh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/internal/faults"
	"github.com/tokenward/bff/session"
)

// rotatingIdP is a token endpoint with refresh-token rotation: each refresh token is
// redeemable once; a spent one presented again revokes the family (strict), unless it was
// rotated less than grace ago. afterAnswer, when set, runs after the grant, before the
// answer reaches the caller (a crash or a store failure right there).
type rotatingIdP struct {
	grace       time.Duration
	afterAnswer func()
	gate        chan struct{} // nil: answer at once

	mu      sync.Mutex
	live    map[string]bool      // redeemable refresh tokens
	rotated map[string]time.Time // spent refresh token -> when
	revoked bool
	grants  int
	reuse   int
}

func newRotatingIdP(grace time.Duration, first string) *rotatingIdP {
	return &rotatingIdP{grace: grace, live: map[string]bool{first: true}, rotated: map[string]time.Time{}}
}

func (p *rotatingIdP) Refresh(ctx context.Context, rt string) (*idp.Tokens, *idp.Identity, error) {
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	toks, err := p.grant(rt)
	if err != nil {
		return nil, nil, err
	}
	if p.afterAnswer != nil {
		p.afterAnswer()
	}
	return toks, nil, nil
}

func (p *rotatingIdP) grant(rt string) (*idp.Tokens, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.rotated[rt]
	switch {
	case p.revoked:
		return nil, fmt.Errorf("family revoked: %w", idp.ErrInvalidGrant)
	case ok && time.Since(at) >= p.grace:
		p.reuse++
		p.revoked = true
		return nil, fmt.Errorf("reuse: %w", idp.ErrInvalidGrant)
	case !ok && !p.live[rt]:
		return nil, fmt.Errorf("unknown: %w", idp.ErrInvalidGrant)
	}
	if !ok {
		delete(p.live, rt)
		p.rotated[rt] = time.Now()
	}
	p.grants++
	next := fmt.Sprintf("rt-%d", p.grants)
	p.live[next] = true
	return &idp.Tokens{AccessToken: fmt.Sprintf("at-%d", p.grants), RefreshToken: next,
		Expiry: time.Now().Add(time.Hour), Lifetime: time.Hour}, nil
}

func (p *rotatingIdP) counts() (grants, reuse int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grants, p.reuse
}

// faultyStore fails, on demand, the saves of refreshed records (Updates that carry no
// redemption mark), or everything once crashed, including the renewal and release of
// locks it handed out: a replica that lost its store, or died.
type faultyStore struct {
	session.Store
	failSaves atomic.Int32 // this many saves fail
	crashed   atomic.Bool
}

var errInjected = fmt.Errorf("injected: %w", session.ErrUnavailable)

func (s *faultyStore) down() error {
	if s.crashed.Load() {
		return errInjected
	}
	return nil
}

func (s *faultyStore) Get(ctx context.Context, id string) (*session.Record, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, id)
}

func (s *faultyStore) Update(ctx context.Context, id string, rec *session.Record) error {
	if err := s.down(); err != nil {
		return err
	}
	if rec.RefreshPendingOwner == "" && s.failSaves.Add(-1) >= 0 {
		return errInjected
	}
	return s.Store.Update(ctx, id, rec)
}

func (s *faultyStore) Lock(ctx context.Context, id string, lease time.Duration) (session.Lock, error) {
	if err := s.down(); err != nil {
		return nil, err
	}
	l, err := s.Store.Lock(ctx, id, lease)
	if err != nil {
		return nil, err
	}
	return faultyLock{l, s}, nil
}

type faultyLock struct {
	session.Lock
	s *faultyStore
}

func (l faultyLock) Renew(ctx context.Context, lease time.Duration) error {
	if err := l.s.down(); err != nil {
		return err
	}
	return l.Lock.Renew(ctx, lease)
}

func (l faultyLock) Release(ctx context.Context) error {
	if err := l.s.down(); err != nil {
		return err
	}
	return l.Lock.Release(ctx)
}

// outcomeLog records Observe calls.
type outcomeLog struct {
	mu  sync.Mutex
	got []string
}

func (o *outcomeLog) observe(s string) { o.mu.Lock(); o.got = append(o.got, s); o.mu.Unlock() }

func (o *outcomeLog) count(s string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return countOf(o.got, s)
}

func replica(t *testing.T, cfg Config) (*Refresher, *outcomeLog) {
	t.Helper()
	log := &outcomeLog{}
	cfg.Observe = log.observe
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Drain(context.Background()) })
	return r, log
}

// TestRefreshedTokensSurviveAFailedSave: the IdP rotated the token and the store then
// failed the save. The new tokens are served (to the caller and to another replica's
// request, which must not redeem the spent token), the save is retried and lands; the IdP
// saw exactly one grant and no reuse.
func TestRefreshedTokensSurviveAFailedSave(t *testing.T) {
	st := newStore(t)
	p := newRotatingIdP(0, "rt-old")
	fs := &faultyStore{Store: st}
	fs.failSaves.Store(3)
	a, aLog := replica(t, Config{Store: fs, IdP: p})
	b, _ := replica(t, Config{Store: st, IdP: p})
	id, rec := expiredSession(t, st)

	got, err := a.Fresh(t.Context(), id, rec, false)
	if err != nil || got.AccessToken != "at-1" {
		t.Fatalf("replica A got %v, %v: the new tokens were dropped", got, err)
	}
	// Replica B read the old record (its token expired): it waits for A's lock and gets
	// A's tokens once saved, never spending rt-old again.
	gotB, err := b.Fresh(t.Context(), id, rec, false)
	if err != nil || gotB.AccessToken != "at-1" {
		t.Fatalf("replica B got %v, %v", gotB, err)
	}
	if err := a.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if g, r := p.counts(); g != 1 || r != 0 {
		t.Fatalf("IdP: %d grants, %d reuses; want exactly 1 grant, no reuse", g, r)
	}
	if s := stored(t, st, id); s.RefreshToken != "rt-1" || !s.RefreshPendingSince.IsZero() {
		t.Fatalf("stored refresh token %q, mark %v: want rt-1, no mark", s.RefreshToken, s.RefreshPendingSince)
	}
	if aLog.count(OutcomeSavePending) != 1 || aLog.count(OutcomeSaveLate) != 1 {
		t.Fatalf("outcomes %v: want save_pending then save_late", aLog.got)
	}
}

// TestCrashAfterTheIdPAnswered: replica A dies between the IdP's answer and the save (its
// store goes dark, its memory with it). Replica B leaves the marked record alone for the
// pending window, then redeems the old refresh token once: a provider with a rotation
// grace period honours it and the session survives; under strict rotation it is refused
// and the session ends (the documented truth).
func TestCrashAfterTheIdPAnswered(t *testing.T) {
	for _, tc := range []struct {
		name     string
		grace    time.Duration
		survives bool
	}{{"with grace period", time.Minute, true}, {"strict rotation", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			p := newRotatingIdP(tc.grace, "rt-old")
			fs := &faultyStore{Store: st}
			p.afterAnswer = func() { fs.crashed.Store(true) }
			window := 3 * time.Second // longer than the embedded store takes to expire the dead lease (its clock ticks each second)
			a, aLog := replica(t, Config{Store: fs, IdP: p, Lease: 300 * time.Millisecond, PendingWindow: window, Wait: 200 * time.Millisecond})
			b, bLog := replica(t, Config{Store: st, IdP: p, Lease: 300 * time.Millisecond, PendingWindow: window, Wait: 200 * time.Millisecond})
			id, rec := expiredSession(t, st)

			if _, err := a.Fresh(t.Context(), id, rec, false); err != nil {
				t.Fatalf("replica A: %v (it had the new tokens)", err)
			}
			got, err := pollFresh(t, b, id, rec, 10*window)
			if g, _ := p.counts(); g < 1 {
				t.Fatal("the IdP was never called")
			}
			if bLog.count(OutcomePendingElsewhere) == 0 {
				t.Fatalf("replica B outcomes %v: it never waited for the mark", bLog.got)
			}
			_, reuse := p.counts()
			if tc.survives {
				if err != nil || got.AccessToken != "at-2" || reuse != 0 {
					t.Fatalf("got %v, %v, %d reuses: the session should survive with the grace period", got, err, reuse)
				}
			} else if !errors.Is(err, ErrSessionEnded) || reuse != 1 {
				t.Fatalf("got %v, %v, %d reuses: want the session ended by the reuse", got, err, reuse)
			}
			if err := a.Drain(t.Context()); err != nil {
				t.Fatal(err)
			}
			if aLog.count(OutcomeSaveLost) != 1 {
				t.Fatalf("replica A outcomes %v: want save_lost", aLog.got)
			}
		})
	}
}

// pollFresh asks r until the answer is no longer a retryable 503 (the mark's window), or
// limit passes.
func pollFresh(t *testing.T, r *Refresher, id string, rec *session.Record, limit time.Duration) (*session.Record, error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got, err := r.Fresh(t.Context(), id, rec, false)
		var re *Error
		if err == nil || !errors.As(err, &re) || re.RetryAfter <= 0 || time.Now().After(deadline) {
			return got, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDeadHolderBlocksForOneLeaseAtMost: a lock nobody renews (its holder died, or a SET
// the client gave up on ran when the store came back) is gone within one lease; the next
// request refreshes instead of waiting out a long lease.
func TestDeadHolderBlocksForOneLeaseAtMost(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{}
	id, rec := expiredSession(t, st)
	if _, err := st.Lock(t.Context(), id, DefaultLease); err != nil { // never renewed or released
		t.Fatal(err)
	}
	wait := 6 * time.Second // the designed 2 s lease plus the embedded store's 1 s expiry tick, with room
	r, _ := replica(t, Config{Store: st, IdP: f, Wait: wait})
	got, err := r.Fresh(t.Context(), id, rec, false)
	if err != nil || got.AccessToken != "at-1" {
		t.Fatalf("got %v, %v: the dead holder's lock outlived %v", got, err, wait)
	}
}

// TestStillValidTokenNeverWaits: another replica's refresh of the session is stuck at the
// IdP; a request whose token is still valid (only inside the skew) goes on with it at once.
func TestStillValidTokenNeverWaits(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{gate: make(chan struct{})}
	defer close(f.gate)
	id, rec := expiredSession(t, st)
	a, _ := replica(t, Config{Store: st, IdP: f})
	go func() { _, _ = a.Fresh(context.WithoutCancel(t.Context()), id, rec, false) }()
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	valid := *rec
	valid.AccessExpiry = time.Now().Add(10 * time.Second) // inside the 30 s skew
	b, _ := replica(t, Config{Store: st, IdP: f, Wait: time.Second})
	got, err := b.Fresh(t.Context(), id, &valid, false)
	if err != nil || got.AccessToken != rec.AccessToken {
		t.Fatalf("got %v, %v: a still-valid token waited for a stuck refresh", got, err)
	}
}

// TestExpiredTokenWaitsAtMostWait: with the refresh stuck at the IdP, a request whose
// token expired gets a retryable 503 after Wait, not a hang.
func TestExpiredTokenWaitsAtMostWait(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{gate: make(chan struct{})}
	defer close(f.gate)
	id, rec := expiredSession(t, st)
	r, _ := replica(t, Config{Store: st, IdP: f, Wait: 200 * time.Millisecond, Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // far beyond Wait
	defer cancel()
	_, err := r.Fresh(ctx, id, rec, false)
	var re *Error
	if !errors.Is(err, ErrIdPUnavailable) || !errors.As(err, &re) || re.RetryAfter <= 0 {
		t.Fatalf("got %v: want ErrIdPUnavailable with a Retry-After", err)
	}
	select {
	case <-f.gate:
		t.Fatal("the IdP answered: the wait was not cut short")
	default:
	}
}

// TestForcedCooldownIsCheckedUnderTheLock: the caller's copy predates another replica's
// forced refresh; the record read under the lock shows it, and no second grant is made.
func TestForcedCooldownIsCheckedUnderTheLock(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{}
	id, rec := expiredSession(t, st)
	recent := *rec
	recent.AccessExpiry = time.Now().Add(time.Hour)
	recent.ForcedRefreshAt = time.Now()
	if err := st.Update(t.Context(), id, &recent); err != nil {
		t.Fatal(err)
	}
	callerCopy := recent
	callerCopy.ForcedRefreshAt = time.Time{}
	r, log := replica(t, Config{Store: st, IdP: f})
	_, err := r.Fresh(t.Context(), id, &callerCopy, true)
	if !errors.Is(err, ErrForcedRefreshCooldown) || f.calls.Load() != 0 || log.count(OutcomeCooldown) != 1 {
		t.Fatalf("got %v with %d IdP calls: the cooldown was not re-checked under the lock", err, f.calls.Load())
	}
}

// proxiedStore is a Redis store reached through a faults.Proxy: the real Redis of
// BFF_TEST_REDIS_URL when set, else a miniredis whose clock follows real time.
func proxiedStore(t *testing.T) (session.Store, *faults.Proxy) {
	t.Helper()
	target, via := faults.TestRedis(t)
	p := faults.NewTestProxy(t, target)
	keys, err := session.ParseKeys([]string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	if err != nil {
		t.Fatal(err)
	}
	st, err := session.NewRedis(t.Context(), session.Options{URL: via(p.Addr()), Keys: keys, IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, p
}

// TestLockTakenDuringAStallExpires: during a store stall the client gives up on taking the
// lock, but the server runs the command when the stall ends: a lock nobody owns or renews.
// It blocks the session's refresh for one lease at most.
func TestLockTakenDuringAStallExpires(t *testing.T) {
	st, proxy := proxiedStore(t)
	id, rec := expiredSession(t, st)
	if err := st.Ping(t.Context()); err != nil { // a pooled connection: the stall catches the command, not a handshake
		t.Fatal(err)
	}
	proxy.Stall()
	if _, err := st.Lock(t.Context(), id, DefaultLease); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("taking the lock during the stall: %v, want a timeout", err)
	}
	proxy.Resume()
	if _, err := st.Lock(t.Context(), id, DefaultLease); !errors.Is(err, session.ErrLockHeld) {
		t.Fatalf("after the stall: %v; want the orphaned lock the stalled command left", err)
	}
	wait := 6 * time.Second // the designed 2 s lease, with room
	r, _ := replica(t, Config{Store: st, IdP: &fakeIdP{}, Wait: wait})
	got, err := r.Fresh(t.Context(), id, rec, false)
	if err != nil || got.AccessToken != "at-1" {
		t.Fatalf("got %v, %v: the orphaned lock outlived %v", got, err, wait)
	}
}
