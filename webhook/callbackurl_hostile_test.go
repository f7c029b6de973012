package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -allow-private-callbacks is for loopback and private development receivers: link-local targets
// (cloud metadata at 169.254.169.254, fe80::/10), multicast, unspecified and reserved ones stay
// refused, whether written as an address or behind a DNS name.
func TestAllowPrivateNeverAllowsLinkLocal(t *testing.T) {
	resolver := fakeResolver{
		"localhost":        {"127.0.0.1", "::1"},
		"intranet.example": {"10.1.2.3"},
		"metadata.example": {"169.254.169.254"},
		"sneaky.example":   {"10.1.2.3", "fe80::1"},
		"multi.example":    {"239.1.2.3"},
	}
	for url, refused := range map[string]string{
		"http://localhost:8080/hook":              "",
		"http://127.0.0.1:9/hook":                 "",
		"http://[::1]/hook":                       "",
		"http://10.0.0.5/hook":                    "",
		"http://[fd00::1]/hook":                   "",
		"http://intranet.example/hook":            "",
		"http://169.254.169.254/latest/meta-data": "link-local",
		"http://[fe80::1%25eth0]/hook":            "link-local",
		"http://metadata.example/":                "link-local",
		"http://sneaky.example/":                  "link-local",
		"http://multi.example/":                   "multicast",
		"http://239.1.2.3/hook":                   "multicast",
		"http://[ff02::1]/hook":                   "link-local", // link-local multicast
		"http://[ff0e::1]/hook":                   "multicast",
		"http://0.0.0.0/hook":                     "unspecified",
		"http://[::]/hook":                        "unspecified",
		"http://255.255.255.255/hook":             "reserved",
		"http://unknown.example/hook":             "", // checked at dial, where the guard decides (as without allowPrivate)
	} {
		t.Run(url, func(t *testing.T) {
			err := checkCallbackURL(context.Background(), resolver, url, true)
			if refused == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrCallbackURL)
			if err != nil {
				assert.Contains(t, err.Error(), refused)
			}
		})
	}
}

// The dialer checks the address DNS answered at dial time, with the same rule: a name that resolved
// to a private address at subscribe and to the metadata service later is refused then.
func TestDialGuardWithAllowPrivate(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1:80":       false,
		"10.9.8.7:80":        false,
		"[fd00::1]:443":      false,
		"169.254.169.254:80": true,
		"[fe80::1]:80":       true,
		"224.0.0.1:80":       true,
		"0.0.0.0:80":         true,
		"93.184.216.34:443":  false,
	} {
		err := guardDialFor(true)("tcp", addr, nil)
		assert.Equal(t, refused, err != nil, addr)
		if err != nil {
			assert.ErrorIs(t, err, ErrCallbackURL, addr)
		}
	}
}

// The callback client does not follow redirects, with or without allowPrivate: the 3xx is the
// attempt's answer, and the target is never called.
func TestCallbackClientDoesNotFollowRedirects(t *testing.T) {
	called := make(chan struct{}, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		called <- struct{}{}
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	client := NewCallbackClient(5*time.Second, true)
	resp, err := client.Post(redirector.URL+"/hook", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	select {
	case <-called:
		t.Fatal("the redirect was followed")
	default:
	}

	// Without allowPrivate the loopback redirector itself is refused at dial.
	_, err = NewCallbackClient(5*time.Second, false).Post(redirector.URL+"/hook", "application/json", nil)
	assert.ErrorIs(t, err, ErrCallbackURL)
}

// Every IPv6 form that carries a refused IPv4 address is refused as that address, written as a
// literal or behind a name, at subscribe and at dial, with -allow-private-callbacks or without:
// here the cloud metadata address 169.254.169.254 (a9fe:a9fe), link-local in every mode.
func TestEmbeddedIPv4FormsOfTheMetadataAddressAreRefused(t *testing.T) {
	forms := map[string]struct{ literal, reason string }{
		"IPv4-mapped":     {"::ffff:169.254.169.254", "a link-local address"},
		"IPv4-compatible": {"::169.254.169.254", "link-local (in an IPv4-compatible address)"},
		"6to4":            {"2002:a9fe:a9fe::1", "link-local (in a 6to4 address)"},
		"Teredo":          {"2001:0:4136:e378:8000:63bf:5601:5601", "link-local (in a Teredo address)"}, // client bits inverted
		"NAT64":           {"64:ff9b::a9fe:a9fe", "link-local (in a NAT64 address)"},
		"local NAT64":     {"64:ff9b:1::a9fe:a9fe", "local-use NAT64"},
	}
	for form, tt := range forms {
		literal := tt.literal
		resolver := fakeResolver{"embedded.example": {literal}}
		for _, allowPrivate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s allowPrivate=%v", form, allowPrivate), func(t *testing.T) {
				for _, url := range []string{"http://[" + literal + "]/", "http://embedded.example/"} {
					err := checkCallbackURL(context.Background(), resolver, url, allowPrivate)
					require.ErrorIs(t, err, ErrCallbackURL, url)
					assert.ErrorIs(t, err, ErrBlockedAddress, url)
					if err != nil {
						assert.Contains(t, err.Error(), tt.reason)
					}
				}
				err := guardDialFor(allowPrivate)("tcp", "["+literal+"]:80", nil)
				assert.ErrorIs(t, err, ErrCallbackURL, "refused at dial too")
			})
		}
	}
}
