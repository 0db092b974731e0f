package handler

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// HeaderRequestID carries the request id: taken from the client when well-formed,
// generated otherwise, returned on the response and passed upstream.
const HeaderRequestID = "X-Request-Id"

// reqInfo is what the handlers learn about a request that its log line and metrics need:
// a bounded route name and the session's short hash. One per request, filled in place.
type reqInfo struct {
	route   string
	session string
}

type reqInfoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	ri, _ := r.Context().Value(reqInfoKey{}).(*reqInfo)
	return ri
}

// SetRoute names the request's route for its log line and metrics (bff.go names proxied
// routes and the SPA).
func SetRoute(r *http.Request, name string) {
	if ri := infoOf(r); ri != nil {
		ri.route = name
	}
}

// noteSession records the session's short hash (never the id) for the log line.
func noteSession(r *http.Request, idHash string) {
	if ri := infoOf(r); ri != nil && len(idHash) >= 12 {
		ri.session = idHash[:12]
	}
}

// Observer receives one call per request (metrics). It must be cheap. d is negative for
// streams (websocket, SSE): their life is not a latency.
type Observer func(route, method string, status int, d time.Duration)

// Observe is the outermost middleware: request id, one access log line per request and
// the Observer. The line never holds the query string (codes, states), a header value or
// a cookie; the session appears only as a 12-hex-digit prefix of its id hash.
//
// A request that ends in a panic is logged and observed too, then the panic goes on:
// httputil.ReverseProxy panics with http.ErrAbortHandler when copying a response body
// fails, which is how every SSE stream the browser closes ends (and a stream the BFF
// cuts). Its line keeps the status that was sent and says client_closed=true when the
// client had gone, aborted=true otherwise. A websocket, once switched, is logged with 101
// when it closes.
func Observe(log *slog.Logger, observe Observer) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			r := c.Request()
			id := requestID(r.Header.Get(HeaderRequestID))
			r.Header.Set(HeaderRequestID, id)
			c.Response().Header().Set(HeaderRequestID, id)
			ri := &reqInfo{route: routeOf(c)}
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri)))
			hj := noteHijack(c.Response(), r)
			done := false
			defer func() {
				if done {
					return
				}
				v := recover()
				finish(log, observe, c, r, ri, hj, start, true)
				if v != nil { // nil: runtime.Goexit, which goes on by itself
					panic(v) // as it was: net/http aborts the response (ErrAbortHandler is silent)
				}
			}()
			if err := next(c); err != nil {
				c.Error(err) // render now, so the status below is the one sent
			}
			done = true
			finish(log, observe, c, r, ri, hj, start, false)
			return nil
		}
	}
}

// finish observes and logs one request. aborted: it ended in a panic (the response cut
// short).
func finish(log *slog.Logger, observe Observer, c echo.Context, r *http.Request, ri *reqInfo, hj *hijackNoter, start time.Time, aborted bool) {
	resp := c.Response()
	status, d := resp.Status, time.Since(start)
	if hj != nil && hj.hijacked {
		// ReverseProxy writes the 101 on the hijacked connection, not through resp.
		status = http.StatusSwitchingProtocols
	}
	if observe != nil {
		od := d
		if isStream(status, resp.Header()) {
			od = -1 // a stream's life is not a latency
		}
		observe(ri.route, r.Method, status, od)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", r.Header.Get(HeaderRequestID)), slog.String("method", r.Method),
		slog.String("route", ri.route), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Int64("bytes", resp.Size),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("session", ri.session),
	}
	switch {
	case aborted && r.Context().Err() != nil:
		attrs = append(attrs, slog.Bool("client_closed", true))
	case aborted:
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	log.LogAttrs(r.Context(), level, "request", attrs...)
}

// hijackNoter wraps the response writer of a protocol upgrade to learn whether the
// handler took the connection over (a websocket switched): the 101 then never passes
// through echo's Response, whose Status would still say 200.
type hijackNoter struct {
	http.ResponseWriter
	hijacked bool
}

// noteHijack wraps resp's writer when r asks for an upgrade (other requests cannot be
// hijacked by the proxy, and pay nothing); it returns nil otherwise.
func noteHijack(resp *echo.Response, r *http.Request) *hijackNoter {
	if r.Header.Get("Upgrade") == "" {
		return nil
	}
	hj := &hijackNoter{ResponseWriter: resp.Writer}
	resp.Writer = hj
	return hj
}

func (h *hijackNoter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.hijacked = err == nil
	return conn, brw, err
}

func (h *hijackNoter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func isStream(status int, h http.Header) bool {
	return status == http.StatusSwitchingProtocols || strings.HasPrefix(h.Get("Content-Type"), "text/event-stream")
}

// routeOf names the /bff/* endpoints; everything else is named later by bff.go.
func routeOf(c echo.Context) string { return RouteName(c.Request().URL.Path) }

// RouteName is the bounded name of a /bff/* endpoint path, "other" for any other path.
func RouteName(path string) string {
	if strings.HasPrefix(path, pathAuth+"/") { // Envoy Gateway's /bff/auth/<path>
		return "bff_auth"
	}
	if path == pathSessions || strings.HasPrefix(path, pathSessions+"/") {
		return "bff_sessions"
	}
	switch path {
	case pathLogin:
		return "bff_login"
	case pathCallback:
		return "bff_callback"
	case pathUser:
		return "bff_user"
	case pathLogout:
		return "bff_logout"
	case pathBackchannel:
		return "bff_backchannel"
	case pathAuth:
		return "bff_auth"
	case pathEvents:
		return "bff_session_events"
	}
	return "other"
}

// requestID keeps a client's id when it is 1–64 characters of [A-Za-z0-9._-] (so it
// cannot inject into logs or headers), else makes one.
func requestID(in string) string {
	if n := len(in); n > 0 && n <= 64 {
		ok := true
		for i := 0; i < n && ok; i++ {
			c := in[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		}
		if ok {
			return in
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
