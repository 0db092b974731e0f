package proxy

import (
	"io"
	"net/http"
	"strings"
)

// modifyResponse is every route's ModifyResponse: it drops upstream cookies that would
// overwrite the BFF's own and registers streams for CloseSession. It never fails.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	p.dropOwnCookies(resp.Header)
	if isStream(resp) {
		p.track(resp)
	}
	return nil
}

// dropOwnCookies removes each Set-Cookie line whose cookie name is one of the BFF's own
// (Options.OwnCookies) or empty: browsers store "Set-Cookie: =__Host-bff=x" or
// "Set-Cookie: __Host-bff" as a nameless cookie, a known way around cookie prefixes.
func (p *Proxy) dropOwnCookies(h http.Header) {
	lines := h["Set-Cookie"]
	if len(lines) == 0 {
		return
	}
	kept := lines[:0]
	for _, line := range lines {
		name := setCookieName(line)
		if name == "" || (p.ownCookies != nil && p.ownCookies(name)) {
			continue
		}
		kept = append(kept, line)
	}
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
		return
	}
	h["Set-Cookie"] = kept
}

// setCookieName returns the cookie name of a Set-Cookie value ("" when it has none).
func setCookieName(line string) string {
	nameValue, _, _ := strings.Cut(line, ";")
	name, _, found := strings.Cut(nameValue, "=")
	if !found {
		return ""
	}
	return strings.TrimSpace(name)
}

// isStream reports whether resp is a websocket switch or a server-sent event stream.
func isStream(resp *http.Response) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return true
	}
	const sse = "text/event-stream"
	ct := resp.Header.Get("Content-Type")
	return len(ct) >= len(sse) && strings.EqualFold(ct[:len(sse)], sse) &&
		(len(ct) == len(sse) || ct[len(sse)] == ';' || ct[len(sse)] == ' ')
}

// track registers the stream of resp's exchange under its session's key when the
// stream carries a credential and its session has a key, and under "" (shutdown only)
// otherwise. Its body is wrapped first, so that a cut, even one at once by add, ends it
// cleanly: an SSE body with its final chunk (sseBody), a websocket with close frames
// (wsConn).
func (p *Proxy) track(resp *http.Response) {
	if resp.Request == nil {
		return
	}
	x := exchangeFrom(resp.Request.Context())
	if x == nil {
		return
	}
	key := x.key
	if x.cred == nil {
		key = "" // no bearer: no session's end concerns it
	}
	switch rwc, ok := resp.Body.(io.ReadWriteCloser); {
	case isWebsocket(resp) && ok:
		resp.Body = newWSConn(rwc, x)
	case resp.StatusCode != http.StatusSwitchingProtocols:
		resp.Body = newSSEBody(resp, x)
	}
	p.streams.add(key, x)
}
