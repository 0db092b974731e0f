package config

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
)

// Bounds of server.maxHeaderBytes: below 8 KiB ordinary browsers with a few cookies
// start getting 431s; above 1 MiB (Go's default) one request head could pin that much
// memory per connection.
const (
	minHeaderBytes = 8 << 10
	maxHeaderBytes = 1 << 20
)

func validateServer(s Server, ps *problems) {
	if msg := publicURLProblem(s.PublicURL); msg != "" {
		ps.add("server.publicURL", "%s", msg)
	}
	if msg := listenProblem(s.Listen); msg != "" {
		ps.add("server.listen", "%q: %s", s.Listen, msg)
	}
	if msg := listenProblem(s.AdminListen); msg != "" {
		ps.add("server.adminListen", "%q: %s", s.AdminListen, msg)
	}
	if s.Listen == s.AdminListen && !hasPortZero(s.Listen) {
		ps.add("server.adminListen", "must differ from server.listen (the admin endpoints need their own port)")
	}
	positive("server.shutdownTimeout", s.ShutdownTimeout, ps)
	positive("server.bodyReadTimeout", s.BodyReadTimeout, ps)
	if s.ForwardAuth && len(s.TrustedProxies) == 0 {
		ps.add("server.forwardAuth", "needs server.trustedProxies: /bff/auth answers only the ingress")
	}
	if s.MaxHeaderBytes < minHeaderBytes || s.MaxHeaderBytes > maxHeaderBytes {
		ps.add("server.maxHeaderBytes", "must be from %d (8 KiB) to %d (1 MiB)", minHeaderBytes, maxHeaderBytes)
	}
	if s.MaxEventStreams < 1 || s.MaxEventStreams > maxEventStreamsLimit {
		ps.add("server.maxEventStreams", "must be from 1 to %d", maxEventStreamsLimit)
	}
	for i, p := range s.TrustedProxies {
		if !isPrefixOrAddr(p) {
			ps.add(indexPath("server.trustedProxies", i), "%q is neither a CIDR (10.0.0.0/8) nor an IP address", p)
		}
	}
}

// publicURLProblem checks the browser-facing origin: scheme://host[:port] and nothing
// else, https unless the host is loopback (browsers treat http://localhost as secure,
// so __Host- cookies still work there).
func publicURLProblem(raw string) string {
	if raw == "" {
		return "is required: the origin browsers use, e.g. https://app.example.com"
	}
	u, msg := webURLProblem(raw)
	if msg != "" {
		return msg
	}
	if u.Path != "" || u.RawPath != "" {
		return "must be an origin (scheme://host[:port]) without a path, not even \"/\""
	}
	if u.Scheme != "https" && !isLoopbackHost(u.Hostname()) {
		return "must use https (http is allowed only for localhost, 127.0.0.0/8 and ::1)"
	}
	return ""
}

// securePublicURL reports whether publicURL is an https origin or a loopback http one,
// where browsers accept Secure and __Host- cookies.
func securePublicURL(publicURL string) bool {
	u, err := url.Parse(publicURL)
	return err == nil && (u.Scheme == "https" || (u.Scheme == "http" && isLoopbackHost(u.Hostname())))
}

// isWebOrigin reports whether raw parses as an http(s) URL with a host (the
// publicURL's own problems are reported once, at server.publicURL).
func isWebOrigin(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != ""
}

func hasPortZero(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}

func isPrefixOrAddr(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// maxEventStreamsLimit caps server.maxEventStreams: a million open streams is far past
// what one replica's memory and file descriptors should hold.
const maxEventStreamsLimit = 1_000_000
