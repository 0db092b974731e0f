// Package framing watches the raw bytes of HTTP/1.1 connections for request framing that
// net/http accepts but a front proxy may read differently (request smuggling).
//
// Go's server, given a request with both Content-Length and Transfer-Encoding: chunked,
// deletes Content-Length, reads the body as chunked and keeps the connection open; it
// accepts repeated identical Content-Length fields; and it ignores Transfer-Encoding in
// an HTTP/1.0 request. A proxy in front that frames such a request by the other field
// leaves bytes on the connection that Go reads as a second request nobody sent through the
// proxy. RFC 9112 §6.1 and §6.3 call these messages faulty and require the connection to
// be closed after them. The handler cannot tell: by the time it runs, the fields are gone.
//
// So Listener wraps each accepted connection in a Conn that follows the message framing of
// every request on it, as Go's server does (head, then a Content-Length or chunked body),
// and records a Verdict the handler reads through FromContext:
//   - Refused: a request head on this connection carried Content-Length together with
//     Transfer-Encoding, Content-Length twice, or Transfer-Encoding in HTTP/1.0. The
//     handler answers 400 and closes the connection.
//   - Unframed: the bytes stopped making sense as HTTP/1.1 (a hijacked websocket, a
//     malformed message Go is rejecting anyway). The watch stops; the handler should not
//     keep such a connection alive.
//
// Once a connection is Refused every request still on it is refused (a request pipelined
// before the faulty one included): nothing after a desynchronising head can be trusted.
// The watch costs a few bytes of state per connection and no copy of the data.
package framing

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// Verdict is what the watch has concluded about a connection so far. It only grows.
type Verdict int32

const (
	// OK: every request head so far was framed unambiguously.
	OK Verdict = iota
	// Unframed: the watch lost the message boundaries and stopped.
	Unframed
	// Refused: a request head was framed ambiguously (see Reason).
	Refused
)

// Reason says why a connection was Refused.
type Reason int32

const (
	// NoReason: the connection was not refused.
	NoReason Reason = iota
	// BothLengths: Content-Length and Transfer-Encoding in one request.
	BothLengths
	// DuplicateLength: more than one Content-Length field.
	DuplicateLength
	// EncodingInHTTP10: Transfer-Encoding in an HTTP/1.0 request.
	EncodingInHTTP10
)

func (r Reason) String() string {
	switch r {
	case BothLengths:
		return "both Content-Length and Transfer-Encoding"
	case DuplicateLength:
		return "more than one Content-Length"
	case EncodingInHTTP10:
		return "Transfer-Encoding in an HTTP/1.0 request"
	}
	return "none"
}

// Listener wraps every accepted connection in a Conn. MaxHeaderBytes is the server's
// http.Server.MaxHeaderBytes: a head longer than Go would accept ends the watch.
type Listener struct {
	net.Listener
	MaxHeaderBytes int
}

// Accept accepts the next connection and starts watching it.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return NewConn(c, l.MaxHeaderBytes), nil
}

// Conn is a net.Conn whose reads feed the framing watch.
type Conn struct {
	net.Conn
	mu      sync.Mutex // the scanner; Go's server reads from one goroutine at a time, but a background read may overlap a handler's Verdict call
	sc      scanner
	verdict atomic.Int32
	reason  atomic.Int32
}

// NewConn watches c. maxHeaderBytes bounds a head as http.Server.MaxHeaderBytes does.
func NewConn(c net.Conn, maxHeaderBytes int) *Conn {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = 1 << 20 // http.DefaultMaxHeaderBytes
	}
	// Go's server allows 4 KiB beyond MaxHeaderBytes; a little more keeps the watch from
	// giving up before Go does.
	return &Conn{Conn: c, sc: scanner{maxHead: maxHeaderBytes + 8<<10}}
}

// Read reads from the connection and feeds what it read to the watch.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && Verdict(c.verdict.Load()) == OK {
		c.mu.Lock()
		v, why := c.sc.feed(p[:n])
		c.mu.Unlock()
		if v != OK {
			c.reason.Store(int32(why))
			c.verdict.Store(int32(v))
		}
	}
	return n, err
}

// Verdict returns what the watch has concluded so far, and why it refused.
func (c *Conn) Verdict() (Verdict, Reason) {
	return Verdict(c.verdict.Load()), Reason(c.reason.Load())
}

type connKey struct{}

// ConnContext is an http.Server.ConnContext that makes the Conn findable by FromContext.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, connKey{}, fc)
	}
	return ctx
}

// FromContext returns the watched connection of a request's context, or nil when the
// server does not watch (tests with httptest, HTTP/2).
func FromContext(ctx context.Context) *Conn {
	fc, _ := ctx.Value(connKey{}).(*Conn)
	return fc
}

// The scanner's states.
type state uint8

const (
	inHead      state = iota // a request head, line by line
	inBody                   // remain bytes of a Content-Length body
	inChunkSize              // a chunk-size line
	inChunkData              // remain bytes of chunk data
	inChunkEnd               // the CRLF after chunk data
	inTrailer                // trailer lines up to the empty one
	stopped                  // the verdict is final
)

// keep is how much of a line the scanner looks at: enough for a request line's method,
// a field name with its Content-Length value, or a chunk size. The request line's
// version is at its end, which tail keeps.
const keep = 80

// maxChunkLine is Go's bound on a chunk-size line (net/http/internal.maxLineLength).
const maxChunkLine = 4096

// scanner follows the framing of the requests on one connection. Not safe for
// concurrent use.
type scanner struct {
	maxHead int
	st      state
	line    line
	size    int // bytes of the current head or trailer

	// the head being read
	sawRequestLine bool
	http10         bool
	lengths        int
	length         int64
	lengthOK       bool
	chunked        bool
	post           bool // the request line's method is POST

	// skipCRLF is how many CR/LF bytes Go discards before the next request (after a POST).
	skipCRLF int

	remain int64 // body or chunk bytes to skip
	crlf   int   // bytes of the CRLF after chunk data seen
}

// line is the line being read: its first keep bytes, its last 16 and its length.
type line struct {
	head [keep]byte
	tail [16]byte
	n    int
}

func (l *line) add(b []byte) {
	if l.n < keep {
		copy(l.head[l.n:], b)
	}
	if len(b) >= len(l.tail) {
		copy(l.tail[:], b[len(b)-len(l.tail):])
	} else {
		copy(l.tail[:], l.tail[len(b):])
		copy(l.tail[len(l.tail)-len(b):], b)
	}
	l.n += len(b)
}

// text returns the line without its CR, as far as kept.
func (l *line) text() []byte {
	t := l.head[:min(l.n, keep)]
	if l.n <= keep {
		t = bytes.TrimSuffix(t, []byte{'\r'})
	}
	return t
}

// end returns the line's last bytes without its CR.
func (l *line) end() []byte {
	t := l.tail[len(l.tail)-min(l.n, len(l.tail)):]
	return bytes.TrimSuffix(t, []byte{'\r'})
}

// feed scans b and returns the verdict once it is not OK.
func (s *scanner) feed(b []byte) (Verdict, Reason) {
	for len(b) > 0 {
		switch s.st {
		case inBody, inChunkData:
			n := int64(len(b))
			if n > s.remain {
				n = s.remain
			}
			s.remain -= n
			b = b[n:]
			if s.remain == 0 {
				s.st = s.afterData()
			}
		case inChunkEnd:
			if b[0] != "\r\n"[s.crlf] {
				return s.stop(Unframed, NoReason)
			}
			b = b[1:]
			if s.crlf++; s.crlf == 2 {
				s.crlf, s.st = 0, inChunkSize
			}
		case stopped:
			return OK, NoReason
		default: // a line-based state
			i := bytes.IndexByte(b, '\n')
			chunk := b
			if i >= 0 {
				chunk = b[:i]
			}
			s.line.add(chunk)
			s.size += len(chunk)
			if i >= 0 {
				s.size++ // the LF
			}
			if s.size > s.maxHead || (s.st == inChunkSize && s.line.n >= maxChunkLine) {
				return s.stop(Unframed, NoReason)
			}
			if i < 0 {
				return OK, NoReason
			}
			b = b[i+1:]
			if v, why := s.endLine(); v != OK {
				return s.stop(v, why)
			}
			s.line = line{}
		}
	}
	return OK, NoReason
}

func (s *scanner) afterData() state {
	if s.st == inChunkData {
		return inChunkEnd
	}
	return inHead
}

func (s *scanner) stop(v Verdict, why Reason) (Verdict, Reason) {
	s.st = stopped
	return v, why
}

// endLine handles one complete line of a head, a chunk size or a trailer.
func (s *scanner) endLine() (Verdict, Reason) {
	switch s.st {
	case inHead:
		return s.headLine()
	case inChunkSize:
		return s.chunkSize()
	case inTrailer:
		if len(s.line.text()) == 0 && s.line.n <= 1 {
			s.st, s.size = inHead, 0
		}
	}
	return OK, NoReason
}

func (s *scanner) headLine() (Verdict, Reason) {
	text := s.line.text()
	switch {
	case !s.sawRequestLine:
		if (s.line.n == 0 || len(text) == 0) && s.line.n+1 <= s.skipCRLF {
			// After a POST, Go discards up to 4 CR/LF bytes before the next request
			// (old clients' stray CRLF): so does the watch.
			s.skipCRLF -= s.line.n + 1
			s.size = 0
			return OK, NoReason
		}
		if s.line.n == 0 || len(text) == 0 {
			return Unframed, NoReason // Go does not skip other blank lines before a request
		}
		s.sawRequestLine, s.skipCRLF = true, 0
		s.post = bytes.HasPrefix(text, []byte("POST "))
		s.http10 = !atLeastHTTP11(s.line.end())
	case len(text) == 0 && s.line.n <= 1:
		return s.endHead()
	case text[0] == ' ' || text[0] == '\t':
		// an obsolete line folding continues the previous field
	default:
		s.field(text)
	}
	return OK, NoReason
}

// field notes a header field that frames the body.
func (s *scanner) field(text []byte) {
	name, value, ok := bytes.Cut(text, []byte{':'})
	if !ok {
		return // Go refuses the head
	}
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		s.lengths++
		v := bytes.Trim(value, " \t")
		n, err := strconv.ParseInt(string(v), 10, 64)
		s.length, s.lengthOK = n, err == nil && n >= 0 && s.line.n < keep && v[0] != '+'
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		s.chunked = true // Go refuses any value but one "chunked" (501, closed)
	}
}

// endHead decides the framing of the body that follows the head, as Go's server does.
func (s *scanner) endHead() (Verdict, Reason) {
	switch {
	case s.chunked && s.lengths > 0:
		return Refused, BothLengths
	case s.lengths > 1:
		return Refused, DuplicateLength
	case s.chunked && s.http10:
		return Refused, EncodingInHTTP10
	}
	chunked, lengths, length, ok, post := s.chunked, s.lengths, s.length, s.lengthOK, s.post
	*s = scanner{maxHead: s.maxHead}
	if post {
		s.skipCRLF = 4 // net/http's conn.readRequest: "RFC 7230 section 3 tolerance"
	}
	switch {
	case chunked:
		s.st = inChunkSize
	case lengths == 1 && !ok:
		return Unframed, NoReason // Go refuses a malformed Content-Length
	case length > 0:
		s.st, s.remain = inBody, length
	}
	return OK, NoReason
}

// chunkSize reads a chunk-size line as Go does: trailing blanks trimmed, an extension
// cut at ';', at most 16 hex digits. Size 0 ends the chunks; the trailer follows.
func (s *scanner) chunkSize() (Verdict, Reason) {
	if s.line.n > keep {
		if bytes.IndexByte(s.line.text(), ';') < 0 {
			return Unframed, NoReason
		}
	}
	text := bytes.TrimRight(s.line.text(), " \t")
	text, _, _ = bytes.Cut(text, []byte{';'})
	n, err := strconv.ParseUint(string(text), 16, 64)
	if err != nil || len(text) > 16 || len(text) == 0 || n > 1<<62 || !isHex(text) {
		return Unframed, NoReason
	}
	s.size = 0
	if n == 0 {
		s.st = inTrailer
		return OK, NoReason
	}
	s.st, s.remain = inChunkData, int64(n)
	return OK, NoReason
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// atLeastHTTP11 reports whether a request line ending in end names HTTP/1.1 or later,
// the versions in which Go honours Transfer-Encoding.
func atLeastHTTP11(end []byte) bool {
	i := bytes.LastIndexByte(end, ' ')
	v := string(end[i+1:])
	switch v {
	case "HTTP/1.1":
		return true
	case "HTTP/1.0":
		return false
	}
	if len(v) != len("HTTP/1.1") || v[:5] != "HTTP/" || v[6] != '.' {
		return false
	}
	major, minor := v[5], v[7]
	return major > '1' || (major == '1' && minor >= '1')
}
