package proxy

import (
	"encoding/binary"
	"slices"
	"testing"
)

// Payload length forms of a frame header (RFC 6455 section 5.2).
const (
	len7 = iota
	len16
	len64
)

// frameBytes is a frame with an n-byte payload, its length written in form (also a
// longer form than needed: the tracker must follow any).
func frameBytes(opcode byte, n int, masked bool, form int) []byte {
	b := []byte{0x80 | opcode}
	var m byte
	if masked {
		m = 0x80
	}
	switch form {
	case len7:
		b = append(b, m|byte(n))
	case len16:
		b = binary.BigEndian.AppendUint16(append(b, m|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, m|127), uint64(n))
	}
	if masked {
		b = append(b, 1, 2, 3, 4)
	}
	return append(b, make([]byte, n)...)
}

// framesFrom makes frames from fuzz input, two bytes a frame: opcode, mask and length
// form from the first, the payload length from the second. It returns the stream and
// the offsets where frames end.
func framesFrom(spec []byte) ([]byte, []int) {
	var stream []byte
	var ends []int
	for i := 0; i+1 < len(spec) && len(ends) < 64; i += 2 {
		a, n := spec[i], int(spec[i+1])
		form := int(a>>4) % 3
		if form == len7 {
			n %= 126
		}
		stream = append(stream, frameBytes(a&0x0f, n, a&0x80 != 0, form)...)
		ends = append(ends, len(stream))
	}
	return stream, ends
}

// checkTracker feeds stream in pieces of step bytes, with feed and with untilBoundary,
// and checks that boundaries are found exactly at ends.
func checkTracker(t *testing.T, stream []byte, ends []int, step int) {
	t.Helper()
	var fed frameTracker
	for pos := 0; pos < len(stream); {
		n := min(step, len(stream)-pos)
		fed.feed(stream[pos : pos+n])
		pos += n
		if at := slices.Contains(ends, pos); fed.atBoundary() != at {
			t.Fatalf("feed: at %d of %d boundary %v, want %v (ends %v)", pos, len(stream), fed.atBoundary(), at, ends)
		}
	}
	var stopped frameTracker
	var found []int
	for pos := 0; pos < len(stream); {
		chunk := stream[pos:min(pos+step, len(stream))]
		if stopped.atBoundary() {
			if n := stopped.untilBoundary(chunk); n != 0 {
				t.Fatalf("untilBoundary at a boundary took %d bytes", n)
			}
			stopped.feed(chunk[:1]) // the next frame's first byte
			pos++
			continue
		}
		n := stopped.untilBoundary(chunk)
		if n == 0 || (n < len(chunk) && !stopped.atBoundary()) {
			t.Fatalf("untilBoundary took %d of %d bytes at %d, boundary %v", n, len(chunk), pos, stopped.atBoundary())
		}
		pos += n
		if stopped.atBoundary() {
			found = append(found, pos)
		}
	}
	if !slices.Equal(found, ends) {
		t.Fatalf("untilBoundary found frame ends %v, want %v", found, ends)
	}
}

func TestFrameTrackerFindsFrameEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec []byte // as framesFrom reads it
	}{
		{"empty frames", []byte{0x01, 0, 0x81, 0, 0x08, 0}},
		{"7-bit lengths", []byte{0x01, 1, 0x82, 125, 0x09, 3}},
		{"16-bit lengths", []byte{0x11, 0, 0x91, 200, 0x12, 255}},
		{"64-bit lengths", []byte{0x21, 0, 0xa1, 7, 0x22, 255}},
		{"mixed", []byte{0x81, 5, 0x11, 130, 0xa8, 2, 0x0a, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream, ends := framesFrom(tc.spec)
			for _, step := range []int{1, 2, 3, 7, 13, 64, len(stream)} {
				checkTracker(t, stream, ends, step)
			}
		})
	}
	big := frameBytes(0x2, 70000, true, len64) // longer than 16 bits
	checkTracker(t, big, []int{len(big)}, 4096)
}

func TestFrameTrackerSeesCloseFrames(t *testing.T) {
	var tr frameTracker
	tr.feed(frameBytes(0x1, 3, true, len7))
	if tr.closeSeen {
		t.Fatal("a text frame read as a close frame")
	}
	tr.feed(frameBytes(0x8, 2, true, len7)[:1])
	if !tr.closeSeen {
		t.Fatal("a close frame went unseen")
	}
}

func FuzzFrameTracker(f *testing.F) {
	f.Add([]byte{0x01, 0, 0x81, 0, 0x08, 0}, uint8(1))
	f.Add([]byte{0x11, 200, 0xa1, 7, 0x82, 125}, uint8(3))
	f.Add([]byte{0x81, 5, 0x11, 130, 0xa8, 2, 0x0a, 0}, uint8(255))
	f.Fuzz(func(t *testing.T, spec []byte, step uint8) {
		stream, ends := framesFrom(spec)
		checkTracker(t, stream, ends, int(step)+1)
	})
}

// loopRWC is an upgraded connection that reads frame forever and swallows writes.
type loopRWC struct {
	frame []byte
	off   int
}

func (l *loopRWC) Read(p []byte) (int, error) {
	n := copy(p, l.frame[l.off:])
	l.off = (l.off + n) % len(l.frame)
	return n, nil
}
func (l *loopRWC) Write(p []byte) (int, error) { return len(p), nil }
func (l *loopRWC) Close() error                { return nil }

// TestWebsocketCopyPathDoesNotAllocate: following frames costs no allocation per Read or
// Write (the copy path of every websocket message).
func TestWebsocketCopyPathDoesNotAllocate(t *testing.T) {
	frame := frameBytes(0x2, 300, true, len16)
	c := newWSConn(&loopRWC{frame: frame}, &exchange{})
	buf := make([]byte, 100) // frames span several Reads
	if n := testing.AllocsPerRun(200, func() {
		_, _ = c.Read(buf)
		_, _ = c.Write(frame[:77])
	}); n != 0 {
		t.Fatalf("%v allocations per Read and Write", n)
	}
}
