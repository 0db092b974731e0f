package proxy

import (
	"errors"
	"io"
	"net/http"
)

// sseBody is the body of a tracked SSE response. When the BFF cuts the stream, the
// upstream read fails; sseBody turns that failure into a normal end of the body, so that
// ReverseProxy returns and the server ends the response with its final chunk (the
// browser's EventSource sees a clean end, not a network error). If the stream is between
// two events, an event naming the reason goes first (see streamEnd.sseEvent). Read is
// called by ReverseProxy's copy loop only.
type sseBody struct {
	io.ReadCloser
	x      *exchange
	lines  sseLines
	inject bool   // the body is plain text: an event may be added between events
	ended  bool   // the cut was seen: what is left is tail, then io.EOF
	tail   []byte // the closing event still to hand out
}

func newSSEBody(resp *http.Response, x *exchange) *sseBody {
	enc := resp.Header.Get("Content-Encoding")
	return &sseBody{ReadCloser: resp.Body, x: x, lines: sseLines{boundary: true},
		inject: enc == "" || enc == "identity"}
}

func (b *sseBody) Read(p []byte) (int, error) {
	if b.ended {
		if len(b.tail) == 0 {
			return 0, io.EOF
		}
		n := copy(p, b.tail)
		b.tail = b.tail[n:]
		return n, nil
	}
	n, err := b.ReadCloser.Read(p)
	b.lines.feed(p[:n])
	if err == nil || errors.Is(err, io.EOF) {
		return n, err
	}
	why := b.x.ended.Load()
	if why == nil {
		return n, err // the upstream failed: ReverseProxy aborts the response
	}
	b.ended = true
	if b.inject && b.lines.boundary {
		b.tail = why.sseEvent()
	}
	b.x.route.p.logStreamEnd(b.x, why, "sse")
	return n, nil
}

// sseLines follows the event boundaries of an SSE stream from the bytes that pass: an
// event ends with an empty line, and a line ends with CRLF, LF or CR (the HTML standard's
// event stream grammar).
type sseLines struct {
	boundary bool // the last byte ended an empty line (or nothing passed yet)
	lineLen  int  // characters on the current line so far
	lastCR   bool // the last byte was CR: a following LF belongs to it
}

func (l *sseLines) feed(p []byte) {
	for _, c := range p {
		switch {
		case c == '\n' && l.lastCR:
			// the CR already ended the line
		case c == '\n' || c == '\r':
			l.boundary = l.lineLen == 0
			l.lineLen = 0
		default:
			l.lineLen++
			l.boundary = false
		}
		l.lastCR = c == '\r'
	}
}
