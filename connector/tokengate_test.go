package connector_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
)

// countingTransport counts the requests that reach HipChat, whatever their token.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// A spray of invented tokens costs HipChat the gate's burst and then one call per interval of its
// rate, however many tokens; a token HipChat accepted goes on as usual meanwhile.
func TestInventedTokensCostHipChatAFixedNumberOfCalls(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	hipchat := &countingTransport{}
	client := newClient(connector.ClientOptions{Now: clock.Now, HTTPClient: &http.Client{Transport: hipchat}})
	ctx := context.Background()
	ann := connector.NewConnection(up.ann.Token, up.url)
	_, err := client.GetUser(ctx, ann, "@ann")
	require.NoError(t, err, "Ann's token is accepted once: verified")
	before := int(hipchat.n.Load())

	rejected, held := 0, 0
	for i := range 5000 {
		if i%100 == 0 {
			clock.Advance(time.Second) // 50 s of spraying in all
			_, err := client.GetUser(ctx, ann, "@ann")
			require.NoError(t, err, "a verified token is never held back by the spray")
		}
		_, err := client.GetUser(ctx, connector.NewConnection(fmt.Sprintf("invented-%d", i), up.url), "@ann")
		switch connector.KindOf(err) {
		case connector.KindTokenRejected:
			rejected++
		case connector.KindRateLimited:
			held++
			var e *connector.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, connector.BudgetUnverified, e.Budget)
			assert.Positive(t, e.RetryAfter)
		default:
			t.Fatalf("invented token %d: %v", i, err)
		}
	}
	annCalls := 50
	sprayCalls := int(hipchat.n.Load()) - before - annCalls
	// 20 at once, then one every 2 s of the 49 s between the first second and the last: 44 in all.
	assert.Equal(t, connector.DefaultUnverifiedBurst+24, sprayCalls, "HipChat calls of the invented tokens")
	assert.Equal(t, sprayCalls, rejected, "each that reached HipChat was rejected there")
	assert.Equal(t, 5000-sprayCalls, held)
}

// A token HipChat rejected is answered 401 here, without a call, until RejectedFor has passed;
// then HipChat is asked again.
func TestARejectedTokenIsNotSentToHipChatAgainForAWhile(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	hipchat := &countingTransport{}
	client := newClient(connector.ClientOptions{Now: clock.Now, RejectedFor: time.Minute, HTTPClient: &http.Client{Transport: hipchat}})
	ctx := context.Background()
	bogus := connector.NewConnection("not-a-token", up.url)

	for range 3 {
		_, err := client.GetUser(ctx, bogus, "@ann")
		assert.Equal(t, connector.KindTokenRejected, connector.KindOf(err))
	}
	assert.EqualValues(t, 1, hipchat.n.Load(), "only the first reached HipChat")

	clock.Advance(time.Minute)
	_, err := client.GetUser(ctx, bogus, "@ann")
	assert.Equal(t, connector.KindTokenRejected, connector.KindOf(err))
	assert.EqualValues(t, 2, hipchat.n.Load(), "asked again once RejectedFor passed")

	// Background calls (the poller's, with a stored token) are the poller's to judge: they go.
	_, err = client.GetUser(connector.WithBackground(ctx), bogus, "@ann")
	assert.Equal(t, connector.KindTokenRejected, connector.KindOf(err))
	assert.EqualValues(t, 3, hipchat.n.Load())
}

// HipChat knows a token whose call it answers with anything but 401 (or an unavailable HipChat's
// 5xx or 429): a 404 for a user it does not know verifies the token as well as a 200 does.
func TestAnyAnswerButA401VerifiesTheToken(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	client := newClient(connector.ClientOptions{Now: clock.Now, UnverifiedBurst: 1})
	ctx := context.Background()
	ann := connector.NewConnection(up.ann.Token, up.url)
	_, err := client.GetUser(ctx, ann, "@nobody")
	require.Equal(t, connector.KindNotFound, connector.KindOf(err), "spends the one unverified call")
	_, err = client.GetUser(ctx, ann, "@nobody")
	assert.Equal(t, connector.KindNotFound, connector.KindOf(err), "HipChat answered: the token is known, never held back")
}

// memory is a TokenMemory in a slice.
type memory struct {
	mu  sync.Mutex
	ids []string
}

func (m *memory) KnownConnections() ([]string, error) { return nil, nil }

func (m *memory) RememberConnections(ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ids = append(m.ids, ids...)
	return nil
}

// An answer that HipChat is unavailable (a 503 from it or the proxy in front of it, during an
// outage or maintenance) says nothing of the token: an invented token it answers so is not
// verified. Otherwise each invented token sprayed during an outage passes the unverified budget
// once, is then never held back by it, and is remembered in the store for good.
func TestAnAnswerThatHipChatIsUnavailableVerifiesNoToken(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	client := newClient(connector.ClientOptions{Now: clock.Now, UnverifiedBurst: 2})
	ctx := context.Background()
	invented := connector.NewConnection("invented", down.URL)

	_, err := client.GetUser(ctx, invented, "@ann")
	require.Equal(t, connector.KindUnavailable, connector.KindOf(err), "the GET and its one retry spend the unverified burst")
	_, err = client.GetUser(ctx, invented, "@ann")
	var e *connector.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, connector.KindRateLimited, e.Kind, "still unverified: held back by the budget of unverified tokens")
	assert.Equal(t, connector.BudgetUnverified, e.Budget)

	mem := &memory{}
	kept, stop := context.WithCancel(ctx)
	stop()
	require.NoError(t, client.KeepKnownTokens(kept, mem, time.Hour, func(err error) { t.Error(err) }))
	assert.NotContains(t, mem.ids, invented.ID, "an invented token is not remembered as one HipChat accepted")
}
