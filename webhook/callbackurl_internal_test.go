package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// fakeResolver answers from a table; unknown names do not resolve.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestCheckCallbackURL(t *testing.T) {
	resolver := fakeResolver{
		"hooks.example.com":   {"93.184.216.34"},
		"prod-12.logic.azure": {"40.112.1.2", "2603:1030::1"},
		"localhost":           {"127.0.0.1", "::1"},
		"intranet.example":    {"10.1.2.3"},
		"mixed.example":       {"93.184.216.34", "192.168.1.10"},
		"metadata.example":    {"169.254.169.254"},
	}
	cases := []struct {
		url          string
		allowPrivate bool
		refused      string // "" = accepted
	}{
		{"https://hooks.example.com/hook?sig=abc", false, ""},
		{"http://prod-12.logic.azure:443/workflows/1/invoke", false, ""},
		{"https://93.184.216.34/hook", false, ""},
		{"https://[2606:2800:220:1::]/hook", false, ""},
		{"", false, "empty"},
		{"/relative/path", false, "absolute http or https"},
		{"hooks.example.com/hook", false, "absolute http or https"},
		{"ftp://hooks.example.com/hook", false, "absolute http or https"},
		{"javascript:alert(1)", false, "absolute http or https"},
		{"https:///nohost", false, "no host"},
		{"http://%zz", false, "not a valid URL"},
		{"https://unknown.example/hook", false, ""}, // the dialer's guard decides once it resolves, as with allowPrivate
		{"https://unknown.example/hook", true, ""},
		{"https://hooks.example.com/a hook", false, "a space at character 28, which a URL carries only percent-encoded (%20)"},
		{"https://hooks.example.com/hook?q=<b>", false, `"<" at character 34, which a URL carries only percent-encoded (%3C)`},
		{"https://hooks.example.com/hook?q=a>", false, `">" at character 35`},
		{`https://hooks.example.com/"hook"`, false, `"\"" at character 27, which a URL carries only percent-encoded (%22)`},
		{`https://hooks.example.com/\hook`, false, "(%5C)"},
		{"https://hooks.example.com/ho\tok", true, "a control character"},
		{"https://hooks.example.com/a%20hook", false, ""},
		{"http://localhost:8080/hook", false, "loopback"},
		{"http://127.0.0.1/hook", false, "is a loopback address"},
		{"http://[::1]/hook", false, "loopback"},
		{"http://[::ffff:127.0.0.1]/hook", false, "loopback"},
		{"http://10.0.0.5/hook", false, "private"},
		{"http://172.16.3.4/hook", false, "private"},
		{"http://192.168.0.1/hook", false, "private"},
		{"http://[fd00::1]/hook", false, "private"},
		{"http://intranet.example/hook", false, "private"},
		{"http://mixed.example/hook", false, "private"},
		{"http://169.254.169.254/latest/meta-data", false, "link-local"},
		{"http://metadata.example/", false, "link-local"},
		{"http://[fe80::1%25eth0]/hook", false, "link-local"},
		{"http://0.0.0.0/hook", false, "is an unspecified address"},
		{"https://user:pass@hooks.example.com/x", false, "must not carry a user name or password"},
		{"https://user@hooks.example.com/x", false, "must not carry a user name or password"},
		{"http://user:pass@localhost/x", true, "must not carry a user name or password"},
		{"http://[::]/hook", false, "unspecified"},
		{"http://239.1.2.3/hook", false, "multicast"},
		{"http://255.255.255.255/hook", false, "reserved"},
		{"http://100.64.0.1/hook", false, "carrier-grade NAT"},
		{"http://[64:ff9b::a00:1]/hook", false, "private"},
		{"http://localhost:8080/hook", true, ""},
		{"http://10.0.0.5/hook", true, ""},
		{"ftp://10.0.0.5/hook", true, "absolute http or https"},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			err := checkCallbackURL(context.Background(), resolver, tc.url, tc.allowPrivate)
			if tc.refused == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrCallbackURL)
			if err != nil {
				assert.Contains(t, err.Error(), tc.refused)
				assert.NotContains(t, Reason(err), ErrCallbackURL.Error(), "Reason drops the prefix")
				assert.NotContains(t, err.Error(), " a unspecified")
			}
		})
	}
}

func TestGuardDialRefusesWhatDNSAnswersLate(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1:80":        true,
		"[::1]:443":           true,
		"10.9.8.7:80":         true,
		"169.254.169.254:80":  true,
		"93.184.216.34:443":   false,
		"[2606:2800:220:1::]": true, // not host:port: refused as unreadable
	} {
		err := guardDial("tcp", addr, nil)
		assert.Equal(t, refused, err != nil, addr)
		if err != nil {
			assert.True(t, errors.Is(err, ErrCallbackURL), addr)
		}
	}
}

// A port outside 1–65535 can never be dialed: every delivery would fail ("invalid port") until it
// is dead. The subscription is refused at once, naming the port, as any other URL that cannot work.
func TestCheckCallbackURLRefusesAPortThatCannotBeDialed(t *testing.T) {
	resolver := fakeResolver{"hooks.example.com": {"93.184.216.34"}}
	for _, url := range []string{
		"https://hooks.example.com:99999/hook",
		"https://hooks.example.com:65536/hook",
		"https://hooks.example.com:0/hook",
		"https://93.184.216.34:70000/hook",
		"https://[2606:2800:220:1::]:123456/hook",
	} {
		t.Run(url, func(t *testing.T) {
			err := checkCallbackURL(context.Background(), resolver, url, false)
			assert.ErrorIs(t, err, ErrCallbackURL)
			if err != nil {
				assert.Contains(t, err.Error(), "port")
			}
		})
	}
	for _, url := range []string{"https://hooks.example.com:1/hook", "https://hooks.example.com:65535/hook", "https://hooks.example.com:/hook"} {
		assert.NoError(t, checkCallbackURL(context.Background(), resolver, url, false), url)
	}
}
