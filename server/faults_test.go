package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// assertNothingLostOrRepeated fails unless every sent id arrived once.
func assertNothingLostOrRepeated(t *testing.T, what string, c tally) {
	t.Helper()
	assert.Zero(t, c.lost, "%s: lost", what)
	assert.Zero(t, c.duplicated, "%s: duplicated", what)
	assert.Zero(t, c.unexpected, "%s: never sent", what)
	assert.Equal(t, c.sent, c.delivered, "%s: delivered", what)
}

// HipChat failing for a while: 20 % of one token's calls answered 500 and of another's 503, each
// slowly (delay), a third token's 10 % answered 429 as HipChat's own, while messages flow into their
// rooms and the test hammers the actions. Subscriptions and polling triggers deliver every message
// exactly once; actions answer 200 or a clear 429/502; no token ever makes more than 100 HipChat
// calls in any 60 s, retries included.
func TestFaultsHipChatFailingDeliversEverythingOnce(t *testing.T) {
	w := newFaultWorld(t, 5*time.Second)
	type watcher struct {
		who   simclient.Person
		room  string
		sub   string
		app   *logicApp
		sent  []string
		fault simclient.Fault
	}
	watchers := []*watcher{
		{who: w.person("Ann", "ann"), fault: simclient.Fault{Status: 500, Rate: 0.2, DelayMS: 15}},
		{who: w.person("Bob", "bob"), fault: simclient.Fault{Status: 503, Rate: 0.2, DelayMS: 15}},
		{who: w.person("Cy", "cy"), fault: simclient.Fault{Status: 429, Rate: 0.1}},
	}
	for i, wa := range watchers {
		wa.room = w.room("Busy " + string(rune('A'+i)))
		wa.sub = w.subscribe(wa.who.Token, wa.room).ID
		wa.app = w.logicApp(wa.who.Token, wa.room)
	}
	for _, wa := range watchers {
		f := wa.fault
		f.TokenSHA256 = simclient.TokenSHA256(wa.who.Token)
		require.NoError(t, w.sim.InjectFault(w.ctx, f))
	}

	actions := map[int]int{}
	for minute := 0; minute < 12; minute++ {
		for _, wa := range watchers {
			wa.sent = append(wa.sent, w.post(wa.room, 15, 100*time.Millisecond)...)
			// 10 actions a minute per connection on top of the poller and the polling trigger, and
			// once a burst of 120 that runs into the connection's budget.
			actionsNow := 10
			if minute == 5 {
				actionsNow = 120
			}
			for i := 0; i < actionsNow; i++ {
				resp := w.call("GET", "/users/@"+w.poster.Mention, wa.who.Token, nil)
				actions[resp.Status]++
				switch resp.Status {
				case http.StatusOK, http.StatusBadGateway, http.StatusGatewayTimeout:
				case http.StatusTooManyRequests:
					assert.NotEmpty(t, resp.Header.Get("Retry-After"), "a 429 says when to come back")
				default:
					t.Fatalf("an action under faults answered %d %s", resp.Status, resp.Body)
				}
			}
			wa.app.poll()
		}
		w.cycle()
	}
	require.NoError(t, w.sim.ClearFaults(w.ctx))
	for minute := 0; minute < 10; minute++ {
		for _, wa := range watchers {
			wa.app.poll()
		}
		w.cycle()
	}

	var tokens []string
	for _, wa := range watchers {
		tokens = append(tokens, wa.who.Token)
		sub, redelivered := w.sinkTally(wa.sub, wa.sent)
		poll := count(wa.sent, wa.app.got)
		t.Logf("HipChat failing (%d %v%%): subscription: %d events sent, %d delivered, %d duplicated, %d lost (%d same-webhook-id redeliveries); polling trigger: %d sent, %d delivered, %d duplicated, %d lost",
			wa.fault.Status, wa.fault.Rate*100, sub.sent, sub.delivered, sub.duplicated, sub.lost, redelivered, poll.sent, poll.delivered, poll.duplicated, poll.lost)
		assertNothingLostOrRepeated(t, "subscription", sub)
		assertNothingLostOrRepeated(t, "polling trigger", poll)
	}
	most := w.maxCallsIn60s(tokens...)
	t.Logf("HipChat failing: actions answered %v; the most calls of one token in any 60 s: %d", actions, most)
	assert.LessOrEqual(t, most, 100, "no token makes more than 100 calls in any 60 s, retries included")
	assert.Positive(t, actions[http.StatusOK])
	assert.Positive(t, actions[http.StatusTooManyRequests], "the actions were pushed past the budget")
	assert.Positive(t, actions[http.StatusBadGateway], "HipChat's 500/503 reached the actions as 502")
}

// HipChat not answering in time: actions answer 504 upstream_timeout; the poller reads again next
// tick, and once HipChat answers again everything is delivered once.
func TestFaultsHipChatTimingOutDeliversEverythingOnce(t *testing.T) {
	w := newFaultWorld(t, 150*time.Millisecond)
	ann := w.person("Ann", "ann")
	room := w.room("Slow")
	sub := w.subscribe(ann.Token, room).ID
	app := w.logicApp(ann.Token, room)
	sent := w.post(room, 20, time.Second)
	require.NoError(t, w.sim.InjectFault(w.ctx, simclient.Fault{TokenSHA256: simclient.TokenSHA256(ann.Token), DelayMS: 400}))
	timeouts := 0
	for minute := 0; minute < 2; minute++ {
		resp := w.call("GET", "/users/@"+w.poster.Mention, ann.Token, nil)
		require.Equal(t, http.StatusGatewayTimeout, resp.Status, string(resp.Body))
		code, _ := resp.errorCode(t)
		assert.Equal(t, "upstream_timeout", code)
		timeouts++
		app.poll()
		w.cycle()
		sent = append(sent, w.post(room, 10, time.Second)...)
	}
	require.NoError(t, w.sim.ClearFaults(w.ctx))
	for minute := 0; minute < 3; minute++ {
		app.poll()
		w.cycle()
	}
	subTally, redelivered := w.sinkTally(sub, sent)
	poll := count(sent, app.got)
	t.Logf("HipChat timing out: %d actions answered 504; subscription: %d events sent, %d delivered, %d duplicated, %d lost (%d same-webhook-id redeliveries); polling trigger: %d sent, %d delivered, %d duplicated, %d lost (answers %v)",
		timeouts, subTally.sent, subTally.delivered, subTally.duplicated, subTally.lost, redelivered, poll.sent, poll.delivered, poll.duplicated, poll.lost, app.answers)
	assertNothingLostOrRepeated(t, "subscription", subTally)
	assertNothingLostOrRepeated(t, "polling trigger", poll)
	assert.Positive(t, app.answers[http.StatusGatewayTimeout], "the polling trigger answered 504 while HipChat was slow")
}

// A burst of 5,000 messages in one room between two ticks: the subscription and the polling
// trigger drain it over the next ticks, each message once, within the budget.
func TestFaultsBurstOf5000BetweenTicks(t *testing.T) {
	if testing.Short() {
		t.Skip("posts and delivers 5,000 messages")
	}
	w := newFaultWorld(t, 5*time.Second)
	ann := w.person("Ann", "ann")
	room := w.room("Burst")
	sub := w.subscribe(ann.Token, room).ID
	app := w.logicApp(ann.Token, room)
	w.cycle()
	sent := w.post(room, 5000, 10*time.Millisecond) // 50 s of messages, inside one minute
	for minute := 0; minute < 15 && (len(w.sink.requests()) < len(sent) || len(app.got) < len(sent)); minute++ {
		app.poll()
		w.cycle()
	}
	subTally, redelivered := w.sinkTally(sub, sent)
	poll := count(sent, app.got)
	most := w.maxCallsIn60s(ann.Token)
	t.Logf("burst of 5000 between ticks: subscription: %d events sent, %d delivered, %d duplicated, %d lost (%d same-webhook-id redeliveries); polling trigger: %d sent, %d delivered, %d duplicated, %d lost; most calls in any 60 s: %d",
		subTally.sent, subTally.delivered, subTally.duplicated, subTally.lost, redelivered, poll.sent, poll.delivered, poll.duplicated, poll.lost, most)
	assertNothingLostOrRepeated(t, "subscription", subTally)
	assertNothingLostOrRepeated(t, "polling trigger", poll)
	assert.LessOrEqual(t, most, 100)
}

// Two simulated hours of downtime while three rooms are busy: the connector is stopped, messages
// are posted, and it starts again on the same database. Everything posted while it was down is
// delivered once, and polling triggers pick up from their Location as if nothing happened.
func TestFaultsTwoHoursDownWhileRoomsAreBusy(t *testing.T) {
	w := newFaultWorld(t, 5*time.Second)
	ann := w.person("Ann", "ann")
	var rooms, subs []string
	var apps []*logicApp
	for _, name := range []string{"Down A", "Down B", "Down C"} {
		room := w.room(name)
		rooms = append(rooms, room)
		subs = append(subs, w.subscribe(ann.Token, room).ID)
		apps = append(apps, w.logicApp(ann.Token, room))
	}
	sent := make([][]string, len(rooms))
	for i, room := range rooms {
		sent[i] = append(sent[i], w.post(room, 5, time.Second)...)
	}
	w.cycle()

	w.stop()
	for step := 0; step < 120; step++ { // two hours, a minute at a time, a message per room a minute
		for i, room := range rooms {
			sent[i] = append(sent[i], w.post(room, 1, 20*time.Second)...)
		}
	}
	w.start()
	for minute := 0; minute < 10; minute++ {
		for _, app := range apps {
			app.poll()
		}
		w.cycle()
	}
	for i := range rooms {
		subTally, redelivered := w.sinkTally(subs[i], sent[i])
		poll := count(sent[i], apps[i].got)
		t.Logf("2 h down, room %d: subscription: %d events sent, %d delivered, %d duplicated, %d lost (%d same-webhook-id redeliveries); polling trigger: %d sent, %d delivered, %d duplicated, %d lost",
			i, subTally.sent, subTally.delivered, subTally.duplicated, subTally.lost, redelivered, poll.sent, poll.delivered, poll.duplicated, poll.lost)
		assertNothingLostOrRepeated(t, "subscription", subTally)
		assertNothingLostOrRepeated(t, "polling trigger", poll)
	}
}

// A token HipChat stops accepting (401): the connection's subscriptions are suspended, visibly
// (GET shows status suspended and why), actions answer 401 token_rejected; once the token works
// again, POST {Location}/resume makes them active and everything posted meanwhile is delivered once.
//
// The emulator's revoke (DELETE /v2/oauth/token/{token}) is final, as HipChat's is, and a new token
// is a new connection that cannot own the old subscription; so "works again" is an injected 401
// (POST /_sim/faults status 401) that is then cleared.
func TestFaultsTokenRejectedSuspendsAndResumeDelivers(t *testing.T) {
	w := newFaultWorld(t, 5*time.Second)
	ann := w.person("Ann", "ann")
	room := w.room("Revoked")
	created := w.subscribe(ann.Token, room)
	sent := w.post(room, 5, time.Second)
	w.cycle()

	require.NoError(t, w.sim.InjectFault(w.ctx, simclient.Fault{TokenSHA256: simclient.TokenSHA256(ann.Token), Status: 401, Rate: 1}))
	sent = append(sent, w.post(room, 10, time.Second)...)
	w.cycle()
	resp := w.call("GET", created.Location, ann.Token, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var suspended struct {
		Status       string `json:"status"`
		StatusReason string `json:"status_reason"`
	}
	resp.json(t, &suspended)
	assert.Equal(t, "suspended", suspended.Status)
	assert.NotEmpty(t, suspended.StatusReason, "the reason is visible")
	action := w.call("GET", "/users/@"+w.poster.Mention, ann.Token, nil)
	assert.Equal(t, http.StatusUnauthorized, action.Status)
	code, _ := action.errorCode(t)
	assert.Equal(t, "token_rejected", code)
	before, err := w.sim.CallsOf(w.ctx, ann.Token)
	require.NoError(t, err)
	for minute := 0; minute < 3; minute++ { // suspended: the poller does not hammer a rejected token
		sent = append(sent, w.post(room, 5, time.Second)...)
		w.cycle()
	}
	after, err := w.sim.CallsOf(w.ctx, ann.Token)
	require.NoError(t, err)
	assert.Equal(t, before.Total, after.Total, "a suspended subscription is not polled")

	require.NoError(t, w.sim.ClearFaults(w.ctx))
	resumed := w.call("POST", created.Location+"/resume", ann.Token, nil)
	require.Equal(t, http.StatusOK, resumed.Status, string(resumed.Body))
	for minute := 0; minute < 3; minute++ {
		w.cycle()
	}
	subTally, redelivered := w.sinkTally(created.ID, sent)
	t.Logf("token rejected, then resumed: %d events sent, %d delivered, %d duplicated, %d lost (%d same-webhook-id redeliveries); %d HipChat calls in 3 suspended minutes",
		subTally.sent, subTally.delivered, subTally.duplicated, subTally.lost, redelivered, after.Total-before.Total)
	assertNothingLostOrRepeated(t, "subscription", subTally)
}
