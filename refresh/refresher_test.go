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
	"github.com/tokenward/bff/session"
)

// fakeIdP is the token endpoint: each call returns the next token pair, after an
// optional gate, or the configured error.
type fakeIdP struct {
	calls atomic.Int32
	gate  chan struct{} // nil: answer at once
	err   error
	sub   string // subject of a returned ID token ("" = none)
	// claims are the profile claims of the returned ID token (with sub).
	claims map[string]any
}

func (f *fakeIdP) Refresh(ctx context.Context, rt string) (*idp.Tokens, *idp.Identity, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, nil, f.err
	}
	toks := &idp.Tokens{AccessToken: "at-" + string(rune('0'+n)), RefreshToken: "rt-" + string(rune('0'+n)),
		Expiry: time.Now().Add(time.Hour), Lifetime: time.Hour}
	var ident *idp.Identity
	if f.sub != "" {
		ident = &idp.Identity{Subject: f.sub, Claims: f.claims}
	}
	return toks, ident, nil
}

func newStore(t *testing.T) session.Store {
	t.Helper()
	keys, err := session.ParseKeys([]string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	if err != nil {
		t.Fatal(err)
	}
	st, err := session.NewEmbedded(t.Context(), session.Options{Keys: keys, IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// expiredSession stores a session whose access token has expired.
func expiredSession(t *testing.T, st session.Store) (string, *session.Record) {
	t.Helper()
	id, _ := session.NewID()
	now := time.Now()
	rec := &session.Record{Subject: "alice", AccessToken: "at-old", RefreshToken: "rt-old",
		AccessExpiry: now.Add(-time.Second), Created: now, AbsoluteExpiry: now.Add(time.Hour)}
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	return id, rec
}

func newRefresher(t *testing.T, st session.Store, f *fakeIdP, lease time.Duration) *Refresher {
	t.Helper()
	r, err := New(Config{Store: st, IdP: f, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestValidTokenNeedsNoRefresh(t *testing.T) {
	f := &fakeIdP{}
	r := newRefresher(t, newStore(t), f, 0)
	rec := &session.Record{AccessToken: "at", AccessExpiry: time.Now().Add(time.Hour)}
	got, err := r.Fresh(t.Context(), "id", rec, false)
	if err != nil || got != rec || f.calls.Load() != 0 {
		t.Fatalf("got %v, %v; %d IdP calls", got, err, f.calls.Load())
	}
}

// TestCallerLeavingDoesNotAbortTheSharedRefresh: the request that started a refresh goes
// away; the refresh completes for the others and the rotated refresh token is stored.
func TestCallerLeavingDoesNotAbortTheSharedRefresh(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{gate: make(chan struct{})}
	r := newRefresher(t, st, f, 0)
	id, rec := expiredSession(t, st)

	leaving, leave := context.WithCancel(t.Context())
	firstDone := make(chan error, 1)
	go func() {
		_, err := r.Fresh(leaving, id, rec, false)
		firstDone <- err
	}()
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var second *session.Record
	var secondErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		second, secondErr = r.Fresh(t.Context(), id, rec, false)
	}()
	leave()
	if err := <-firstDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the leaving caller got %v", err)
	}
	close(f.gate)
	wg.Wait()
	if secondErr != nil || second.AccessToken != "at-1" || f.calls.Load() != 1 {
		t.Fatalf("second caller: %v, %v; %d IdP calls", second, secondErr, f.calls.Load())
	}
	stored, err := st.Get(t.Context(), id)
	if err != nil || stored.RefreshToken != "rt-1" {
		t.Fatalf("stored %v, %v: the rotated refresh token was lost", stored, err)
	}
}

// TestLeaseIsRenewedDuringASlowIdPCall: a token endpoint slower than the lease must not
// let another replica take the lock and spend the same refresh token.
func TestLeaseIsRenewedDuringASlowIdPCall(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{gate: make(chan struct{})}
	// The embedded store expires keys in 1 s steps: a lease well above that.
	replicaA := newRefresher(t, st, f, 1500*time.Millisecond)
	replicaB := newRefresher(t, st, f, 1500*time.Millisecond)
	id, rec := expiredSession(t, st)

	aDone := make(chan error, 1)
	go func() {
		_, err := replicaA.Fresh(t.Context(), id, rec, false)
		aDone <- err
	}()
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	bDone := make(chan *session.Record, 1)
	go func() {
		got, err := replicaB.Fresh(t.Context(), id, rec, false)
		if err != nil {
			t.Error(err)
		}
		bDone <- got
	}()
	time.Sleep(4 * time.Second) // over two leases: only renewals keep A's lock
	close(f.gate)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	got := <-bDone
	if n := f.calls.Load(); n != 1 || got == nil || got.AccessToken != "at-1" {
		t.Fatalf("%d IdP calls, replica B got %v; want 1 call and A's token", n, got)
	}
}

func TestInvalidGrantEndsTheSession(t *testing.T) {
	st := newStore(t)
	r := newRefresher(t, st, &fakeIdP{err: idp.ErrInvalidGrant}, 0)
	id, rec := expiredSession(t, st)
	_, err := r.Fresh(t.Context(), id, rec, false)
	if !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("got %v, want 401 session_expired", err)
	}
	if _, err := st.Get(t.Context(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the session survived invalid_grant: %v", err)
	}
}

func TestIdPOutageKeepsTheSession(t *testing.T) {
	st := newStore(t)
	r := newRefresher(t, st, &fakeIdP{err: idp.ErrUnavailable}, 0)
	id, rec := expiredSession(t, st)
	_, err := r.Fresh(t.Context(), id, rec, false)
	if !errors.Is(err, ErrIdPUnavailable) {
		t.Fatalf("got %v, want 503 idp_unavailable", err)
	}
	if _, err := st.Get(t.Context(), id); err != nil {
		t.Fatalf("the session did not survive the outage: %v", err)
	}
	// Inside the skew but not expired: the old token is served.
	rec.AccessExpiry = time.Now().Add(10 * time.Second)
	if got, err := r.Fresh(t.Context(), id, rec, false); err != nil || got.AccessToken != "at-old" {
		t.Fatalf("still-valid token during an outage: %v, %v", got, err)
	}
}

// TestRefreshedIDTokenForAnotherSubjectEndsTheSession: OIDC Core 12.2.
func TestRefreshedIDTokenForAnotherSubjectEndsTheSession(t *testing.T) {
	st := newStore(t)
	r := newRefresher(t, st, &fakeIdP{sub: "mallory"}, 0)
	id, rec := expiredSession(t, st)
	if _, err := r.Fresh(t.Context(), id, rec, false); err == nil {
		t.Fatal("a refresh for another subject was accepted")
	}
	if _, err := st.Get(t.Context(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the session survived: %v", err)
	}
}

// TestSkewIsCappedAtHalfTheTokenLife: with tokens shorter than the skew, a token is
// refreshed only once it has lived half its life, not on every request.
func TestSkewIsCappedAtHalfTheTokenLife(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		left     time.Duration
		want     bool // refreshed
	}{
		{"young short token", 20 * time.Second, 15 * time.Second, false},
		{"short token past half its life", 20 * time.Second, 9 * time.Second, true},
		{"long token outside the skew", time.Hour, 31 * time.Second, false},
		{"long token inside the skew", time.Hour, 29 * time.Second, true},
		{"unknown lifetime inside the skew", 0, 29 * time.Second, true},
		{"unknown lifetime outside the skew", 0, 31 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, f := newStore(t), &fakeIdP{}
			r := newRefresher(t, st, f, time.Second)
			id, _ := session.NewID()
			rec := &session.Record{Subject: "alice", AccessToken: "at-old", RefreshToken: "rt-old",
				AccessExpiry: now.Add(tc.left), AccessLifetime: tc.lifetime, Created: now, AbsoluteExpiry: now.Add(time.Hour)}
			if err := st.Save(t.Context(), id, rec); err != nil {
				t.Fatal(err)
			}
			got, err := r.Fresh(t.Context(), id, rec, false)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken != "at-old" {
				t.Fatalf("a still-valid token was replaced by %q: the request waited for the refresh", got.AccessToken)
			}
			// The refresh runs behind the request (the token is still valid): wait for it.
			if err := r.Drain(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, err = st.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if refreshed := f.calls.Load() == 1; refreshed != tc.want || (got.AccessToken != "at-old") != tc.want {
				t.Fatalf("refreshed %v (token %q), want %v", refreshed, got.AccessToken, tc.want)
			}
			if tc.want && got.AccessLifetime != time.Hour {
				t.Fatalf("the refreshed record keeps lifetime %v, want the new token's 1h", got.AccessLifetime)
			}
		})
	}
}

// lockFailingStore is a store whose refresh lock cannot be taken (Redis unreachable).
type lockFailingStore struct{ session.Store }

func (lockFailingStore) Lock(context.Context, string, time.Duration) (session.Lock, error) {
	return nil, fmt.Errorf("session: lock: %w", session.ErrUnavailable)
}

// TestStoreOutageDuringRefreshUsesTheStillValidToken: the lock cannot be taken; a token
// inside the skew but not expired is still served, an expired one gets 503
// store_unavailable, and no refresh token is spent.
func TestStoreOutageDuringRefreshUsesTheStillValidToken(t *testing.T) {
	st, f := newStore(t), &fakeIdP{}
	r := newRefresher(t, lockFailingStore{st}, f, 0)
	id, rec := expiredSession(t, st)
	_, err := r.Fresh(t.Context(), id, rec, false)
	if !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("expired token: got %v, want 503 store_unavailable", err)
	}
	rec.AccessExpiry = time.Now().Add(10 * time.Second)
	if got, err := r.Fresh(t.Context(), id, rec, false); err != nil || got.AccessToken != "at-old" {
		t.Fatalf("still-valid token during a store outage: %v, %v", got, err)
	}
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("%d refresh grants without the lock, want 0", n)
	}
}

// TestForcedRefreshNeverFallsBackToTheRejectedToken: after an upstream 401, a failed
// refresh is an error even though the token has not expired, because the upstream has
// just refused that token.
func TestForcedRefreshNeverFallsBackToTheRejectedToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   func(session.Store) session.Store
		f    *fakeIdP
		want error
	}{
		{"IdP down", func(s session.Store) session.Store { return s }, &fakeIdP{err: idp.ErrUnavailable}, ErrIdPUnavailable},
		{"store down", func(s session.Store) session.Store { return lockFailingStore{s} }, &fakeIdP{}, ErrStoreUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			r := newRefresher(t, tc.st(st), tc.f, 0)
			id, rec := expiredSession(t, st)
			rec.AccessExpiry = time.Now().Add(time.Hour) // valid, but the upstream said 401
			got, err := r.Fresh(t.Context(), id, rec, true)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want %s, not the rejected token", got, err, tc.want)
			}
		})
	}
}
