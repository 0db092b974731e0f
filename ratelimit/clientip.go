package ratelimit

import (
	"net/http"
	"net/netip"

	"github.com/tokenward/bff/clientip"
)

// ClientIP returns the address of the client that sent r: the TCP peer, or, from a peer
// in trusted, the right-most X-Forwarded-For entry that is not trusted. It is
// clientip.Trusted.ClientIP, the one matcher the proxy and forward-auth use too (see
// there for the rules; IPv4-mapped IPv6 addresses are unmapped on both sides).
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	return clientip.FromPrefixes(trusted).ClientIP(r)
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
