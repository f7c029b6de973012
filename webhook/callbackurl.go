package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrCallbackURL is wrapped by every refusal of CheckCallbackURL and of the guarded dialer; the rest
// of the message says why, in words safe to show to the subscriber.
var ErrCallbackURL = errors.New("callback URL refused")

// ErrBlockedAddress is wrapped, beside ErrCallbackURL, by a refusal of an address that is not a
// public unicast one (loopback, private, link-local, multicast, unspecified, reserved…).
var ErrBlockedAddress = errors.New("not a public address")

// ErrPrivateAddress is wrapped, beside ErrBlockedAddress, by a refusal of a loopback or private
// address: the only kind that allowPrivate (serve -allow-private-callbacks) lets through, so the
// only refusal that flag can help with. It never comes from a check made with allowPrivate.
var ErrPrivateAddress = errors.New("a loopback or private address")

// refusal is a refusal of a callback URL: it is ErrCallbackURL, ErrBlockedAddress when blocked,
// and ErrPrivateAddress too when allowPrivate would have let it through.
type refusal struct {
	reason  string
	blocked bool
	private bool
}

func (r *refusal) Error() string { return ErrCallbackURL.Error() + ": " + r.reason }

func (r *refusal) Is(target error) bool {
	return target == ErrCallbackURL || (r.blocked && target == ErrBlockedAddress) || (r.private && target == ErrPrivateAddress)
}

// Reason is the refusal of err without the "callback URL refused: " prefix, for a message that
// names the field itself; err itself when it is not a refusal.
func Reason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.reason
	}
	return strings.TrimPrefix(err.Error(), ErrCallbackURL.Error()+": ")
}

func refused(format string, args ...any) error {
	return &refusal{reason: fmt.Sprintf(format, args...)}
}

// blockedAt refuses an address of the kind reason (blockedAddr's) with the reason given by format.
func blockedAt(kind, format string, args ...any) error {
	return &refusal{reason: fmt.Sprintf(format, args...), blocked: true, private: privateKind(kind)}
}

// withArticle puts "a" or "an" before a kind of address: "a loopback", "an unspecified".
func withArticle(kind string) string {
	if kind != "" && strings.ContainsRune("aeiouAEIOU", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// maxCallbackURLLength bounds a callback URL (Logic Apps' are a few hundred characters).
const maxCallbackURLLength = 4096

// resolveTimeout bounds the DNS lookup of CheckCallbackURL.
const resolveTimeout = 5 * time.Second

// CheckCallbackURL checks that raw is an absolute http or https URL with a host, written as a URL
// is (no space, control character, <, >, ", \, {, }, |, ^ or backtick: those a URL carries only
// percent-encoded, and one stored as typed would be sent differently by every HTTP client), and
// that every address its host resolves to is a public unicast address: loopback, private (RFC 1918,
// fc00::/7), carrier-grade NAT, link-local, unspecified, multicast, broadcast and reserved targets
// are refused. allowPrivate (development receivers) permits loopback and private addresses only:
// link-local (169.254.0.0/16 and fe80::/10, where cloud metadata services answer), multicast,
// unspecified and reserved targets stay refused, and so does every IPv6 form that carries a refused
// IPv4 address (IPv4-compatible, 6to4, Teredo, NAT64; IPv4-mapped ones are read as IPv4), whatever
// it carries. A host that does not resolve (yet) is accepted, with allowPrivate or without, as
// Standard Webhooks senders do: each delivery resolves it again, and the dialer's guard applies the
// same rule to what it resolves to then; until it resolves, deliveries fail and are retried, and
// GetSubscription's health says why. Checking at subscribe time gives the subscriber a clear 400 for
// what resolves now; the callback client checks again at dial time (see NewCallbackClient), so a DNS
// answer that changes later (rebinding) cannot reach a refused address either.
//
// Errors wrap ErrCallbackURL; a refused address also ErrBlockedAddress, and ErrPrivateAddress when
// allowPrivate would have let it through.
func CheckCallbackURL(raw string, allowPrivate bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	return checkCallbackURL(ctx, net.DefaultResolver, raw, allowPrivate)
}

// hostResolver is the part of *net.Resolver CheckCallbackURL uses.
type hostResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

func checkCallbackURL(ctx context.Context, resolver hostResolver, raw string, allowPrivate bool) error {
	if strings.TrimSpace(raw) == "" {
		return refused("it is empty")
	}
	if len(raw) > maxCallbackURLLength {
		return refused("it is longer than %d characters", maxCallbackURLLength)
	}
	if i := strings.IndexFunc(raw, notInURL); i >= 0 {
		c := raw[i]
		return refused("it contains %s at character %d, which a URL carries only percent-encoded (%%%02X)", describeChar(c), i+1, c)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refused("it is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return refused("it must be an absolute http or https URL")
	}
	host := u.Hostname()
	if u.Opaque != "" || host == "" {
		return refused("it has no host")
	}
	// Credentials in a URL would be stored and shown back by GetSubscription; the receiver can
	// authenticate deliveries by their webhook-signature instead.
	if u.User != nil {
		return refused("it must not carry a user name or password (user:password@host); verify each delivery's webhook-signature instead")
	}
	// url.Parse takes any digits for a port; one outside 1–65535 fails every delivery at dial.
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return refused("its port %s is not a port from 1 to 65535", port)
		}
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if reason, blocked := blockedAddrFor(addr, allowPrivate); blocked {
			return blockedAt(reason, "%s is %s address", host, withArticle(reason))
		}
		return nil
	}
	addrs, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		// Not (yet) in DNS: each delivery resolves the name again and the dialer's guard decides
		// then, in either mode (see CheckCallbackURL).
		return nil
	}
	for _, addr := range addrs {
		if reason, blocked := blockedAddrFor(addr, allowPrivate); blocked {
			return blockedAt(reason, "%s resolves to %s, %s address", host, addr.Unmap(), withArticle(reason))
		}
	}
	return nil
}

// notInURL reports whether r may not appear in a URL as it is (RFC 3986): a space or another
// control character, or one of < > " \ { } | ^ and the backtick.
func notInURL(r rune) bool {
	return r <= ' ' || r == 0x7f || strings.ContainsRune("<>\"\\{}|^`", r)
}

// describeChar names a character a URL refused: "a space", "a control character", or the
// character quoted.
func describeChar(c byte) string {
	switch {
	case c == ' ':
		return "a space"
	case c < ' ' || c == 0x7f:
		return "a control character"
	}
	return fmt.Sprintf("%q", string(c))
}

// reservedPrefixes are special-purpose ranges that the netip predicates do not cover and that no
// public webhook receiver lives in.
var reservedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
}

// IPv6 forms that carry an IPv4 address inside them: a connection to one of these reaches (or is
// routed by) that IPv4 address, so it is checked as the IPv4 address it carries. IPv4-mapped
// addresses (::ffff:a.b.c.d) are unmapped before anything else.
var (
	// ipv4Compatible is ::a.b.c.d (RFC 4291, deprecated): the IPv4 address in the last 32 bits.
	ipv4Compatible = netip.MustParsePrefix("::/96")
	// nat64 is the well-known NAT64 prefix (RFC 6052): the IPv4 address in the last 32 bits.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	// nat64Local is the local-use NAT64 prefix (RFC 8215); where its IPv4 address sits depends on
	// the operator's prefix length, so the whole range is refused.
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	// sixToFour is 2002:a.b.c.d::/48 (RFC 3056): the IPv4 address in bits 16 to 47.
	sixToFour = netip.MustParsePrefix("2002::/16")
	// teredo is 2001:0::/32 (RFC 4380): the server's IPv4 address in bits 32 to 63, the client's
	// in the last 32 bits, inverted.
	teredo = netip.MustParsePrefix("2001::/32")
)

// embeddedIPv4 returns the IPv4 addresses an IPv6 address carries (IPv4-compatible, NAT64, 6to4,
// Teredo's server and client) with the name of the form; none for any other address.
func embeddedIPv4(addr netip.Addr) (form string, embedded []netip.Addr) {
	if !addr.Is6() {
		return "", nil
	}
	b := addr.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{b[i], b[i+1], b[i+2], b[i+3]}) }
	switch {
	case ipv4Compatible.Contains(addr) && !addr.IsUnspecified() && !addr.IsLoopback():
		return "IPv4-compatible", []netip.Addr{v4(12)}
	case nat64.Contains(addr):
		return "NAT64", []netip.Addr{v4(12)}
	case sixToFour.Contains(addr):
		return "6to4", []netip.Addr{v4(2)}
	case teredo.Contains(addr):
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return "Teredo", []netip.Addr{v4(4), netip.AddrFrom4(client)}
	}
	return "", nil
}

// blockedAddr reports whether a callback may not go to addr, and what kind of address it is. An
// IPv6 address that carries an IPv4 address (embeddedIPv4) is what that IPv4 address is, named
// with its form: "link-local (in a 6to4 address)".
func blockedAddr(addr netip.Addr) (string, bool) {
	addr = addr.Unmap().WithZone("")
	if nat64Local.Contains(addr) {
		return "local-use NAT64", true
	}
	if form, embedded := embeddedIPv4(addr); form != "" {
		for _, v4 := range embedded {
			if reason, blocked := blockedAddr(v4); blocked {
				return reason + " (in " + withArticle(form) + " address)", true
			}
		}
		return "", false
	}
	switch {
	case !addr.IsValid():
		return "invalid", true
	case addr.IsLoopback():
		return "loopback", true
	case addr.IsPrivate():
		return "private", true
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "link-local", true
	case addr.IsUnspecified():
		return "unspecified", true
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast", true
	}
	for _, r := range reservedPrefixes {
		if r.prefix.Contains(addr) {
			return r.reason, true
		}
	}
	return "", false
}

// blockedAddrFor is blockedAddr, except that allowPrivate lets loopback and private addresses
// through (and nothing else).
func blockedAddrFor(addr netip.Addr, allowPrivate bool) (string, bool) {
	reason, blocked := blockedAddr(addr)
	if blocked && allowPrivate && privateKind(reason) {
		return "", false
	}
	return reason, blocked
}

// privateKind reports whether a kind of address blockedAddr names is one allowPrivate lets
// through: loopback or private (not one of those carried in another IPv6 form).
func privateKind(kind string) bool { return kind == "loopback" || kind == "private" }

// guardDial is a net.Dialer Control function: it runs after name resolution, on the very address
// about to be connected, so it holds whatever DNS answered.
func guardDial(network, address string, conn syscall.RawConn) error {
	return guardDialFor(false)(network, address, conn)
}

// guardDialFor returns the dialer guard; allowPrivate lets loopback and private addresses through.
func guardDialFor(allowPrivate bool) func(network, address string, conn syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		return checkDialAddress(address, allowPrivate)
	}
}

func checkDialAddress(address string, allowPrivate bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return refused("cannot read dial address %q", address)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return refused("cannot read dial address %q", address)
	}
	if reason, blocked := blockedAddrFor(addr, allowPrivate); blocked {
		return blockedAt(reason, "%s is %s address", addr.Unmap(), withArticle(reason))
	}
	return nil
}

// NewCallbackClient returns the HTTP client deliveries use: an overall timeout per attempt, no
// redirects followed (a 3xx is a failed attempt, as Standard Webhooks asks), no proxy from the
// environment, and a dialer that refuses the addresses CheckCallbackURL refuses with the same
// allowPrivate. A timeout ≤ 0 means DefaultDeliveryTimeout.
func NewCallbackClient(timeout time.Duration, allowPrivate bool) *http.Client {
	if timeout <= 0 {
		timeout = DefaultDeliveryTimeout
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: guardDialFor(allowPrivate)}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would be the address checked, not the callback's
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64, // as many as attempts may be in flight to one endpoint, so none is re-dialled
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
