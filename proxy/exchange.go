package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	timer      *time.Timer

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
	if x.timer != nil {
		x.timer.Stop()
	}
	x.cancel(context.Canceled)
	if x.tracked {
		x.route.p.streams.remove(x)
	}
}

// armHeaderTimer starts the route's response-header timeout for one attempt.
func (x *exchange) armHeaderTimer() {
	if x.timer == nil {
		x.timer = time.AfterFunc(x.route.timeout, x.headerTimedOut)
		return
	}
	x.timer.Reset(x.route.timeout)
}

// disarmHeaderTimer stops the timer and reports whether it had already fired.
func (x *exchange) disarmHeaderTimer() (fired bool) {
	return !x.timer.Stop()
}

func (x *exchange) headerTimedOut() { x.cancel(errHeaderTimeout) }

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
