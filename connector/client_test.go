package connector_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/manualclock"
)

// upstream is the emulator over real HTTP with one person, as a connector would meet HipChat.
type upstream struct {
	url   string
	sim   *simclient.Client
	admin string
	ann   simclient.Person
}

func startUpstream(t *testing.T, opts hipchatsim.Options) *upstream {
	t.Helper()
	emu, err := hipchatsim.New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	u := &upstream{url: ts.URL, sim: simclient.New(ts.URL), admin: emu.AdminToken()}
	u.ann, err = u.sim.NewPerson(context.Background(), u.admin, "Ann Example", "ann")
	require.NoError(t, err)
	return u
}

func (u *upstream) calls(t *testing.T, token string) int {
	t.Helper()
	c, err := u.sim.CallsOf(context.Background(), token)
	require.NoError(t, err)
	return c.Total
}

func newClient(opts connector.ClientOptions) *connector.Client {
	if opts.Limiter == nil {
		opts.Limiter = connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 20})
	}
	return connector.NewClient(opts)
}

func TestClientFollowsEveryPageUpToItsCap(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	ctx := context.Background()
	for i := 0; i < 23; i++ {
		_, err := up.sim.CreateRoom(ctx, up.ann.Token, "Room "+strconv.Itoa(i), "public")
		require.NoError(t, err)
	}
	conn := connector.NewConnection(up.ann.Token, up.url)

	rooms, err := newClient(connector.ClientOptions{PageSize: 5}).ListRooms(ctx, conn, false)
	require.NoError(t, err)
	require.Len(t, rooms, 23)
	for i, r := range rooms {
		assert.Equal(t, "Room "+strconv.Itoa(i), r.Name)
	}

	_, err = newClient(connector.ClientOptions{PageSize: 5, MaxPages: 3}).ListRooms(ctx, conn, false)
	assert.Equal(t, connector.KindUnavailable, connector.KindOf(err), "a listing past the page cap fails instead of truncating")
}

func TestClientRetriesIdempotentCallsOnceAndPostsNever(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	ctx := context.Background()
	room, err := up.sim.CreateRoom(ctx, up.ann.Token, "Ops", "public")
	require.NoError(t, err)
	conn := connector.NewConnection(up.ann.Token, up.url)
	client := newClient(connector.ClientOptions{})
	require.NoError(t, up.sim.InjectFault(ctx, simclient.Fault{TokenSHA256: simclient.TokenSHA256(up.ann.Token), Status: 503, Rate: 1}))

	before := up.calls(t, up.ann.Token)
	_, err = client.GetUser(ctx, conn, "@ann")
	assert.Equal(t, connector.KindUnavailable, connector.KindOf(err))
	assert.Equal(t, 2, up.calls(t, up.ann.Token)-before, "a GET is retried once")

	before = up.calls(t, up.ann.Token)
	_, err = client.PostMessage(ctx, conn, strconv.Itoa(room), "hello")
	assert.Equal(t, connector.KindUnavailable, connector.KindOf(err))
	assert.Equal(t, 1, up.calls(t, up.ann.Token)-before, "a POST is never retried blindly")
}

func TestClientMapsHipChatErrors(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	ctx := context.Background()
	client := newClient(connector.ClientOptions{})
	room, err := up.sim.CreateRoom(ctx, up.ann.Token, "Public", "public")
	require.NoError(t, err)
	limited, err := up.sim.PasswordToken(ctx, up.ann.Email, up.ann.Password, "send_message")
	require.NoError(t, err)

	cases := map[string]struct {
		call func() error
		kind connector.Kind
		text string
	}{
		"unknown token": {func() error {
			_, err := client.GetUser(ctx, connector.NewConnection("not-a-token", up.url), "@ann")
			return err
		}, connector.KindTokenRejected, "Invalid OAuth session"},
		"missing scope": {func() error {
			_, err := client.GetUser(ctx, connector.NewConnection(limited, up.url), "@ann")
			return err
		}, connector.KindScopeMissing, "view_group"},
		"unknown user": {func() error {
			_, err := client.GetUser(ctx, connector.NewConnection(up.ann.Token, up.url), "nobody@example.com")
			return err
		}, connector.KindNotFound, "not found"},
		"HipChat's 400 message kept": {func() error {
			_, err := client.ListMembers(ctx, connector.NewConnection(up.ann.Token, up.url), strconv.Itoa(room))
			return err
		}, connector.KindBadRequest, "private rooms"},
		"unreachable": {func() error {
			_, err := client.GetUser(ctx, connector.NewConnection(up.ann.Token, "http://127.0.0.1:1"), "@ann")
			return err
		}, connector.KindUnavailable, "could not be reached"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.call()
			var e *connector.Error
			require.True(t, errors.As(err, &e), "got %v", err)
			assert.Equal(t, tc.kind, e.Kind)
			assert.Contains(t, e.Message, tc.text)
		})
	}
}

func TestClientObeysHipChatsOwnBudget(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{UserRateLimit: 3})
	ctx := context.Background()
	conn := connector.NewConnection(up.ann.Token, up.url)
	client := newClient(connector.ClientOptions{})
	spent := up.calls(t, up.ann.Token) // making the person's token used none of its calls
	for i := spent; i < 3; i++ {
		_, err := client.GetUser(ctx, conn, "@ann")
		require.NoError(t, err)
	}
	before := up.calls(t, up.ann.Token)
	_, err := client.GetUser(ctx, conn, "@ann")
	var e *connector.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, connector.KindRateLimited, e.Kind)
	assert.True(t, e.Local, "once X-Ratelimit-Remaining says 0, the connector waits for the reset itself")
	assert.Equal(t, connector.BudgetHipChat, e.Budget, "it is HipChat's budget that is spent, not the connector's")
	assert.Contains(t, e.Message, "HipChat's own rate limit")
	assert.NotContains(t, e.Message, "connector's budget")
	assert.Greater(t, e.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, e.RetryAfter, 5*time.Minute+time.Second, "Retry-After is HipChat's reset, within its 5-minute window")
	assert.Equal(t, before, up.calls(t, up.ann.Token), "no call was sent")
}

// A message refused by flood control may also be the call that spent the token's HipChat budget:
// the 429 says X-FloodControl-Remaining: 0 and X-Ratelimit-Remaining: 0. The room's flood control
// holds back that room; HipChat's spent budget must hold back the whole connection as well.
func TestAFloodControl429ThatAlsoSpentTheTokensBudgetHoldsTheConnectionBack(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{UserRateLimit: 10, FloodLimit: 1})
	ctx := context.Background()
	room, err := up.sim.CreateRoom(ctx, up.ann.Token, "Ops", "public")
	require.NoError(t, err)
	conn := connector.NewConnection(up.ann.Token, up.url)
	client := newClient(connector.ClientOptions{})
	for i := up.calls(t, up.ann.Token); i < 8; i++ {
		_, err := client.GetUser(ctx, conn, "@ann")
		require.NoError(t, err)
	}
	_, err = client.PostMessage(ctx, conn, strconv.Itoa(room), "one")
	require.NoError(t, err)
	_, err = client.PostMessage(ctx, conn, strconv.Itoa(room), "two") // the 10th call: flood control and the budget both spent
	require.Equal(t, connector.KindRateLimited, connector.KindOf(err))

	before := up.calls(t, up.ann.Token)
	_, err = client.GetUser(ctx, conn, "@ann")
	var e *connector.Error
	require.True(t, errors.As(err, &e))
	assert.True(t, e.Local, "HipChat said X-Ratelimit-Remaining: 0; the connector waits for its reset itself")
	assert.Equal(t, connector.BudgetHipChat, e.Budget)
	assert.Equal(t, before, up.calls(t, up.ann.Token), "no call was sent")
}

func TestClientCountsRefusalsByBudgetAndHipChatsRemaining(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{UserRateLimit: 100})
	ctx := context.Background()
	conn := connector.NewConnection(up.ann.Token, up.url)
	reg := prometheus.NewRegistry()
	client := connector.NewClient(connector.ClientOptions{Registerer: reg,
		Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 2, ForegroundMax: 2})})
	for i := 0; i < 2; i++ {
		_, err := client.GetUser(ctx, conn, "@ann")
		require.NoError(t, err)
	}
	_, err := client.GetUser(ctx, conn, "@ann")
	var e *connector.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, connector.BudgetConnector, e.Budget)
	assert.Contains(t, e.Message, "the connector's budget of HipChat calls: at most 2 in any 60 s,", "the window promised, as the README says it")

	assert.Equal(t, 1.0, counterValue(t, reg, "hipchat_connector_limiter_refusals_total", "connector", "foreground"))
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "hipchat_connector_hipchat_ratelimit_remaining" {
			assert.Equal(t, uint64(2), f.GetMetric()[0].GetHistogram().GetSampleCount(), "one per answer carrying X-Ratelimit-Remaining")
			return
		}
	}
	t.Fatal("no hipchat_connector_hipchat_ratelimit_remaining")
}

// counterValue is the counter of family name with label values (in label-name order).
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetValue())
			}
			if strings.Join(got, ",") == strings.Join(labels, ",") {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

func TestClientSendsTheTokenOnlyInTheAuthorizationHeaderAndNeverOffTheServer(t *testing.T) {
	var leaked atomic.Bool
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.Contains(r.URL.String(), "secret-token") {
			leaked.Store(true)
		}
		assert.Equal(t, "Bearer secret-token", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		// A next link that leaves the server is never followed: it says only that a page follows,
		// and the client asks the connection's own HipChat for it, by start-index.
		if r.URL.Query().Get("start-index") != "" {
			_, _ = w.Write([]byte(`{"items":[{"id":1,"name":"A"}],"startIndex":0,"maxResults":1000,"links":{"self":"x"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"items":[{"id":1,"name":"A"}],"startIndex":0,"maxResults":1000,"links":{"self":"x","next":"http://elsewhere.example/v2/room?start-index=1"}}`))
	}))
	defer ts.Close()
	rooms, err := newClient(connector.ClientOptions{}).ListRooms(context.Background(), connector.NewConnection("secret-token", ts.URL), false)
	require.NoError(t, err)
	assert.Len(t, rooms, 1)
	assert.False(t, leaked.Load())
	assert.Equal(t, int32(2), hits.Load(), "both pages from the connection's own HipChat")
}

func TestConnectionNeverPrintsItsToken(t *testing.T) {
	conn := connector.NewConnection("secret-token", "https://api.hipchat.com/")
	for _, s := range []string{conn.String(), conn.GoString(), conn.LogValue().String()} {
		assert.NotContains(t, s, "secret-token")
	}
	assert.Equal(t, "https://api.hipchat.com", conn.BaseURL)
	assert.NotEqual(t, conn.ID, connector.NewConnection("secret-token", "https://other.example").ID, "the same token at another HipChat is another connection")

	for header, want := range map[string]string{"Bearer abc": "abc", "bearer abc": "abc", "abc": "abc", "  abc  ": "abc", "Bearer": "", "": "", "Bearer a b": ""} {
		got, ok := connector.TokenFromAuthorization(header)
		assert.Equal(t, want, got, header)
		assert.Equal(t, want != "", ok, header)
	}
}

// A background call (the poller's) whose budget returns only after its context's deadline gives up
// at once with a local KindRateLimited, as poller.Options.Source promises: it does not sleep out the
// deadline, which would hold one of the poller's slots, and with it other connections' turns, for
// the rest of the tick.
func TestABackgroundCallWhoseBudgetReturnsAfterItsDeadlineGivesUpAtOnce(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	clock := manualclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	limiter := connector.NewLimiter(connector.LimiterOptions{Now: clock.Now})
	var slept []time.Duration
	client := connector.NewClient(connector.ClientOptions{Limiter: limiter, Now: clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			slept = append(slept, d)
			return context.DeadlineExceeded // the deadline comes first
		}})
	conn := connector.NewConnection(up.ann.Token, up.url)
	for range 75 {
		ok, _ := limiter.TryAcquire(conn.ID, connector.Background)
		require.True(t, ok)
	}
	ctx, cancel := context.WithTimeout(connector.WithBackground(context.Background()), 5*time.Second)
	defer cancel()
	before := up.calls(t, up.ann.Token)
	_, err := client.GetUser(ctx, conn, "@ann")
	var e *connector.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, connector.KindRateLimited, e.Kind)
	assert.True(t, e.Local)
	assert.Greater(t, e.RetryAfter, 5*time.Second)
	assert.Empty(t, slept, "no wait that could not help")
	assert.Equal(t, before, up.calls(t, up.ann.Token), "no call was sent")
}

// A reference of "." or ".." reaches HipChat as a name (its dots percent-encoded), never as a dot
// segment: user "." is looked up, not the user list read as a user. The actions refuse both
// before a call; this is the client's own guard for any other caller.
func TestADotReferenceIsANameInThePath(t *testing.T) {
	up := startUpstream(t, hipchatsim.Options{})
	client := newClient(connector.ClientOptions{})
	conn := connector.NewConnection(up.ann.Token, up.url)
	for _, ref := range []string{".", ".."} {
		_, err := client.GetUser(context.Background(), conn, ref)
		assert.Equal(t, connector.KindNotFound, connector.KindOf(err), ref)
	}
}

// A listing whose next page does not begin with the last item of the page before (the list moved
// under the read: an item deleted in between) starts over, and one that keeps moving is an error
// after a few tries, never a list with an item missing.
func TestAListingThatKeepsMovingIsReadAgainThenRefused(t *testing.T) {
	var firstPages atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("start-index") == "" {
			firstPages.Add(1)
			_, _ = w.Write([]byte(`{"items":[{"id":1,"name":"A"},{"id":2,"name":"B"}],"links":{"self":"x","next":"y"}}`))
			return
		}
		assert.Equal(t, "1", r.URL.Query().Get("start-index"), "the next page begins with the last item read")
		// Room 1 was deleted meanwhile: every later room moved a place up.
		_, _ = w.Write([]byte(`{"items":[{"id":3,"name":"C"},{"id":4,"name":"D"}],"links":{"self":"x"}}`))
	}))
	defer ts.Close()
	_, err := newClient(connector.ClientOptions{PageSize: 2}).ListRooms(context.Background(), connector.NewConnection("t", ts.URL), false)
	assert.Equal(t, connector.KindUnavailable, connector.KindOf(err), "%v", err)
	assert.Equal(t, int32(4), firstPages.Load(), "read, then started over three times")
}
