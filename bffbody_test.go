package bff_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/problem"
)

// TestTrickledBFFBodyIsCutAtTheBound: a body trickled to /bff/backchannel-logout (a byte
// every 20 ms: never idle, never done) holds the connection for server.bodyReadTimeout,
// not for ever: the client gets 408 problem+json and the connection is closed.
func TestTrickledBFFBodyIsCutAtTheBound(t *testing.T) {
	s := startServed(t, func(c *config.Config) { c.Server.BodyReadTimeout = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound for a broken test only
	head := "POST /bff/backchannel-logout HTTP/1.1\r\nHost: app\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nlogout_token="
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go trickle(conn, stop)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("Content-Type") != problem.ContentType {
		t.Fatalf("status %d %q %s, want 408 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("the connection stayed open after the 408")
	}
}

// trickle writes one byte every 20 ms until the connection fails or stop closes.
func trickle(conn net.Conn, stop <-chan struct{}) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
		}
	}
}

// TestBFFBodyInTimeIsServed: a body that arrives within the bound reaches its handler
// (here a malformed logout token: the handler's own 400, not a 408).
func TestBFFBodyInTimeIsServed(t *testing.T) {
	s := startServed(t, func(c *config.Config) { c.Server.BodyReadTimeout = 200 * time.Millisecond })
	form := "logout_token=not-a-jwt"
	res := rawExchange(t, s.addr, "POST /bff/backchannel-logout HTTP/1.1\r\nHost: app\r\nConnection: close\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "+strconv.Itoa(len(form))+"\r\n\r\n"+form)
	if !slices.Equal(res.statuses(), []int{400}) || !strings.Contains(res.bodies[0], "invalid logout_token") {
		t.Fatalf("statuses %v %v, want the handler's 400 invalid logout_token", res.statuses(), res.bodies)
	}
}

// TestStalledUploadToARoute: on the stack `bff serve` runs (the proxy sets the
// connection's read deadline through every layer of it), a proxied upload that stops for
// the route's uploadIdleTimeout gets 408 and the connection is closed; when the upstream
// answered before it wanted the body, the client gets that answer and the connection is
// closed rather than held for the rest of the body.
func TestStalledUploadToARoute(t *testing.T) {
	reader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer reader.Close()
	for _, tt := range []struct {
		name     string
		upstream string // "": testenv's, which answers without reading the body
		want     int
	}{
		{name: "upstream reads the body", upstream: reader.URL, want: http.StatusRequestTimeout},
		{name: "upstream answers early", want: http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServed(t, func(c *config.Config) {
				c.Routes[0].UploadIdleTimeout = 200 * time.Millisecond
				if tt.upstream != "" {
					c.Routes[0].Upstream = tt.upstream
				}
			})
			res := rawExchange(t, s.addr, "POST /open/upload HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\n"+
				"Content-Length: 1048576\r\n\r\n"+strings.Repeat("u", 1<<10))
			if !slices.Equal(res.statuses(), []int{tt.want}) || !res.closed {
				t.Fatalf("statuses %v, closed %v; want [%d] and closed", res.statuses(), res.closed, tt.want)
			}
		})
	}
}
