package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The causes of an upload that stopped making progress (routes[].uploadIdleTimeout).
var (
	// errUploadStalled: the client sent no byte of the body while the proxy waited for
	// one. It is the client's doing: 408.
	errUploadStalled = errors.New("proxy: the client stopped sending the request body")
	// errUpstreamStalled: the upstream took no byte of the body (the proxy was not
	// waiting for the client). It is the upstream's doing: 504.
	errUpstreamStalled = errors.New("proxy: the upstream stopped reading the request body")
)

// uploadWatch is the body of a proxied request as read from the client: an upload must
// make progress, a byte at least every idle period, rather than finish within a fixed
// time (a large upload on a slow link is fine, a stalled one is not). A timer, pushed
// back by every read that returns data, fires when no byte moved for idle: if a read from
// the client was pending, the client stalled (the exchange ends with errUploadStalled and
// the pending read is ended by a read deadline in the past); otherwise the transport was
// stuck writing to the upstream (errUpstreamStalled). Either way the exchange is
// cancelled first, so the transport abandons the upstream request mid-body: the upstream
// sees an aborted request, never a short one that ends cleanly.
//
// Read runs on the goroutine that reads the body (the handler's while it is buffered, the
// transport's while it streams), fire on the timer's, stop on the handler's.
type uploadWatch struct {
	body io.ReadCloser
	x    *exchange
	w    http.ResponseWriter // only for the read deadline that ends a stalled read
	idle time.Duration
	// left is what remains of a body of declared length (-1: chunked). Once it is read,
	// the body's end is answered here, without another read of the client's body: the
	// server, once the response headers are written, may drain and close that body
	// itself, and a read after that fails, which would abort the upstream request and
	// cut the response it is streaming.
	left int64

	timer   *time.Timer
	reading atomic.Bool // a read from the client is pending
	sent    atomic.Bool // the body was read whole (or closed)

	mu      sync.Mutex // orders fire against stop: w is not touched after the handler
	stopped bool
}

// watchUpload makes out's body an uploadWatch and returns it, or nil when there is no body.
func (r *route) watchUpload(w http.ResponseWriter, out *http.Request, x *exchange) *uploadWatch {
	if out.Body == nil || out.Body == http.NoBody {
		return nil
	}
	u := &uploadWatch{body: out.Body, x: x, w: w, idle: r.uploadIdle, left: out.ContentLength}
	u.timer = time.AfterFunc(u.idle, u.fire)
	out.Body = u
	return u
}

// Read reads from the client, pushing the idle timer back when bytes came. When the body
// ends, the transport is about to send its last bytes: the header timeout starts.
func (u *uploadWatch) Read(p []byte) (int, error) {
	if u.left == 0 {
		u.finish()
		return 0, io.EOF
	}
	u.reading.Store(true)
	n, err := u.body.Read(p)
	u.reading.Store(false)
	if u.left > 0 {
		u.left -= int64(n)
	}
	if n > 0 && !u.sent.Load() {
		u.timer.Reset(u.idle)
	}
	switch {
	case err == io.EOF || (err == nil && u.left == 0):
		u.finish()
	case err != nil && errors.Is(context.Cause(u.x), errUploadStalled):
		return n, fmt.Errorf("%w: %w", errUploadStalled, err)
	}
	return n, err
}

// Close ends the watch and closes the client's body. ReverseProxy keeps the transport's
// own close from reaching it (the server closes the body after the handler); a caller
// that closes it early has given up on the rest.
func (u *uploadWatch) Close() error {
	u.finish()
	return u.body.Close()
}

// finish ends the watch once the body was read whole or closed, and starts the header
// timeout of a streamed body.
func (u *uploadWatch) finish() {
	if u.sent.Swap(true) {
		return
	}
	u.timer.Stop()
	if u.x.upload == u {
		u.x.bodySent()
	}
}

// fire ends an upload that made no progress for idle, blaming whoever it waited for.
func (u *uploadWatch) fire() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stopped || u.sent.Load() {
		return
	}
	if !u.reading.Load() {
		u.x.cancel(errUpstreamStalled)
		return
	}
	// The cause is set before the read fails, so whoever sees the failure finds it.
	u.x.cancel(errUploadStalled)
	u.endPendingRead()
}

// stop ends the watch for good; the handler calls it before it returns. A body the
// transport did not read to its end (the upstream answered early, or the attempt failed)
// is abandoned: a read from the client still pending is ended, else the server, which
// drains or closes the body after the handler, would wait on it as long as the client
// pleases, stalled or not.
func (u *uploadWatch) stop() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stopped = true
	u.timer.Stop()
	if !u.sent.Load() {
		u.endPendingRead()
	}
}

// endPendingRead makes the pending (or next) read from the client fail at once, by a
// read deadline in the past on its connection. Where the writer cannot set one (an
// application's own server wrapping it without Unwrap) the read is left to the server.
func (u *uploadWatch) endPendingRead() {
	_ = http.NewResponseController(u.w).SetReadDeadline(time.Now())
}

// uploadStalled reports whether err, or the exchange's cause, says the client stalled.
func uploadStalled(x *exchange, err error) bool {
	return errors.Is(err, errUploadStalled) || (x != nil && errors.Is(context.Cause(x), errUploadStalled))
}
