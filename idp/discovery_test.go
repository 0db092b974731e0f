package idp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokenward/bff/internal/logbuf"
)

func TestDiscoverPublishesOnlyCompleteResults(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(op *testOP)
		wantErr error
	}{
		{name: "issuer with trailing slash (mix-up)", setup: func(op *testOP) {
			op.setMeta("issuer", op.issuer+"/")
		}, wantErr: ErrIssuerMismatch},
		{name: "another issuer (mix-up)", setup: func(op *testOP) {
			op.setMeta("issuer", "https://evil.example.net")
		}, wantErr: ErrIssuerMismatch},
		{name: "no token endpoint", setup: func(op *testOP) { op.setMeta("token_endpoint", nil) }, wantErr: ErrUnavailable},
		{name: "relative jwks_uri", setup: func(op *testOP) { op.setMeta("jwks_uri", "/jwks") }, wantErr: ErrUnavailable},
		{name: "only none and HS256 advertised (alg confusion)", setup: func(op *testOP) {
			op.setMeta("id_token_signing_alg_values_supported", []string{"none", "HS256"})
		}, wantErr: ErrUnavailable},
		{name: "JWKS 2 MiB", setup: func(op *testOP) {
			op.set(func(op *testOP) { op.jwks = bigBody(2<<20, false) })
		}, wantErr: ErrUnavailable},
		{name: "JWKS 2 MiB declared", setup: func(op *testOP) {
			op.set(func(op *testOP) { op.jwks = bigBody(2<<20, true) })
		}, wantErr: ErrUnavailable},
		{name: "JWKS with only a symmetric key (HS256 confusion)", setup: func(op *testOP) {
			op.set(func(op *testOP) {
				op.jwksKeys = []jose.JSONWebKey{{Key: []byte(testSecret), KeyID: "k", Algorithm: "HS256"}}
			})
		}, wantErr: ErrUnavailable},
		{name: "JWKS 500", setup: func(op *testOP) {
			op.set(func(op *testOP) {
				op.jwks = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }
			})
		}, wantErr: ErrUnavailable},
		{name: "JWKS redirect not followed", setup: func(op *testOP) {
			target := "http://" + closedAddr(op.t) + "/jwks"
			op.set(func(op *testOP) {
				op.jwks = func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, target, http.StatusFound)
				}
			})
		}, wantErr: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			tt.setup(op)
			p, err := New(op.testConfig(&logbuf.Buffer{}))
			if err != nil {
				t.Fatal(err)
			}
			err = p.Discover(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Discover = %v, want %v", err, tt.wantErr)
			}
			ready := p.Ready()
			if !errors.Is(ready, ErrNotReady) || !errors.Is(ready, tt.wantErr) {
				t.Errorf("Ready = %v, want ErrNotReady wrapping %v", ready, tt.wantErr)
			}
			if _, err := p.AuthCodeURL(AuthRequest{State: "s", Nonce: "n", CodeVerifier: "v"}, nil); !errors.Is(err, ErrNotReady) {
				t.Errorf("AuthCodeURL after a failed discovery = %v, want ErrNotReady", err)
			}
		})
	}
}

func TestDiscoverDropsNoneFromSigningAlgs(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	got := p.state.Load().verifierAlgs()
	if !slices.Equal(got, []string{"RS256"}) {
		t.Errorf("algs = %v, want [RS256] (none and HS256 removed)", got)
	}
}

func TestDiscoverDefaultsToRS256(t *testing.T) {
	op := newTestOP(t)
	op.setMeta("id_token_signing_alg_values_supported", nil)
	p, _ := op.newProvider(nil)
	if got := p.state.Load().verifierAlgs(); !slices.Equal(got, []string{"RS256"}) {
		t.Errorf("algs = %v, want [RS256]", got)
	}
}

func TestStartRetriesUntilTheProviderComesUp(t *testing.T) {
	op := newTestOP(t)
	addr := op.srv.Listener.Addr().String()
	op.srv.Close() // the IdP is down: connections are refused

	p, err := New(op.testConfig(&logbuf.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	p.backoffMin, p.backoffMax = 10*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start(ctx)
	p.Start(ctx) // idempotent

	waitFor(t, "a failed attempt", func() bool { return errors.Is(p.Ready(), ErrUnavailable) })
	if !errors.Is(p.Ready(), ErrNotReady) {
		t.Fatalf("Ready = %v, want ErrNotReady", p.Ready())
	}

	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	up := httptest.NewUnstartedServer(op.mux())
	up.Listener = l
	up.Start()
	defer up.Close()

	waitFor(t, "Ready() == nil", func() bool { return p.Ready() == nil })
	hits := op.count("discovery")
	time.Sleep(150 * time.Millisecond)
	if again := op.count("discovery"); again != hits {
		t.Errorf("discovery requests went on after success: %d then %d", hits, again)
	}
}

func TestStartStopsWhenContextEnds(t *testing.T) {
	var attempts atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	cfg := validConfig()
	cfg.Issuer, cfg.AllowInsecureIssuer = down.URL, true
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.backoffMin, p.backoffMax = 5*time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	waitFor(t, "two failed attempts", func() bool { return attempts.Load() >= 2 })
	cancel()
	// The loop is the only caller of Discover: once it has returned, no attempt can start.
	// (Counting the server's requests instead would race with a request the client had
	// already sent when ctx ended: the server may see it after the client gave up.)
	select {
	case <-p.loopDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the discovery loop did not return after its context ended")
	}
	if err := p.Ready(); !errors.Is(err, ErrNotReady) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ready = %v, want ErrNotReady wrapping ErrUnavailable", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
