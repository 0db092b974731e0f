package session

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewRedisOptions(t *testing.T) {
	ring := mustRing(t, newTestKey(t))
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "valid URL", opts: Options{URL: "redis://127.0.0.1:1", Keys: ring, IdleTimeout: time.Minute}},
		{name: "neither URL nor Client", opts: Options{Keys: ring, IdleTimeout: time.Minute}, wantErr: "exactly one of URL and Client"},
		{name: "no keys", opts: Options{URL: "redis://h", IdleTimeout: time.Minute}, wantErr: "Keys is required"},
		{name: "no idle timeout", opts: Options{URL: "redis://h", Keys: ring}, wantErr: "IdleTimeout must be > 0"},
		{name: "negative op timeout", opts: Options{URL: "redis://h", Keys: ring, IdleTimeout: time.Minute, OpTimeout: -1}, wantErr: "OpTimeout"},
		{name: "bad URL", opts: Options{URL: "http://h", Keys: ring, IdleTimeout: time.Minute}, wantErr: "unsupported scheme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := NewRedis(t.Context(), tc.opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				rs := st.(*redisStore)
				if rs.prefix != DefaultKeyPrefix || rs.opTimeout != DefaultOpTimeout || rs.now == nil {
					t.Fatalf("defaults not applied: prefix %q, op timeout %v", rs.prefix, rs.opTimeout)
				}
				_ = st.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewRedis = %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

// storeOps runs every Store operation once; each must fail with ErrUnavailable when
// Redis is not there.
func storeOps(st Store) map[string]func(ctx context.Context) error {
	rec := sampleRecord(time.Now(), "down")
	return map[string]func(ctx context.Context) error{
		"Get":             func(ctx context.Context) error { _, err := st.Get(ctx, "id"); return err },
		"Save":            func(ctx context.Context) error { return st.Save(ctx, "id", rec) },
		"Delete":          func(ctx context.Context) error { return st.Delete(ctx, "id") },
		"DeleteBySID":     func(ctx context.Context) error { _, err := st.DeleteBySID(ctx, "sid"); return err },
		"DeleteBySubject": func(ctx context.Context) error { _, err := st.DeleteBySubject(ctx, "sub"); return err },
		"Once":            func(ctx context.Context) error { _, err := st.Once(ctx, "jti", time.Minute); return err },
		"Lock":            func(ctx context.Context) error { _, err := st.Lock(ctx, "id", time.Minute); return err },
		"WaitUnlock":      func(ctx context.Context) error { return st.WaitUnlock(ctx, "id") },
		"Ping":            func(ctx context.Context) error { return st.Ping(ctx) },
	}
}

// TestDeadRedisFailsFastWithErrUnavailable: a closed port and a black hole (accepts,
// never answers) both fail every operation within 2s, as ErrUnavailable, and not as
// the caller's context error.
func TestDeadRedisFailsFastWithErrUnavailable(t *testing.T) {
	backends := map[string]string{"closed port": closedPort(t), "black hole": blackHole(t)}
	for backend, addr := range backends {
		st, err := NewRedis(t.Context(), Options{URL: "redis://" + addr + "/0",
			Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		for name, op := range storeOps(st) {
			t.Run(backend+"/"+name, func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				err := op(t.Context())
				if elapsed := time.Since(start); elapsed > 2*time.Second {
					t.Fatalf("took %v, want < 2s", elapsed)
				}
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("err = %v, want ErrUnavailable", err)
				}
				if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v: looks like the caller's deadline or a miss", err)
				}
			})
		}
	}
}

// TestCallerContextEndIsDetectable: when the caller's ctx ends first, the error is
// both ErrUnavailable and the caller's context error, and comes back at once.
func TestCallerContextEndIsDetectable(t *testing.T) {
	st, err := NewRedis(t.Context(), Options{URL: "redis://" + blackHole(t),
		Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Minute, OpTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = st.Get(ctx, "id")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get = %v, want ErrUnavailable and context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("Get outlived the caller's ctx by %v", elapsed)
	}
	canceled, cancelNow := context.WithCancel(t.Context())
	cancelNow()
	if err := st.Ping(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping with a canceled ctx = %v, want context.Canceled", err)
	}
}

// TestStoreErrorsNeverContainSecrets: no id, token or subject in any error string.
func TestStoreErrorsNeverContainSecrets(t *testing.T) {
	st, err := NewRedis(t.Context(), Options{URL: "redis://:hunter2@" + closedPort(t),
		Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := mustID(t)
	rec := sampleRecord(time.Now(), "errs")
	errs := []error{st.Save(t.Context(), id, rec)}
	_, err = st.Get(t.Context(), id)
	errs = append(errs, err)
	_, err = st.DeleteBySubject(t.Context(), rec.Subject)
	errs = append(errs, err)
	for _, err := range errs {
		for _, secret := range []string{id, rec.AccessToken[:40], rec.RefreshToken, rec.Subject, "hunter2"} {
			if err == nil || strings.Contains(err.Error(), secret) {
				t.Fatalf("error %v is nil or contains a secret", err)
			}
		}
	}
}

// TestTypicalSealedRecordSize reports the size of a typical record at rest.
func TestTypicalSealedRecordSize(t *testing.T) {
	sealed, err := sealRecord(mustRing(t, newTestKey(t)), IDHash(mustID(t)), sampleRecord(time.Now(), "size"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sealed record (1 KiB access token, 40 B refresh token, 1 KiB ID token): %d bytes", len(sealed))
	if len(sealed) > 3*1024 {
		t.Fatalf("sealed record is %d bytes, want <= 3 KiB", len(sealed))
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// blackHole returns a loopback address that accepts connections and never answers.
func blackHole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}
