// Package clientip knows which peers are trusted proxies (server.trustedProxies) and,
// through them, who the client is. It is the one matcher the forward-auth endpoint, the
// login rate limit and the proxy share, so that they can never disagree about a peer
// (IPv4-mapped IPv6 addresses included).
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxHops bounds how many trusted X-Forwarded-For entries ClientIP walks.
const maxHops = 32

// Trusted is a set of trusted proxy prefixes. Entries are normalized: an IPv4-mapped
// IPv6 prefix (::ffff:10.0.0.0/104) is stored as the IPv4 prefix it covers (10.0.0.0/8),
// so that a peer seen as ::ffff:10.0.0.1 and one seen as 10.0.0.1 match alike. The zero
// value trusts nobody.
type Trusted struct {
	prefixes []netip.Prefix
}

// ParsePrefixes turns a list of CIDRs or single IP addresses into a Trusted set.
func ParsePrefixes(list []string) (Trusted, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, normalizePrefix(p))
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return Trusted{}, fmt.Errorf("trusted proxy %q: not an IP or CIDR", s)
		}
		a = normalize(a)
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return Trusted{prefixes: out}, nil
}

// FromPrefixes builds a Trusted set from already parsed prefixes, normalizing them. A
// list that is normalized already is used as it is (no copy: callers on a hot path pass
// the same list every time and MUST NOT modify it afterwards).
func FromPrefixes(ps []netip.Prefix) Trusted {
	for i, p := range ps {
		if normalizePrefix(p) != p {
			out := append([]netip.Prefix(nil), ps...)
			for j := i; j < len(out); j++ {
				out[j] = normalizePrefix(out[j])
			}
			return Trusted{prefixes: out}
		}
	}
	return Trusted{prefixes: ps}
}

// Prefixes returns the normalized prefixes (a copy).
func (t Trusted) Prefixes() []netip.Prefix { return append([]netip.Prefix(nil), t.prefixes...) }

// Empty reports whether t trusts nobody.
func (t Trusted) Empty() bool { return len(t.prefixes) == 0 }

// IsTrusted reports whether a is in one of the prefixes; a is unmapped first
// (::ffff:10.0.0.1 is 10.0.0.1) and its zone ignored. The zero Addr is never trusted.
func (t Trusted) IsTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = normalize(a)
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IsTrustedPeer reports whether r came directly from a trusted proxy (its TCP peer,
// r.RemoteAddr, is in t). Only then do its X-Forwarded-* headers say anything true.
func (t Trusted) IsTrustedPeer(r *http.Request) bool {
	if t.Empty() {
		return false // the common case: no parsing on every proxied request
	}
	return t.IsTrusted(Peer(r))
}

// Peer is r's TCP peer (r.RemoteAddr) as an address, normalized; the zero Addr when
// RemoteAddr is not an IP address (e.g. a unix socket).
func Peer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return normalize(a)
}

// ClientIP returns the address of the client that sent r:
//
//   - the TCP peer (r.RemoteAddr), unless that peer is trusted;
//   - from a trusted peer: the right-most X-Forwarded-For entry that is not trusted,
//     walking every X-Forwarded-For line from the last to the first. If every entry is
//     trusted, the left-most one; if an entry cannot be parsed, the trusted hop that
//     reported it (nothing to its left can be believed).
//
// Never the left-most entry on its own: a client can write anything there. Entries may
// carry a port ("203.0.113.7:4711", "[2001:db8::1]:443"); IPv4-mapped IPv6 addresses are
// unmapped and zones dropped. It returns the zero Addr when r.RemoteAddr is not an IP
// address.
func (t Trusted) ClientIP(r *http.Request) netip.Addr {
	peer := Peer(r)
	if !t.IsTrusted(peer) {
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
			if !t.IsTrusted(a) {
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

// normalizePrefix masks p and turns an IPv4-mapped IPv6 prefix into the IPv4 prefix it
// covers. A mapped prefix shorter than /96 also covers non-mapped IPv6 addresses and is
// kept as it is.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p
}
