package webhook

import (
	"net"
	"net/url"
	"strings"
)

// EndpointOf is the endpoint a callback URL delivers to: scheme, lowercase host and port (the
// scheme's default when absent), e.g. "https://hooks.example.com:443". Throttles, in-flight bounds
// and the circuit breaker are per endpoint. A URL that does not parse is its own endpoint.
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
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
