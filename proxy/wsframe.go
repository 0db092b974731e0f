package proxy

// opClose is the websocket close frame's opcode (RFC 6455 section 5.5.1).
const opClose = 0x8

// The states of a frameTracker: what the next byte of the direction is.
const (
	wsFirst   = iota // at a frame boundary: FIN, RSV and opcode
	wsLen            // the mask bit and the 7-bit payload length
	wsExtLen         // a byte of the 16- or 64-bit extended payload length
	wsMaskKey        // a byte of the masking key
	wsPayload        // payload
)

// frameTracker follows the frame boundaries of one direction of a websocket connection
// (RFC 6455 section 5.2) from the bytes that pass, so that a close frame can be put
// between two frames. It reads headers a byte at a time and skips payloads whole: it
// never buffers nor allocates. Extensions change payloads, not framing (RSV bits are
// ignored). Not safe for concurrent use.
type frameTracker struct {
	state     uint8
	need      uint8  // bytes still to come in the extended length or the masking key
	masked    bool   // the frame in flight has a masking key
	remain    uint64 // payload bytes still to come, or the extended length read so far
	closeSeen bool   // a close frame has started in this direction
}

// atBoundary reports whether the bytes so far end with a whole frame.
func (t *frameTracker) atBoundary() bool { return t.state == wsFirst }

// feed follows all of p.
func (t *frameTracker) feed(p []byte) { t.advance(p, false) }

// untilBoundary follows p up to the end of the frame in flight and returns how many bytes
// of p that is: 0 at a boundary, len(p) when the frame goes on past p.
func (t *frameTracker) untilBoundary(p []byte) int {
	if t.atBoundary() {
		return 0
	}
	return t.advance(p, true)
}

// advance follows p and returns how many bytes it took: all of them, or with stop, up to
// the first frame end.
func (t *frameTracker) advance(p []byte, stop bool) int {
	i := 0
	for i < len(p) {
		if t.state == wsPayload {
			if left := uint64(len(p) - i); t.remain > left {
				t.remain -= left
				return len(p)
			}
			i += int(t.remain)
			t.remain, t.state = 0, wsFirst
		} else {
			t.header(p[i])
			i++
		}
		if stop && t.state == wsFirst {
			return i
		}
	}
	return i
}

// header takes one header byte.
func (t *frameTracker) header(b byte) {
	switch t.state {
	case wsFirst:
		if b&0x0f == opClose {
			t.closeSeen = true
		}
		t.state = wsLen
	case wsLen:
		t.masked = b&0x80 != 0
		switch n := b & 0x7f; n {
		case 126:
			t.state, t.need, t.remain = wsExtLen, 2, 0
		case 127:
			t.state, t.need, t.remain = wsExtLen, 8, 0
		default:
			t.remain = uint64(n)
			t.lengthDone()
		}
	case wsExtLen:
		t.remain = t.remain<<8 | uint64(b)
		if t.need--; t.need == 0 {
			t.lengthDone()
		}
	case wsMaskKey:
		if t.need--; t.need == 0 {
			t.payload()
		}
	}
}

func (t *frameTracker) lengthDone() {
	if t.masked {
		t.state, t.need = wsMaskKey, 4
		return
	}
	t.payload()
}

func (t *frameTracker) payload() {
	if t.remain == 0 {
		t.state = wsFirst
		return
	}
	t.state = wsPayload
}
