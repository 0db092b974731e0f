package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxHops bounds how many trusted X-Forwarded-For entries ClientIP walks.
const maxHops = 32

// ClientIP returns the address of the client that sent r:
//
//   - the TCP peer (r.RemoteAddr), unless that peer is in trusted;
//   - from a trusted peer: the right-most X-Forwarded-For entry that is not in trusted,
//     walking every X-Forwarded-For line from the last to the first. If every entry is
//     trusted, the left-most one; if an entry cannot be parsed, the trusted hop that
//     reported it (nothing to its left can be believed).
//
// Never the left-most entry on its own: a client can write anything there. Entries may
// carry a port ("203.0.113.7:4711", "[2001:db8::1]:443"); IPv4-mapped IPv6 addresses are
// unmapped and zones dropped, so "::ffff:10.0.0.1" matches 10.0.0.0/8. It returns the
// zero netip.Addr when r.RemoteAddr is not an IP address (e.g. a unix socket).
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseRemoteAddr(r.RemoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	client, hops := peer, 0
	lines := r.Header.Values("X-Forwarded-For")
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for rest != "" {
			var elem string
			rest, elem = splitLast(rest)
			if elem == "" {
				continue
			}
			a, ok := parseForwardedFor(elem)
			if !ok {
				return client
			}
			if !isTrusted(a, trusted) {
				return a
			}
			if hops++; hops > maxHops {
				return client
			}
			client = a
		}
	}
	return client
}

// splitLast cuts the last comma-separated element off s.
func splitLast(s string) (rest, elem string) {
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		return s[:i], strings.TrimSpace(s[i+1:])
	}
	return "", strings.TrimSpace(s)
}

func parseRemoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return normalize(a)
}

// parseForwardedFor parses one X-Forwarded-For entry: an address, optionally with a
// port, IPv6 optionally in brackets.
func parseForwardedFor(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return normalize(a), true
		}
	}
	return netip.Addr{}, false
}

func normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// isTrusted reports whether a (normalized) is in one of the prefixes. Prefixes written
// as IPv4-mapped IPv6 (::ffff:10.0.0.0/104) also match the unmapped IPv4 address.
func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) || normalizePrefix(p).Contains(a) {
			return true
		}
	}
	return false
}

// normalizePrefix turns an IPv4-mapped IPv6 prefix into the IPv4 prefix it covers.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p
}

// bucketKey is the address a client's bucket is kept under: IPv6 addresses are grouped
// by their /64, IPv4 addresses stand alone, and everything without an IP address (the
// zero Addr) shares one bucket.
func bucketKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a
}
