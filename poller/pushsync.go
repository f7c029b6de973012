package poller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// maxRegistrationsPerTurn bounds the feeds one connection registers in one turn, so that a token
// subscribing many rooms at once spreads its registration calls (four per feed) over a few ticks;
// maxVerificationsPerTurn does the same for the checks that trusted feeds' webhooks are still there.
const (
	maxRegistrationsPerTurn = 5
	maxVerificationsPerTurn = 2
)

// webhookKey marks the connector's own webhooks among a room's (HipChat's key field, 1–40 chars).
const webhookKey = "hipchat-connector"

// syncPush brings the push state of cf's feeds up to date in the connection's turn: it registers the
// doorbells of new message/file feeds (reusing the ones a previous process registered), checks now
// and then that a trusted feed's are still there, and forgets the feeds that are gone (deleting
// their webhooks). Its HipChat calls are the connection's, on its background budget.
func (p *Poller) syncPush(ctx context.Context, cf *connectionFeeds) {
	p.mu.Lock()
	if !p.pushOnLocked() {
		p.mu.Unlock()
		return
	}
	now := p.now()
	var register, verify []*pushFeed
	present := map[feedKey]bool{}
	for _, f := range cf.feeds {
		if f.room == "" {
			continue // the room list: OnNewRoom stays on polling
		}
		present[f.key] = true
		pf := p.push.byKey[f.key]
		if pf == nil {
			id := feedID(f.key)
			pf = &pushFeed{id: id, secret: p.feedSecret(id), key: f.key, conn: cf.conn, room: f.room, state: PushPending}
			p.push.byKey[f.key] = pf
			p.push.byID[id] = pf
		}
		pf.conn = cf.conn
		switch {
		case pf.state == PushPending && len(register) < maxRegistrationsPerTurn:
			register = append(register, pf)
		case pf.state == PushTrusted && now.Sub(pf.verifiedAt) >= verifyEvery*p.push.opts.Reconcile && len(verify) < maxVerificationsPerTurn:
			verify = append(verify, pf)
		}
	}
	var gone []*pushFeed
	for key, pf := range p.push.byKey {
		if key.conn == cf.conn.ID && !present[key] {
			gone = append(gone, pf)
			delete(p.push.byKey, key)
			delete(p.push.byID, pf.id)
			delete(p.push.locks, key)
		}
	}
	api := p.push.opts.Webhooks
	base := strings.TrimRight(p.push.opts.URL, "/")
	p.mu.Unlock()

	bg := connector.WithBackground(ctx)
	for _, pf := range gone {
		for _, id := range pf.hooks {
			if err := api.DeleteRoomWebhook(bg, cf.conn, pf.room, id); err != nil {
				p.log.Warn("deleting a feed's doorbell failed", "connection", cf.conn, "room", pf.room, "webhook", id, "err", err)
			}
		}
	}
	// Registering costs four calls a feed and checking one: neither may eat into the share of
	// HipChat's budget left to actions; what does not fit waits for the next turn.
	for _, pf := range register {
		if p.actionsShareReached(cf.conn) {
			return
		}
		p.register(bg, api, base, pf)
	}
	for _, pf := range verify {
		if p.actionsShareReached(cf.conn) {
			return
		}
		p.verify(bg, api, base, pf)
	}
}

// doorbellURL is the webhook URL of pf.
func doorbellURL(base string, pf *pushFeed) string {
	return base + "/hipchat/rooms/" + pf.id + "/" + pf.secret
}

// register makes sure every push event of pf has its webhook, reusing those already registered at
// pf's URL. A refusal (no admin_room, a 4xx) turns push off for the feed with the reason; a failure
// that may pass (5xx, timeout, budget) leaves it pending for the next turn.
func (p *Poller) register(ctx context.Context, api WebhookAPI, base string, pf *pushFeed) {
	url := doorbellURL(base, pf)
	existing, err := api.ListRoomWebhooks(ctx, pf.conn, pf.room)
	if err != nil {
		p.registrationFailed(pf, err)
		return
	}
	have := map[string]int{}
	for _, h := range existing {
		if h.URL == url {
			have[h.Event] = h.ID
		}
	}
	var hooks []int
	for _, event := range pushEvents {
		if id, ok := have[event]; ok {
			hooks = append(hooks, id)
			continue
		}
		id, err := api.CreateRoomWebhook(ctx, pf.conn, pf.room, connector.RoomWebhook{URL: url, Event: event, Name: "hipchat-connector doorbell", Key: webhookKey})
		if err != nil {
			p.registrationFailed(pf, err)
			return
		}
		hooks = append(hooks, id)
	}
	p.mu.Lock()
	pf.hooks, pf.state, pf.reason, pf.verifiedAt = hooks, PushOn, "", p.now()
	p.mu.Unlock()
	p.log.Info("a feed's doorbells are registered", "connection", pf.conn, "room", pf.room, "webhooks", len(hooks))
}

// registrationFailed records why pf could not be registered.
func (p *Poller) registrationFailed(pf *pushFeed, err error) {
	var e *connector.Error
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case errors.As(err, &e) && e.Kind == connector.KindScopeMissing:
		pf.state, pf.reason = PushOff, "the token lacks the admin_room scope HipChat requires to register room webhooks; the feed is polled"
	case errors.As(err, &e) && (e.Kind == connector.KindBadRequest || e.Kind == connector.KindNotFound || e.Kind == connector.KindTokenRejected):
		pf.state, pf.reason = PushOff, fmt.Sprintf("HipChat refused the room webhook (%s); the feed is polled", strings.TrimSpace(e.Message))
	default:
		pf.state, pf.reason = PushPending, "registering the room webhooks failed for now; trying again next tick"
		return
	}
	p.log.Info("push is off for a feed", "connection", pf.conn, "room", pf.room, "reason", pf.reason)
}

// verify checks that a trusted feed's webhooks are still registered; when one is gone the feed is
// polled again and its webhooks registered anew.
func (p *Poller) verify(ctx context.Context, api WebhookAPI, base string, pf *pushFeed) {
	existing, err := api.ListRoomWebhooks(ctx, pf.conn, pf.room)
	if err != nil {
		return // next time
	}
	url := doorbellURL(base, pf)
	events := map[string]bool{}
	for _, h := range existing {
		if h.URL == url {
			events[h.Event] = true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pf.verifiedAt = p.now()
	for _, event := range pushEvents {
		if !events[event] {
			pf.state, pf.reason = PushPending, "its room webhooks disappeared; polled until they are registered again"
			p.log.Warn("a feed's doorbells are gone: it is polled until they are registered again", "connection", pf.conn, "room", pf.room)
			return
		}
	}
}

// registerSoon registers the doorbells of the connection of subscription id now, unless that
// connection is being polled (its turn registers them) or another replica owns its feeds.
func (p *Poller) registerSoon(id string) {
	groups, err := p.refresh(p.now())
	if err != nil {
		return
	}
	p.mu.Lock()
	w := p.set.byID[id]
	p.mu.Unlock()
	if w == nil || !w.sub.Kind.Room() {
		return
	}
	connID := connector.NewConnection(w.sub.Token, w.sub.HipChatURL).ID
	for _, cf := range groups {
		if cf.conn.ID != connID {
			continue
		}
		if cf = p.owned(cf); cf == nil {
			return // another replica owns the connection's feeds, and registers their doorbells
		}
		st := p.claim(cf)
		if st == nil {
			return
		}
		defer func() {
			p.mu.Lock()
			st.running = false
			p.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.syncPush(ctx, cf)
		return
	}
}
