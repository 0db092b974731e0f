package spademo

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// sameHost sends a request that reached the demo's BFF under another loopback name
// (http://127.0.0.1:8080 or http://[::1]:8080 for the printed http://localhost:8080) to
// the public URL before anything else happens. Browsers keep cookies per host name: a
// login started on 127.0.0.1 sets its login cookie there, the IdP redirects back to
// localhost (the registered redirect URI), and the callback finds no login in progress
// ("Sign-in expired"). A navigation is redirected; any other request gets 421 with the
// address to use, since it cannot be replayed on another origin.
func sameHost(public *url.URL) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.EqualFold(r.Host, public.Host) || !isLoopbackHost(r.Host) {
				next.ServeHTTP(w, r)
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, public.Scheme+"://"+public.Host+r.URL.RequestURI(), http.StatusFound)
				return
			}
			http.Error(w, "this demo answers at "+public.String()+"; open it there", http.StatusMisdirectedRequest)
		})
	}
}

// isLoopbackHost reports whether host (with or without a port) names this machine.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
