package framing

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
)

// TestScannerFollowsFramingAsGoDoes: the watch refuses exactly the heads framed two
// ways, follows Content-Length and chunked bodies (extensions, trailers, bodies that
// look like heads) to the next head, and gives up (Unframed) where Go's server refuses
// the bytes itself. Each input is also fed one byte per read.
func TestScannerFollowsFramingAsGoDoes(t *testing.T) {
	const get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	const decoy = "POST /x HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
	clPost := fmt.Sprintf("POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", len(decoy))
	hexLen := fmt.Sprintf("%x", len(decoy))
	both := "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	tests := []struct {
		name   string
		in     string
		want   Verdict
		reason Reason
	}{
		{"a plain GET", get, OK, NoReason},
		{"keep-alive GETs", get + get + get, OK, NoReason},
		{"Content-Length then Transfer-Encoding", both, Refused, BothLengths},
		{"transfer-encoding then content-length, any case", "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\nCONTENT-LENGTH: 3\r\n\r\n", Refused, BothLengths},
		{"Transfer-Encoding with a value Go refuses, and Content-Length", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", Refused, BothLengths},
		{"two identical Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", Refused, DuplicateLength},
		{"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Refused, EncodingInHTTP10},
		{"Transfer-Encoding in HTTP/1.0 after a long target", "POST /" + strings.Repeat("a", 10<<10) + " HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Refused, EncodingInHTTP10},
		{"a Content-Length body that looks like a framed-twice head", clPost + decoy + get, OK, NoReason},
		{"then a framed-twice head", clPost + decoy + both, Refused, BothLengths},
		{"a chunked body with extensions and trailers, then a framed-twice head",
			"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n" + hexLen + " \r\n" + decoy + "\r\n0\r\nX-Trailer: 1\r\n\r\n" + both, Refused, BothLengths},
		{"a chunked body with a decoy, then GETs", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + hexLen + "\r\n" + decoy + "\r\n0\r\n\r\n" + get + get, OK, NoReason},
		{"an obsolete folded line is not a field", "POST / HTTP/1.1\r\nX-A: 1\r\n Content-Length: 5\r\nContent-Length: 0\r\n\r\n" + get, OK, NoReason},
		{"bare LF line ends", "POST / HTTP/1.1\nContent-Length: 5\nTransfer-Encoding: chunked\n\n", Refused, BothLengths},
		{"a blank line before the request line (Go refuses it)", "\r\n" + get, Unframed, NoReason},
		{"a stray CRLF after a POST (Go skips up to 4 CR/LF bytes), then a framed-twice head",
			"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\na\r\n" + both, Refused, BothLengths},
		{"four stray bytes after a POST, then GETs", "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\na\r\n\r\n" + get + get, OK, NoReason},
		{"five stray bytes after a POST (Go refuses the fifth)", "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\na\n\n\n\n\n" + get, Unframed, NoReason},
		{"a stray CRLF after a GET (Go skips nothing)", get + "\r\n" + get, Unframed, NoReason},
		{"chunk data without its CRLF (Go refuses it)", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n" + both, Unframed, NoReason},
		{"a malformed chunk size (Go refuses it)", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + both, Unframed, NoReason},
		{"a signed Content-Length (Go refuses it)", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello" + both, Unframed, NoReason},
		{"a head longer than the bound", "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 40<<10) + "\r\n\r\n" + both, Unframed, NoReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, step := range []int{len(tt.in), 1, 7} {
				s := scanner{maxHead: 16 << 10}
				v, why := OK, NoReason
				for in := tt.in; len(in) > 0 && v == OK; {
					n := min(step, len(in))
					v, why = s.feed([]byte(in[:n]))
					in = in[n:]
				}
				if v != tt.want || why != tt.reason {
					t.Errorf("reads of %d bytes: verdict %d (%v), want %d (%v)", step, v, why, tt.want, tt.reason)
				}
			}
		})
	}
}

// TestConnReportsItsVerdict: a Conn from the Listener feeds its reads to the watch and
// is found again through ConnContext/FromContext, as the server's handler finds it.
func TestConnReportsItsVerdict(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	c := NewConn(server, 0)
	go func() {
		_, _ = client.Write([]byte("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"))
	}()
	buf := make([]byte, 256)
	for v, _ := c.Verdict(); v == OK; v, _ = c.Verdict() {
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	ctx := ConnContext(context.Background(), c)
	if got := FromContext(ctx); got != c {
		t.Fatal("FromContext does not find the Conn")
	}
	if v, why := FromContext(ctx).Verdict(); v != Refused || why != BothLengths {
		t.Errorf("verdict %d %v, want Refused, BothLengths", v, why)
	}
	if FromContext(context.Background()) != nil {
		t.Error("a context without a watched Conn must give nil")
	}
}

// BenchmarkScanner is the watch's cost on a kept-alive connection of typical API calls:
// a GET with cookies and a JSON POST.
func BenchmarkScanner(b *testing.B) {
	head := "Host: app.example.com\r\nCookie: __Host-bff=" + strings.Repeat("x", 200) + "\r\nX-CSRF: 1\r\nAccept: application/json\r\nUser-Agent: " + strings.Repeat("m", 120) + "\r\n"
	body := strings.Repeat("{\"k\":1}", 300)
	stream := []byte("GET /api/items?page=2 HTTP/1.1\r\n" + head + "\r\n" +
		fmt.Sprintf("POST /api/items HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", head, len(body), body))
	b.SetBytes(int64(len(stream)))
	s := scanner{maxHead: 64 << 10}
	for b.Loop() {
		if v, _ := s.feed(stream); v != OK {
			b.Fatal("refused a well-framed stream")
		}
	}
}
