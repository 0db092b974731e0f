package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wsGrace bounds each wait of a clean websocket end: for the frame in flight in either
// direction to finish before a close frame can go, and for the client's answering close
// frame. A peer that takes longer is simply disconnected.
const wsGrace = time.Second

// errStreamEnded ends ReverseProxy's copy from the upstream once the client has its close
// frame: an error (not io.EOF) makes ReverseProxy close the client's connection at once
// instead of waiting for the client to close its side.
var errStreamEnded = errors.New("proxy: stream ended by the BFF")

// isWebsocket reports whether resp switched the connection to the websocket protocol.
func isWebsocket(resp *http.Response) bool {
	return resp.StatusCode == http.StatusSwitchingProtocols &&
		strings.EqualFold(resp.Header.Get("Upgrade"), "websocket")
}

// wsConn is the upstream connection of a tracked websocket, as ReverseProxy copies it:
// Read carries the upstream's frames to the client, Write the client's frames to the
// upstream. Both follow the frame boundaries (frameTracker), so that when the BFF cuts
// the stream (Close after the exchange's cut), each side gets a close frame between two
// frames: the upstream first, masked, then the client, whose answer is awaited briefly.
// Without a cut it only passes bytes through.
type wsConn struct {
	io.ReadWriteCloser // the upgraded upstream connection (the 101 response's body)
	x                  *exchange

	// Upstream to client: Read, on ReverseProxy's copyFromBackend goroutine.
	down      frameTracker
	downIdle  atomic.Bool               // down is at a frame boundary (for the closer)
	downWhy   atomic.Pointer[streamEnd] // set by the closer: end at the next boundary
	downReady chan struct{}             // closed by Read when it reached that boundary
	tail      []byte                    // the close frame still to hand the client
	tailDone  bool                      // the client has its close frame (or none is due)

	// Client to upstream: Write, on copyToBackend, and the closer. upLock is a mutex the
	// closer can stop waiting for (a Write stuck on a slow upstream holds it).
	upLock    chan struct{}
	up        frameTracker
	upWhy     *streamEnd    // the close frame waits for the end of the client's frame
	upDone    bool          // the close frame went upstream: the client's frames stop here
	upSent    chan struct{} // closed with upDone
	clientBye chan struct{} // closed when the client's close frame arrives after upDone

	closing sync.Once
	grace   time.Duration // wsGrace; tests lengthen it to see what is awaited
}

func newWSConn(rwc io.ReadWriteCloser, x *exchange) *wsConn {
	c := &wsConn{ReadWriteCloser: rwc, x: x, downReady: make(chan struct{}),
		upLock: make(chan struct{}, 1), upSent: make(chan struct{}), clientBye: make(chan struct{}), grace: wsGrace}
	c.downIdle.Store(true)
	return c
}

// Read passes the upstream's bytes to the client until a cut; then the rest of the frame
// in flight, the close frame, and after the client's answer (or wsGrace) errStreamEnded.
func (c *wsConn) Read(p []byte) (int, error) {
	if c.tailDone {
		return 0, c.linger()
	}
	if len(c.tail) > 0 {
		return c.giveTail(p), nil
	}
	if why := c.downWhy.Load(); why != nil && c.down.atBoundary() {
		return c.endDown(why, p, 0), nil
	}
	n, err := c.ReadWriteCloser.Read(p)
	why := c.downWhy.Load()
	if why == nil {
		c.down.feed(p[:n])
		c.downIdle.Store(c.down.atBoundary())
		return n, err
	}
	n = c.down.untilBoundary(p[:n])
	if !c.down.atBoundary() {
		return n, err // mid-frame: pass it on; an upstream gone now just ends
	}
	return c.endDown(why, p, n), nil
}

// endDown is Read at the first boundary after the cut: the n bytes of p that finished the
// last frame, then (on the next Reads) the close frame.
func (c *wsConn) endDown(why *streamEnd, p []byte, n int) int {
	if c.downReady != nil {
		close(c.downReady)
		c.downReady = nil
	}
	if !c.down.closeSeen { // never a second close frame
		c.tail = why.closeFrame(why.clientCode, false)
	} else {
		c.tailDone = true
	}
	if n > 0 {
		return n
	}
	return c.giveTail(p)
}

func (c *wsConn) giveTail(p []byte) int {
	n := copy(p, c.tail)
	c.tail = c.tail[n:]
	c.tailDone = len(c.tail) == 0
	return n
}

// linger waits for the client's close frame, briefly, so that its connection is not
// reset under the frame it is reading, then ends the copy.
func (c *wsConn) linger() error {
	t := time.NewTimer(c.grace)
	defer t.Stop()
	select {
	case <-c.clientBye:
	case <-t.C:
	}
	return errStreamEnded
}

// Write passes the client's bytes to the upstream; after a cut, up to the end of the
// frame in flight, then the close frame, then nothing.
func (c *wsConn) Write(p []byte) (int, error) {
	c.upLock <- struct{}{}
	defer func() { <-c.upLock }()
	if c.upDone {
		c.noteClientClose(p)
		return len(p), nil
	}
	if c.upWhy == nil {
		c.up.feed(p)
		return c.ReadWriteCloser.Write(p)
	}
	n := c.up.untilBoundary(p)
	if _, err := c.ReadWriteCloser.Write(p[:n]); err != nil {
		return n, err
	}
	if c.up.atBoundary() {
		c.closeUpstream(c.upWhy)
		c.noteClientClose(p[n:])
	}
	return len(p), nil
}

// closeUpstream sends the upstream its close frame; upLock is held.
func (c *wsConn) closeUpstream(why *streamEnd) {
	if !c.up.closeSeen { // the client's own close frame went already: none of ours
		_, _ = c.ReadWriteCloser.Write(why.closeFrame(why.upstreamCode, true))
	}
	c.upDone = true
	close(c.upSent)
}

// noteClientClose follows the client's frames after the upstream's close frame went, to
// see the client's answer to its own close frame.
func (c *wsConn) noteClientClose(p []byte) {
	seen := c.up.closeSeen
	c.up.feed(p)
	if !seen && c.up.closeSeen {
		close(c.clientBye)
	}
}

// Close is called by ReverseProxy when the request's context ends (the cut) or the
// tunnel is done. After a cut it ends both sides cleanly first, each within wsGrace.
func (c *wsConn) Close() error {
	c.closing.Do(func() {
		if why := c.x.ended.Load(); why != nil {
			c.endCleanly(why)
		}
	})
	return c.ReadWriteCloser.Close()
}

// endCleanly sends the upstream its close frame and has Read give the client its own.
// Closing the upstream connection afterwards (Close) ends the Read waiting on it.
func (c *wsConn) endCleanly(why *streamEnd) {
	ctx, cancel := context.WithTimeout(context.Background(), c.grace)
	defer cancel()
	select {
	case c.upLock <- struct{}{}:
		if c.up.atBoundary() {
			c.closeUpstream(why)
		} else {
			c.upWhy = why // Write sends it at the end of the client's frame
		}
		<-c.upLock
		select {
		case <-c.upSent:
		case <-ctx.Done():
		}
	case <-ctx.Done(): // a Write is stuck on the upstream
	}
	ready := c.downReady // read before downWhy is set: Read then owns it
	c.downWhy.Store(why)
	if !c.downIdle.Load() {
		select {
		case <-ready:
		case <-time.After(c.grace):
		}
	}
	c.x.route.p.logStreamEnd(c.x, why, "websocket")
}
