package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// trustedProxies are the addresses whose X-Forwarded-For is believed: the
// load balancers in front of the node. It is read-only after New.
type trustedProxies []netip.Prefix

func (t trustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr returns r's client address: RemoteAddr, unless the peer is a
// trusted proxy, in which case the X-Forwarded-For entries are read from the
// right (the entry the nearest proxy appended) and the first address that is
// not itself a trusted proxy is the client. A client can prepend anything
// to the header, which is why only entries added by trusted proxies count.
// A malformed entry stops the walk at the last address known good.
func (t trustedProxies) clientAddr(r *http.Request) string {
	if len(t) == 0 {
		return r.RemoteAddr
	}
	host, port, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !t.trusts(peer) {
		return r.RemoteAddr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !t.trusts(client) {
			break
		}
	}
	if client == peer {
		return r.RemoteAddr
	}
	return net.JoinHostPort(client.String(), port)
}
