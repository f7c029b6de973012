package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/url"
	"strings"
)

// EndpointOf is the endpoint a callback URL delivers to: the URL itself, named by its origin
// (scheme, lowercase host and port, the scheme's default when absent) and a fingerprint of the
// whole URL, e.g. "https://prod-00.westus.logic.azure.com:443#3f2a9c0d1e2b4a5f". Throttles,
// in-flight bounds, the slow pool's mark, the circuit breaker and disabling after days of failure
// are per endpoint.
//
// An endpoint is a URL, not a host, because one host serves many tenants: a Logic Apps region,
// hooks.zapier.com, an n8n cloud host. Keyed by host, one connection's failing or hanging workflow
// there would open the circuit, mark the host slow, and after DisableAfter disable the
// subscriptions of every other connection delivering to that host. The path and query are not
// written out: they may be the receiver's credential (a Slack or Zapier hook's path, Logic Apps'
// sig), and the key is logged and stored. The fingerprint is the first 8 bytes of the SHA-256 of
// the URL as sent (origin, escaped path, query; no fragment, which is never sent). The origin is
// cut to maxEndpointOrigin bytes, so that a key stays within a store's id bound; the fingerprint
// still tells such URLs apart. A URL that does not parse (CheckCallbackURL refuses one) is its
// own endpoint, as it is.
func EndpointOf(callbackURL string) string {
	u, err := url.Parse(callbackURL)
	if err != nil || u.Host == "" {
		return callbackURL
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	origin := strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
	sent := origin + u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		sent += "?" + u.RawQuery
	}
	sum := sha256.Sum256([]byte(sent))
	if len(origin) > maxEndpointOrigin {
		origin = origin[:maxEndpointOrigin]
	}
	return origin + "#" + hex.EncodeToString(sum[:8])
}

// maxEndpointOrigin bounds the origin written in an endpoint's key: with "#" and the 16 hex digits
// of the fingerprint a key is at most 217 bytes, within the stores' 256-byte ids.
const maxEndpointOrigin = 200
