package idp

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/tokenward/bff/dpop"
	"golang.org/x/oauth2"
)

// Provider is the BFF's relying party for one OpenID provider. Make it with New, then
// call Start (or Discover). It is safe for concurrent use by any number of goroutines.
type Provider struct {
	cfg    Config
	client *http.Client

	// state is nil until a discovery succeeded, then the complete discovered state;
	// it is swapped atomically, never modified in place.
	state atomic.Pointer[discovered]

	startOnce sync.Once
	// loopDone is closed when Start's discovery loop has returned (set by Start), so a
	// test can wait for the loop's end instead of guessing how long it takes.
	loopDone chan struct{}
	// backoffMin and backoffMax bound Start's retry delay.
	backoffMin, backoffMax time.Duration
	// fetchClock paces JWKS fetches; nil is real time (tests set a virtual clock).
	fetchClock fetchClock

	// nonces are the provider's latest DPoP-Nonce per origin (RFC 9449 §8), in memory.
	nonces dpop.Nonces

	mu      sync.Mutex
	lastErr error // the last discovery attempt's error; guarded by mu
}

// discovered is everything a successful discovery yields.
type discovered struct {
	meta     metadata
	oauth    *oauth2.Config
	keys     *keySet
	verifier *oidc.IDTokenVerifier
}

// New validates cfg and returns a Provider. It does NO network I/O: call Start or
// Discover before the methods that need the provider's metadata (they return
// ErrNotReady until then). Errors wrap ErrInvalidConfig and list every problem.
func New(cfg Config) (*Provider, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var client *http.Client
	if cfg.HTTPClient != nil {
		client = hardenClient(cfg.HTTPClient, cfg.Timeout)
	} else {
		client = NewHTTPClient(cfg.Timeout)
	}
	return &Provider{
		cfg:        cfg,
		client:     client,
		backoffMin: 250 * time.Millisecond,
		backoffMax: 30 * time.Second,
	}, nil
}

// ready returns the discovered state or an error wrapping ErrNotReady.
func (p *Provider) ready() (*discovered, error) {
	if d := p.state.Load(); d != nil {
		return d, nil
	}
	return nil, p.Ready()
}
