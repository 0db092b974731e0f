package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenward/bff/credential"
)

// maxReplayBody is the largest request body buffered up front so that a request can be
// re-sent after a forced refresh. Larger bodies, and bodies of unknown length, stream
// through and are never retried.
const maxReplayBody = 64 << 10

// errHeaderTimeout is the cancel cause when the upstream's response headers do not arrive
// within the route's timeout.
var errHeaderTimeout = errors.New("proxy: timeout awaiting upstream response headers")

// exchange is the state of one proxied request. It is the context of the request handed
// to ReverseProxy, because that context is the only channel from the handler to Rewrite,
// the transport, ModifyResponse and ErrorHandler; it holds request-scoped data, never
// configuration. Its fields are owned by the request's goroutine (ReverseProxy calls all
// of those hooks on it); only cancel is called from other goroutines.
type exchange struct {
	context.Context
	cancel context.CancelCauseFunc

	route    *route
	in       *http.Request         // the inbound request, as given to the route's handler
	src      credential.Source     // the request's credential source; nil for auth "none"
	cred     credential.Credential // what authorizes each attempt; nil to send none
	identity credential.Identity   // whose credential it is (identity headers)
	key      string                // the session's key for stream tracking; "" for none
	applyErr error                 // cred.Apply failed in Rewrite: the transport fails the attempt

	body       []byte // the buffered body of a replayable request
	replayable bool   // a 401 may be retried: a bearer was sent and the body can be re-sent
	challenged bool   // the last answer was a DPoP use_dpop_nonce 401, its nonce now remembered
	header     headerTimer
	// upload watches a body streamed from the client (nil when there is none or it was
	// buffered); the route's timeout starts when it has been read whole.
	upload *uploadWatch

	tracked   bool                      // registered as a live stream
	streamKey string                    // session key it is registered under
	ended     atomic.Pointer[streamEnd] // why the BFF cut the stream; nil until then
}

type exchangeKey struct{}

// Value returns the exchange itself for exchangeKey, so that it can be found from the
// contexts ReverseProxy derives from it.
func (x *exchange) Value(key any) any {
	if key == any(exchangeKey{}) {
		return x
	}
	return x.Context.Value(key)
}

func exchangeFrom(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// begin makes x the (cancellable) context of the outbound request.
func (x *exchange) begin(parent context.Context) {
	x.Context, x.cancel = context.WithCancelCause(parent)
}

// end releases everything the exchange holds; the handler defers it.
func (x *exchange) end() {
	x.header.disarm()
	if x.upload != nil {
		x.upload.stop()
	}
	x.cancel(context.Canceled)
	if x.tracked {
		x.route.p.streams.remove(x)
	}
}

// startAttempt begins one attempt's response-header timeout. The route's timeout counts
// from the moment the request is sent whole: at once for a request without a body or with
// a buffered one (in memory, it is written without waiting for anyone), and for a body
// streamed from the client when the transport has read its end (bodySent), so that a slow
// upload is bounded by uploadIdleTimeout, not by the timeout.
func (x *exchange) startAttempt() {
	x.header.begin()
	if x.upload == nil {
		x.header.arm(x.route.timeout, x.headerTimedOut)
	}
}

// bodySent starts the header timeout once the streamed body has been read whole. It is
// called on the transport's goroutine.
func (x *exchange) bodySent() { x.header.arm(x.route.timeout, x.headerTimedOut) }

func (x *exchange) headerTimedOut() { x.cancel(errHeaderTimeout) }

// headerTimer is the route's response-header timeout of one attempt. It is armed from the
// request's goroutine or from the transport's (bodySent) and stopped from the request's
// when the headers came, hence the lock; a late arm after the stop is ignored, so that it
// can never cut a response already streaming.
type headerTimer struct {
	mu      sync.Mutex
	t       *time.Timer
	running bool // armed for the current attempt
	over    bool // the current attempt has its answer: arming is too late
}

// begin readies the timer for a new attempt.
func (h *headerTimer) begin() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running, h.over = false, false
}

// arm starts the timer for the current attempt, once.
func (h *headerTimer) arm(d time.Duration, fire func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.over || h.running {
		return
	}
	h.running = true
	if h.t == nil {
		h.t = time.AfterFunc(d, fire)
		return
	}
	h.t.Reset(d)
}

// disarm ends the current attempt's timer and reports whether it had already fired.
func (h *headerTimer) disarm() (fired bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.over = true
	if !h.running {
		return false
	}
	h.running = false
	return !h.t.Stop()
}

// bufferBody makes r's body replayable when a retry is possible and the body is small and
// of known length: it reads it whole and gives r a fresh reader over it. Other bodies are
// left to stream.
func (x *exchange) bufferBody(r *http.Request) error {
	if !x.replayable {
		return nil
	}
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
		return nil
	case r.ContentLength < 0 || r.ContentLength > maxReplayBody:
		x.replayable = false
		return nil
	}
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, buf); err != nil {
		return fmt.Errorf("proxy: read request body: %w", err)
	}
	x.body = buf
	r.Body = io.NopCloser(bytes.NewReader(buf))
	return nil
}

// replayBody returns a fresh body for a re-send, or nil when there is none.
func (x *exchange) replayBody() io.ReadCloser {
	if x.body == nil {
		return nil
	}
	return io.NopCloser(bytes.NewReader(x.body))
}
