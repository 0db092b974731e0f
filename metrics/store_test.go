package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenward/bff/session"
)

// newEmbeddedStore is the real embedded store (miniredis behind the Redis code path).
func newEmbeddedStore(t *testing.T) session.Store {
	t.Helper()
	key, err := session.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := session.ParseKeys([]string{key})
	if err != nil {
		t.Fatal(err)
	}
	st, err := session.NewEmbedded(context.Background(), session.Options{Keys: ring, IdleTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func sampleRecord() *session.Record {
	now := time.Now()
	return &session.Record{
		Subject: "alice", SID: "sid-1", AccessToken: "at", RefreshToken: "rt",
		AccessExpiry: now.Add(time.Minute), Created: now, AbsoluteExpiry: now.Add(time.Hour),
	}
}

func TestInstrumentStoreTimesEveryOperation(t *testing.T) {
	m := New(WithLabels(testLabels))
	st := InstrumentStore(newEmbeddedStore(t), m)
	ctx := context.Background()
	id, err := session.NewID()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want map[string]uint64 // observations per op after the call (cumulative)
	}{
		{name: "Save", call: func() error { return st.Save(ctx, id, sampleRecord()) }, want: map[string]uint64{OpSave: 1}},
		{name: "Get", call: func() error { _, err := st.Get(ctx, id); return err }, want: map[string]uint64{OpGet: 1}},
		{name: "Touch", call: func() error { _, err := st.Touch(ctx, session.IDHash(id)); return err }, want: map[string]uint64{OpTouch: 1}},
		{name: "Once", call: func() error { _, err := st.Once(ctx, "jti-1", time.Minute); return err }, want: map[string]uint64{OpOnce: 1}},
		{name: "Lock, Renew, Release", call: func() error {
			l, err := st.Lock(ctx, id, time.Minute)
			if err != nil {
				return err
			}
			if err := l.Renew(ctx, time.Minute); err != nil {
				return err
			}
			return l.Release(ctx)
		}, want: map[string]uint64{OpLock: 1, OpRenew: 1, OpRelease: 1}},
		{name: "WaitUnlock", call: func() error { return st.WaitUnlock(ctx, id) }, want: map[string]uint64{OpWaitUnlock: 1}},
		{name: "PublishEnded", call: func() error { return st.PublishEnded(ctx, []string{"h"}) }, want: map[string]uint64{OpPublish: 1}},
		{name: "Ping", call: func() error { return st.Ping(ctx) }, want: map[string]uint64{OpPing: 1}},
		{name: "Delete", call: func() error { return st.Delete(ctx, id) }, want: map[string]uint64{OpDelete: 1}},
		{name: "DeleteBySID", call: func() error { _, err := st.DeleteBySID(ctx, "sid-1"); return err }, want: map[string]uint64{OpDelete: 2}},
		{name: "DeleteBySubject", call: func() error { _, err := st.DeleteBySubject(ctx, "alice"); return err }, want: map[string]uint64{OpDelete: 3}},
		{name: "DeleteBySIDAndSubject", call: func() error { _, err := st.DeleteBySIDAndSubject(ctx, "sid-1", "alice"); return err }, want: map[string]uint64{OpDelete: 4}},
	}
	for _, tc := range tests {
		if err := tc.call(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for op, want := range tc.want {
			if got := sampleCount(t, m, "bff_store_operation_duration_seconds", map[string]string{"op": op}); got != want {
				t.Errorf("%s: %d observations of op=%s, want %d", tc.name, got, op, want)
			}
		}
	}
	for _, op := range storeOps {
		if got := testutil.ToFloat64(m.storeErrors.WithLabelValues(op)); got != 0 {
			t.Errorf("store errors op=%s: %v on a healthy store, want 0", op, got)
		}
	}
}

func TestInstrumentStoreCountsFaultsNotAnswers(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		call      func(st session.Store) error
		op        string
		wantErr   error
		wantCount float64
	}{
		{
			name:    "not found is an answer",
			call:    func(st session.Store) error { _, err := st.Get(ctx, "absent"); return err },
			op:      OpGet,
			wantErr: session.ErrNotFound,
		},
		{
			name: "lock held is an answer",
			call: func(st session.Store) error {
				if _, err := st.Lock(ctx, "x", time.Minute); err != nil {
					return err
				}
				_, err := st.Lock(ctx, "x", time.Minute)
				return err
			},
			op:      OpLock,
			wantErr: session.ErrLockHeld,
		},
		{
			name: "the caller's own cancellation is not a store fault",
			call: func(st session.Store) error {
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				_, err := st.Get(cctx, "x")
				return err
			},
			op:      OpGet,
			wantErr: context.Canceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(WithLabels(testLabels))
			err := tc.call(InstrumentStore(newEmbeddedStore(t), m))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want errors.Is %v through the decorator", err, tc.wantErr)
			}
			if got := testutil.ToFloat64(m.storeErrors.WithLabelValues(tc.op)); got != tc.wantCount {
				t.Fatalf("store errors op=%s = %v, want %v", tc.op, got, tc.wantCount)
			}
		})
	}
}

func TestInstrumentStoreCountsAnUnreachableStore(t *testing.T) {
	key, _ := session.NewKey()
	ring, err := session.ParseKeys([]string{key})
	if err != nil {
		t.Fatal(err)
	}
	// Port 1 on loopback: connection refused at once.
	dead, err := session.NewRedis(context.Background(), session.Options{
		URL: "redis://127.0.0.1:1/0", Keys: ring, IdleTimeout: time.Minute, OpTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	m := New(WithLabels(testLabels))
	st := InstrumentStore(dead, m)
	if _, err := st.Get(context.Background(), "id"); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("Get = %v, want ErrUnavailable", err)
	}
	if err := st.Save(context.Background(), "id", sampleRecord()); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("Save = %v, want ErrUnavailable", err)
	}
	for _, op := range []string{OpGet, OpSave} {
		if got := testutil.ToFloat64(m.storeErrors.WithLabelValues(op)); got != 1 {
			t.Errorf("store errors op=%s = %v, want 1", op, got)
		}
	}
}

func TestInstrumentStoreWithNilMetricsReturnsTheStoreItself(t *testing.T) {
	st := newEmbeddedStore(t)
	if got := InstrumentStore(st, nil); got != st {
		t.Fatalf("InstrumentStore(s, nil) = %T, want s itself (no cost)", got)
	}
}

func TestIsStoreFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "not found", err: session.ErrNotFound, want: false},
		{name: "lock held", err: session.ErrLockHeld, want: false},
		{name: "wrapped canceled", err: errors.Join(session.ErrUnavailable, context.Canceled), want: false},
		{name: "unavailable", err: session.ErrUnavailable, want: true},
		{name: "deadline", err: errors.Join(session.ErrUnavailable, context.DeadlineExceeded), want: true},
		{name: "lock lost", err: session.ErrLockLost, want: true},
		{name: "unknown", err: errors.New("boom"), want: true},
	}
	for _, tc := range tests {
		if got := isStoreFailure(tc.err); got != tc.want {
			t.Errorf("%s: isStoreFailure = %v, want %v", tc.name, got, tc.want)
		}
	}
}
