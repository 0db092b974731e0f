// Package wstest is a minimal websocket peer for tests (RFC 6455): a server upgrade, a
// client dial, and frames read and written one at a time, so that a test sees exactly
// which frames (close codes, masking) crossed the BFF. It is not a websocket library:
// no fragmentation handling, no extensions, no validation beyond what tests need.
package wstest

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Opcodes (RFC 6455 section 5.2).
const (
	OpText  = 0x1
	OpClose = 0x8
)

// Frame is one websocket frame as it crossed the wire.
type Frame struct {
	Fin     bool
	Opcode  byte
	Masked  bool
	Payload []byte // unmasked
}

// CloseCode is the status code of a close frame (0 when it has none).
func (f Frame) CloseCode() uint16 {
	if f.Opcode != OpClose || len(f.Payload) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(f.Payload)
}

// CloseText is the reason text of a close frame.
func (f Frame) CloseText() string {
	if f.Opcode != OpClose || len(f.Payload) < 2 {
		return ""
	}
	return string(f.Payload[2:])
}

// Conn is one side of a websocket connection.
type Conn struct {
	net.Conn
	r      *bufio.Reader
	client bool // a client masks its frames
}

// ReadFrame reads the next frame.
func (c *Conn) ReadFrame() (Frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Fin: h[0]&0x80 != 0, Opcode: h[0] & 0x0f, Masked: h[1]&0x80 != 0}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return f, fmt.Errorf("wstest: frame of %d bytes", n)
	}
	var key [4]byte
	if f.Masked {
		if _, err := io.ReadFull(c.r, key[:]); err != nil {
			return f, err
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(c.r, f.Payload); err != nil {
		return f, err
	}
	if f.Masked {
		for i := range f.Payload {
			f.Payload[i] ^= key[i%4]
		}
	}
	return f, nil
}

// Encode returns a whole frame with FIN set, masked by a client.
func Encode(opcode byte, payload []byte, masked bool) []byte {
	b := []byte{0x80 | opcode}
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, m|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, m|127), uint64(n))
	}
	if !masked {
		return append(b, payload...)
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	b = append(b, key[:]...)
	for i, p := range payload {
		b = append(b, p^key[i%4])
	}
	return b
}

// WriteFrame writes one whole frame.
func (c *Conn) WriteFrame(opcode byte, payload []byte) error {
	_, err := c.Write(Encode(opcode, payload, c.client))
	return err
}

// CloseFrame is the payload of a close frame with code and text.
func CloseFrame(code uint16, text string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), text...)
}

// Accept is the Sec-WebSocket-Accept value for key.
func Accept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// Upgrade answers a websocket handshake with 101 and returns the server side.
func Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		http.Error(w, "not a websocket handshake", http.StatusBadRequest)
		return nil, errors.New("wstest: not a websocket handshake")
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("wstest: hijack: %w", err)
	}
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", Accept(key))
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("wstest: write 101: %w", err)
	}
	return &Conn{Conn: conn, r: brw.Reader}, nil
}

// Dial opens a websocket to rawURL with header added to the handshake, and returns the
// client side after a 101. An https or wss URL is dialled with TLS and tlsConf.
func Dial(rawURL string, header http.Header, tlsConf *tls.Config) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("wstest: %w", err)
	}
	var conn net.Conn
	if u.Scheme == "https" || u.Scheme == "wss" {
		conn, err = tls.Dial("tcp", u.Host, tlsConf)
	} else {
		conn, err = net.Dial("tcp", u.Host)
	}
	if err != nil {
		return nil, fmt.Errorf("wstest: dial: %w", err)
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: u.Path, RawQuery: u.RawQuery}, Host: u.Host,
		Header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key": {key}}, ProtoMajor: 1, ProtoMinor: 1}
	for name, vs := range header {
		req.Header[name] = vs
	}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("wstest: handshake: %w", err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("wstest: handshake response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-Websocket-Accept") != Accept(key) {
		conn.Close()
		return nil, fmt.Errorf("wstest: handshake answered %d", resp.StatusCode)
	}
	return &Conn{Conn: conn, r: r, client: true}, nil
}

// Server is the server side of a connection whose handshake is done (no masking).
func Server(conn net.Conn) *Conn { return &Conn{Conn: conn, r: bufio.NewReader(conn)} }

// Greeter is an upstream's handler: it upgrades, sends the text frame "hi", and passes
// every frame it reads to frames, which it closes when the connection ends.
func Greeter(frames chan<- Frame) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r)
		if err != nil {
			return
		}
		defer c.Close()
		defer close(frames)
		if c.WriteFrame(OpText, []byte("hi")) != nil {
			return
		}
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			frames <- f
		}
	}
}

// AnswerClose reads the next frame, which must be a close frame, and answers it with
// the same code, as a peer does; then it checks the connection ends.
func (c *Conn) AnswerClose() (Frame, error) {
	f, err := c.ReadFrame()
	if err != nil {
		return f, fmt.Errorf("wstest: no close frame: %w", err)
	}
	if f.Opcode != OpClose {
		return f, fmt.Errorf("wstest: opcode %d, want a close frame", f.Opcode)
	}
	if err := c.WriteFrame(OpClose, f.Payload[:min(2, len(f.Payload))]); err != nil {
		return f, fmt.Errorf("wstest: answering the close frame: %w", err)
	}
	if _, err := c.ReadFrame(); err == nil {
		return f, errors.New("wstest: the connection goes on after the close handshake")
	}
	return f, nil
}
