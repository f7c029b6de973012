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
// maxVerificationsPerTurn does the same for the checks that registered feeds' webhooks are still
// there (and the registrations again of those found gone).
const (
	maxRegistrationsPerTurn = 5
	maxVerificationsPerTurn = 2
)

// webhookKey marks the connector's own webhooks among a room's (HipChat's key field, 1–40 chars).
const webhookKey = "hipchat-connector"

// syncPush brings the push state of cf's feeds up to date in the connection's turn: it registers the
// doorbells of new message/file feeds (reusing the ones a previous process registered), checks now
// and then that a registered feed's (on or trusted) are still there, and forgets the feeds that are
// gone (deleting their webhooks). Its HipChat calls are the connection's, on its background budget.
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
			pf = &pushFeed{id: id, key: f.key, conn: cf.conn, room: f.room, state: PushPending}
			p.push.byKey[f.key] = pf
			p.push.byID[id] = pf
		}
		pf.conn, pf.ref = cf.conn, feedRoomRef(f)
		switch {
		case pf.state == PushPending && len(register) < maxRegistrationsPerTurn:
			register = append(register, pf)
		case (pf.state == PushOn || pf.state == PushTrusted) && now.Sub(pf.verifiedAt) >= verifyEvery*p.push.opts.Reconcile && len(verify) < maxVerificationsPerTurn:
			verify = append(verify, pf)
		}
	}
	var gone []*pushFeed
	for key, pf := range p.push.byKey {
		if key.conn == cf.conn.ID && !present[key] {
			gone = append(gone, pf)
			p.noteDoorbellLocked(pf.id, "")
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
			if err := api.DeleteRoomWebhook(bg, cf.conn, pf.ref, id); err != nil {
				p.log.Warn("deleting a feed's doorbell failed", "connection", cf.conn, "room", pf.room, "webhook", id, "err", err)
			}
		}
	}
	// Registering costs four calls a feed and checking one (three more when the check registers the
	// feed again): neither may eat into the share of HipChat's budget left to actions; what does not
	// fit waits for the next turn.
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

// feedRoomRef is how the webhook calls of feed f name its room to HipChat, as its reads do
// (resolveRoom): the id of the room a subscription of the feed resolved, so that a room subscribed
// by its name keeps its webhooks when it is renamed; the room as given while none has it resolved
// (subscriptions stored before rooms were resolved, until the feed's first read resolves it).
// Under the poller's lock.
func feedRoomRef(f *feed) string {
	for _, w := range f.subs {
		if w.sub.Room.Resolved() {
			return w.sub.Room.Ref(f.room)
		}
	}
	return f.room
}

// pushOrphansLocked returns a connection without feeds for each connection that has push feeds
// this replica owns but no subscription any more (its last one went): its turn's syncPush then
// deletes those feeds' webhooks, which no other turn would.
func (p *Poller) pushOrphansLocked(groups []*connectionFeeds) []*connectionFeeds {
	if !p.pushOnLocked() {
		return nil
	}
	polled := make(map[string]bool, len(groups))
	for _, cf := range groups {
		polled[cf.conn.ID] = true
	}
	var orphans []*connectionFeeds
	for key, pf := range p.push.byKey {
		if !polled[key.conn] && p.ownsFeed(key) {
			polled[key.conn] = true
			orphans = append(orphans, &connectionFeeds{conn: pf.conn})
		}
	}
	return orphans
}

// doorbellURL is the webhook URL of feed id with secret.
func doorbellURL(base, id, secret string) string {
	return base + "/hipchat/rooms/" + id + "/" + secret
}

// register makes sure every push event of pf has its webhook at pf's URL. A previous process's
// complete set is taken up with its secret (a restart keeps the doorbells it registered); anything
// else gets a new secret, every event its webhook at the new URL, and the webhooks at older URLs of
// the feed are deleted, so an old (perhaps leaked) URL answers 404 from then on. A refusal (no
// admin_room, a 4xx) turns push off for the feed with the reason; a failure that may pass (5xx,
// timeout, budget) leaves it pending for the next turn. The webhooks HipChat accepted before a
// failure are not forgotten (creationFailed).
func (p *Poller) register(ctx context.Context, api WebhookAPI, base string, pf *pushFeed) {
	existing, err := api.ListRoomWebhooks(ctx, pf.conn, pf.ref)
	if err != nil {
		p.registrationFailed(pf, err)
		return
	}
	p.registerListed(ctx, api, base, pf, existing)
}

// registerListed is register with the room's webhooks as HipChat just listed them (existing).
func (p *Poller) registerListed(ctx context.Context, api WebhookAPI, base string, pf *pushFeed, existing []connector.RoomWebhook) {
	bySecret := feedWebhooks(existing, base, pf.id)
	p.mu.Lock()
	secret := pf.secret
	p.mu.Unlock()
	if secret == "" {
		for s, hooks := range bySecret {
			if len(hooks) == len(pushEvents) {
				secret = s // a previous process's doorbells: take them up
				break
			}
		}
	}
	hooks := bySecret[secret]
	if secret == "" || len(hooks) != len(pushEvents) {
		secret, hooks = newFeedSecret(), map[string]int{}
		p.mu.Lock()
		pf.secret = secret // from now on only the new URL rings
		p.mu.Unlock()
		for _, event := range pushEvents {
			id, err := api.CreateRoomWebhook(ctx, pf.conn, pf.ref, connector.RoomWebhook{
				URL: doorbellURL(base, pf.id, secret), Event: event, Name: "hipchat-connector doorbell", Key: webhookKey})
			if err != nil {
				p.creationFailed(ctx, api, pf, bySecret, hooks, err)
				return
			}
			hooks[event] = id
		}
	}
	undeleted := p.deleteOtherWebhooks(ctx, api, pf, bySecret, secret)
	ids := make([]int, 0, len(hooks)+len(undeleted))
	for _, event := range pushEvents {
		ids = append(ids, hooks[event])
	}
	ids = append(ids, undeleted...) // deleted with the feed, if not by the next registration
	p.mu.Lock()
	pf.secret, pf.hooks, pf.state, pf.reason, pf.verifiedAt = secret, ids, PushOn, "", p.now()
	p.noteDoorbellLocked(pf.id, secret)
	p.mu.Unlock()
	p.log.Info("a feed's doorbells are registered", "connection", pf.conn, "room", pf.room, "webhooks", len(ids))
}

// feedWebhooks sorts the room's webhooks of feed id at base by the secret of their URL, then by
// event.
func feedWebhooks(hooks []connector.RoomWebhook, base, id string) map[string]map[string]int {
	prefix := doorbellURL(base, id, "")
	out := map[string]map[string]int{}
	for _, h := range hooks {
		secret, ok := strings.CutPrefix(h.URL, prefix)
		if !ok || secret == "" || strings.Contains(secret, "/") {
			continue
		}
		if out[secret] == nil {
			out[secret] = map[string]int{}
		}
		out[secret][h.Event] = h.ID
	}
	return out
}

// deleteOtherWebhooks deletes pf's webhooks at every secret but keep: replaced doorbells must not
// ring, and their URLs must not work. It returns the ids whose deletion failed, for pf.hooks: the
// next registration deletes them (they are in its listing), or the feed's deletion does.
func (p *Poller) deleteOtherWebhooks(ctx context.Context, api WebhookAPI, pf *pushFeed, bySecret map[string]map[string]int, keep string) (undeleted []int) {
	var ids []int
	for secret, hooks := range bySecret {
		if secret == keep {
			continue
		}
		for _, id := range hooks {
			ids = append(ids, id)
		}
	}
	return p.deleteWebhooks(ctx, api, pf, ids)
}

// deleteWebhooks deletes pf's webhooks ids and returns those whose deletion failed (logged).
func (p *Poller) deleteWebhooks(ctx context.Context, api WebhookAPI, pf *pushFeed, ids []int) (undeleted []int) {
	for _, id := range ids {
		if err := api.DeleteRoomWebhook(ctx, pf.conn, pf.ref, id); err != nil {
			p.log.Warn("deleting a feed's doorbell failed", "connection", pf.conn, "room", pf.room, "webhook", id, "err", err)
			undeleted = append(undeleted, id)
		}
	}
	return undeleted
}

// creationFailed records why pf's registration failed at the creation of a webhook, accepted being
// the webhooks HipChat created for it before, so that none of them is forgotten. The feed's
// webhooks at older URLs (bySecret) are deleted at once, as a registration that succeeds would
// have: they no longer ring. A refusal turns push off for the feed (registrationFailed), so the
// accepted ones are deleted too and the feed's secret is dropped: nothing rings a feed on plain
// polling. A failure that may pass keeps them, for the next registration to replace (it lists
// them). pf.hooks keeps what is left, which the feed's deletion deletes.
func (p *Poller) creationFailed(ctx context.Context, api WebhookAPI, pf *pushFeed, bySecret map[string]map[string]int, accepted map[string]int, err error) {
	p.registrationFailed(pf, err) // before the secret is dropped: it redacts HipChat's message of it
	var stale, kept []int
	for _, hooks := range bySecret {
		for _, id := range hooks {
			stale = append(stale, id)
		}
	}
	for _, id := range accepted {
		kept = append(kept, id)
	}
	refused := refusal(err)
	if refused {
		stale, kept = append(stale, kept...), nil
	}
	kept = append(kept, p.deleteWebhooks(ctx, api, pf, stale)...)
	p.mu.Lock()
	defer p.mu.Unlock()
	pf.hooks = kept
	if refused {
		pf.secret = ""
		p.noteDoorbellLocked(pf.id, "")
	}
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
		message := strings.TrimSpace(e.Message)
		if pf.secret != "" {
			message = strings.ReplaceAll(message, pf.secret, "[secret]") // HipChat may echo the URL
		}
		pf.state, pf.reason = PushOff, fmt.Sprintf("HipChat refused the room webhook (%s); the feed is polled", message)
	default:
		pf.state, pf.reason = PushPending, "registering the room webhooks failed for now; trying again next tick"
		return
	}
	p.log.Info("push is off for a feed", "connection", pf.conn, "room", pf.room, "reason", pf.reason)
}

// refusal reports whether err is HipChat refusing a webhook call for good (registrationFailed
// turns push off for it), not a failure that may pass.
func refusal(err error) bool {
	switch connector.KindOf(err) {
	case connector.KindScopeMissing, connector.KindBadRequest, connector.KindNotFound, connector.KindTokenRejected:
		return true
	}
	return false
}

// verify checks that a registered feed's webhooks (on or trusted) are still there. When one is
// gone they are registered again at once from the same listing, with a new secret (the feed is
// polled as usual until its doorbells prove themselves again), or at the next turn when HipChat's
// budget is down to the actions' share. When HipChat refuses the check (the token lost
// admin_room), push is off for the feed and it is polled.
func (p *Poller) verify(ctx context.Context, api WebhookAPI, base string, pf *pushFeed) {
	existing, err := api.ListRoomWebhooks(ctx, pf.conn, pf.ref)
	if err != nil {
		if refusal(err) {
			// The token lost admin_room (or HipChat refuses the room): the check would be refused
			// at every turn, and the doorbells can no longer be trusted. The feed is polled.
			p.registrationFailed(pf, err)
		}
		return // a failure that may pass: next time
	}
	p.mu.Lock()
	events := feedWebhooks(existing, base, pf.id)[pf.secret]
	pf.verifiedAt = p.now()
	complete := pf.secret != ""
	for _, event := range pushEvents {
		if _, ok := events[event]; !ok {
			complete = false
		}
	}
	if complete {
		p.mu.Unlock()
		return
	}
	pf.state, pf.reason = PushPending, "its room webhooks disappeared; polled until they are registered again"
	p.mu.Unlock()
	p.log.Warn("a feed's doorbells are gone: it is polled until they are registered again", "connection", pf.conn, "room", pf.room)
	if !p.actionsShareReached(pf.conn) {
		p.registerListed(ctx, api, base, pf, existing)
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
