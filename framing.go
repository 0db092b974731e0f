package bff

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/tokenward/bff/internal/framing"
	"github.com/tokenward/bff/problem"
)

// maxBFFBody bounds the body of any /bff/* request. The largest legitimate one is a
// back-channel logout form holding one logout token; the JSON endpoints take none.
const maxBFFBody = 64 << 10

// guardFraming is the public handler's outermost layer. It answers 400 bad_request and
// closes the connection when the connection's framing watch (internal/framing, set up by
// Serve) saw a request framed two ways: Content-Length with Transfer-Encoding, two
// Content-Lengths, or Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1, §6.3: a front proxy
// may have framed it by the other field, and the rest of the connection may be a request
// it never saw). It closes, after answering, a connection whose framing the watch lost.
// It also bounds /bff/* request bodies, in size and in time (bodyTimeout, see
// readBFFBody).
func guardFraming(next http.Handler, bodyTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fc := framing.FromContext(r.Context()); fc != nil {
			switch v, why := fc.Verdict(); v {
			case framing.Refused:
				w.Header().Set("Connection", "close")
				problem.Write(w, problem.New(http.StatusBadRequest, problem.BadRequest,
					"ambiguous message framing: "+why.String(), nil))
				return
			case framing.Unframed:
				if !bodilessHandshake(r) {
					w.Header().Set("Connection", "close")
				}
			}
		}
		if strings.HasPrefix(r.URL.Path, "/bff/") && (!limitBody(w, r, maxBFFBody) || !readBFFBody(w, r, bodyTimeout)) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bodilessHandshake reports whether r is a protocol-switch handshake that carries no
// body: a GET with neither Content-Length nor Transfer-Encoding that asks for an upgrade
// (Connection: upgrade). Only such a request may keep an unframed connection open, as a
// 101 must not say close; everyone parses its end the same way. Any other request, an
// Upgrade header or not, is answered with Connection: close: a mere "Upgrade: x" on a
// request framed two ways must not keep the rest of the connection, a smuggled request,
// alive.
func bodilessHandshake(r *http.Request) bool {
	return r.Method == http.MethodGet && r.ContentLength == 0 && len(r.TransferEncoding) == 0 &&
		r.Header.Get("Upgrade") != "" && httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade")
}

// limitBody bounds r's body to limit bytes: a declared Content-Length over it is answered
// 413 at once (false: the request must not go on), a longer body of unknown length fails
// its read with *http.MaxBytesError. The connection is closed after a 413, so the unread
// rest of the body is never parsed as a request.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		problem.Write(w, problem.New(http.StatusRequestEntityTooLarge, problem.BadRequest,
			"request body larger than "+strconv.FormatInt(limit, 10)+" bytes", nil))
		return false
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	return true
}
