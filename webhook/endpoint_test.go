package webhook_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// An endpoint is a callback URL: two tenants' URLs on one host (two Logic Apps workflows in one
// region) are two endpoints, so that one's failures and slowness are its own. The same URL written
// with another case of scheme or host, or with its default port, is the same endpoint; a fragment
// is never sent and changes nothing.
func TestAnEndpointIsOneURLNotItsHost(t *testing.T) {
	const workflowA = "https://prod-00.westus.logic.azure.com/workflows/aaa/triggers/manual/paths/invoke?api-version=2016-10-01&sig=SECRETA"
	const workflowB = "https://prod-00.westus.logic.azure.com/workflows/bbb/triggers/manual/paths/invoke?api-version=2016-10-01&sig=SECRETB"
	a, b := webhook.EndpointOf(workflowA), webhook.EndpointOf(workflowB)
	assert.NotEqual(t, a, b, "two workflows on one host")
	assert.True(t, strings.HasPrefix(a, "https://prod-00.westus.logic.azure.com:443#"), a)
	assert.Len(t, a, len("https://prod-00.westus.logic.azure.com:443#")+16)

	assert.Equal(t, a, webhook.EndpointOf("HTTPS://Prod-00.WestUS.logic.azure.com:443/workflows/aaa/triggers/manual/paths/invoke?api-version=2016-10-01&sig=SECRETA#x"))
	assert.NotEqual(t, a, webhook.EndpointOf(strings.Replace(workflowA, "SECRETA", "OTHER", 1)), "another query is another URL")
	assert.NotEqual(t, webhook.EndpointOf("https://hooks.example.com/a"), webhook.EndpointOf("https://hooks.example.com/A"), "paths are case-sensitive")
	assert.NotEqual(t, webhook.EndpointOf("http://hooks.example.com/a"), webhook.EndpointOf("https://hooks.example.com/a"))
	assert.Equal(t, webhook.EndpointOf("http://hooks.example.com/a"), webhook.EndpointOf("http://hooks.example.com:80/a"))
}

// The key is logged and stored: it never holds the URL's path or query, which may be the
// receiver's credential (a Slack or Zapier hook's path, Logic Apps' sig).
func TestAnEndpointsKeyHoldsNoCredentialOfItsURL(t *testing.T) {
	for _, u := range []string{
		"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
		"https://hooks.zapier.com/hooks/catch/123456/abcdef/",
		"https://prod-00.westus.logic.azure.com/workflows/aaa/triggers/manual/paths/invoke?sig=SECRETA",
	} {
		key := webhook.EndpointOf(u)
		for _, secret := range []string{"XXXXXXXX", "abcdef", "SECRETA", "services", "workflows"} {
			assert.NotContains(t, key, secret, u)
		}
	}
}

// A key stays within the stores' 256-byte ids however long the host, and URLs whose hosts share
// the part written out are still told apart.
func TestAnEndpointsKeyIsBounded(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60)
	one, other := webhook.EndpointOf("https://"+long+".one.example/hook"), webhook.EndpointOf("https://"+long+".two.example/hook")
	assert.LessOrEqual(t, len(one), 256)
	assert.NotEqual(t, one, other)
}
