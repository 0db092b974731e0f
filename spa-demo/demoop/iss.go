package demoop

import (
	"net/http"
	"net/url"
)

// headerHook calls before once, with the final status and headers, just before the
// status line is written; the hook may still change the headers.
type headerHook struct {
	http.ResponseWriter
	before func(status int, h http.Header)
	wrote  bool
}

func (w *headerHook) WriteHeader(status int) {
	if !w.wrote && status >= http.StatusOK {
		w.wrote = true
		w.before(status, w.Header())
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *headerHook) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *headerHook) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// addIssParameter adds RFC 9207 "iss" to every authorization response, success or error,
// that redirects to a registered redirect URI. zitadel/oidc v3.52.0 does not implement
// RFC 9207: neither the parameter nor its discovery metadata.
func (o *OP) addIssParameter(status int, h http.Header) {
	if status < 300 || status > 399 {
		return
	}
	raw := h.Get("Location")
	loc, err := url.Parse(raw)
	if err != nil || !loc.IsAbs() || !o.redirects[endpointKey(loc)] {
		return
	}
	iss := "iss=" + url.QueryEscape(o.issuer)
	if q := loc.Query(); isAuthResponse(q) && !q.Has("iss") {
		loc.RawQuery += "&" + iss
		h.Set("Location", loc.String())
		return
	}
	if f, err := url.ParseQuery(loc.EscapedFragment()); err == nil && isAuthResponse(f) && !f.Has("iss") {
		h.Set("Location", raw+"&"+iss) // the fragment ends the URL
	}
}

func isAuthResponse(v url.Values) bool { return v.Has("code") || v.Has("error") }
