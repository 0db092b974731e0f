package proxy

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
)

// streamEnd is why the BFF ends a live stream, and what each side is told: an SSE event
// for the browser's EventSource, websocket close codes for the client and the upstream.
type streamEnd struct {
	reason       string // the SSE event's data and the log's reason
	event        string // the SSE event's name
	retry        bool   // the SSE event carries a retry hint (the client should come back)
	clientCode   uint16 // the websocket close code sent to the client
	upstreamCode uint16 // the websocket close code sent to the upstream
	text         string // the close frames' reason text
}

var (
	// endSession: logout, back-channel logout or expiry. 1008 (policy violation) tells
	// the client not to reconnect with the same credentials; the upstream gets a normal
	// closure: the user's session is over, nothing failed.
	endSession = &streamEnd{reason: "session_ended", event: "bff-session-ended",
		clientCode: 1008, upstreamCode: 1000, text: "session ended"}
	// endShutdown: this replica is going away; both sides get 1001 (going away).
	endShutdown = &streamEnd{reason: "shutdown", event: "bff-shutdown", retry: true,
		clientCode: 1001, upstreamCode: 1001, text: "server shutting down"}
)

// sseRetryMin and sseRetrySpread bound the reconnection delay announced at shutdown: long
// enough for the load balancer to stop sending to this replica, spread so that every
// browser of the replica does not come back in the same instant.
const (
	sseRetryMin    = 1000 // ms
	sseRetrySpread = 2000 // ms
)

// sseEvent is the event that tells an EventSource why its stream ends.
func (e *streamEnd) sseEvent() []byte {
	ev := fmt.Sprintf("event: %s\ndata: {\"reason\":%q}\n\n", e.event, e.reason)
	if e.retry {
		ev = fmt.Sprintf("retry: %d\n", sseRetryMin+rand.IntN(sseRetrySpread)) + ev
	}
	return []byte(ev)
}

// closeFrame returns a websocket close frame with code and e's reason text, masked with
// a random key when it goes to a server (RFC 6455 section 5.3: a client masks every frame).
func (e *streamEnd) closeFrame(code uint16, masked bool) []byte {
	payload := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(e.text)), code)
	payload = append(payload, e.text...) // < 126 bytes: a 7-bit length
	f := []byte{0x80 | opClose, byte(len(payload))}
	if !masked {
		return append(f, payload...)
	}
	f[1] |= 0x80
	var key [4]byte
	_, _ = crand.Read(key[:]) // never fails (crypto/rand)
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// cut ends a stream for why. The first reason wins. ReverseProxy closes the upgraded
// backend connection when the request context ends, and an SSE body read fails; the
// wrappers of both (sseBody, wsConn) turn that into a clean end. The cause is plain
// context.Canceled, which ReverseProxy does not log as a copy error: cutting is
// deliberate.
func (x *exchange) cut(why *streamEnd) {
	x.ended.CompareAndSwap(nil, why)
	x.cancel(context.Canceled)
}

// logStreamEnd notes a stream the BFF ended: the access log shows it as an ordinary end.
func (p *Proxy) logStreamEnd(x *exchange, why *streamEnd, kind string) {
	p.log.LogAttrs(x.in.Context(), slog.LevelInfo, "proxy: stream ended by the BFF",
		slog.String("route", x.route.name), slog.String("stream", kind), slog.String("reason", why.reason))
}
