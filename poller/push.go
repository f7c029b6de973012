package poller

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Push makes HipChat room webhooks doorbells for the message and file feeds: each feed gets one
// webhook per event it needs (room_message, room_notification, room_file_upload) at
// {URL}/hipchat/rooms/{feed id}/{feed secret}. The secret is random and the feed's own, made when
// its webhooks are registered and replaced when they are registered again (the old URL then
// answers 404); a restarted process takes it up from the webhooks HipChat lists. A call there says
// "read this feed now"; the feed is read through the same cursor-and-outbox path as a tick (the
// payload is never taken as the event: it only tells a doorbell for a message the feed's every
// subscription has passed, which costs nothing). When a doorbell reads, and how rings are gathered
// into one read in a burst, is doorbell.go's. A feed whose doorbells are
// trusted — a doorbell was followed by a read that found something — is read by ticks only every
// Reconcile; it loses that trust when such a reconcile read finds an event no doorbell announced, or
// when its webhooks are found gone. A registered feed's webhooks, trusted or not, are checked every
// verifyEvery reconcile intervals, and registered again when they are gone. A token without
// admin_room, or a HipChat that refuses the registration, leaves the feed on plain polling, with
// the reason in PushStatus.

// DefaultReconcile is how often a feed on trusted push is read anyway.
const DefaultReconcile = 5 * time.Minute

// verifyEvery is how many reconcile intervals pass between two checks that a registered feed's
// webhooks (on or trusted) are still there (one listing call).
const verifyEvery = 6

// pushEvents are the room webhook events that announce new history.
var pushEvents = []string{"room_message", "room_notification", "room_file_upload"}

// WebhookAPI registers room webhooks; *connector.Client is one.
type WebhookAPI interface {
	CreateRoomWebhook(ctx context.Context, conn connector.Connection, room string, hook connector.RoomWebhook) (int, error)
	ListRoomWebhooks(ctx context.Context, conn connector.Connection, room string) ([]connector.RoomWebhook, error)
	DeleteRoomWebhook(ctx context.Context, conn connector.Connection, room string, id int) error
}

// PushOptions turn push on (Options.Push, or EnablePush once the public URL is known).
type PushOptions struct {
	// URL is the connector's public base URL, where HipChat calls the doorbells. Empty: push off.
	URL string
	// Webhooks registers and deletes the room webhooks (the *connector.Client).
	Webhooks WebhookAPI
	// Reconcile is how often a trusted feed is read anyway (DefaultReconcile).
	Reconcile time.Duration
}

// Push states, as PushStatus reports them.
const (
	PushPending = "pending" // registration not done yet (or failed for a reason that may pass)
	PushOn      = "on"      // registered; polled as usual until a doorbell proves itself
	PushTrusted = "trusted" // doorbells arrive: polled only every Reconcile
	PushOff     = "off"     // cannot register: plain polling, see the reason
)

// pushFeed is the push state of one message/file feed.
type pushFeed struct {
	id     string
	secret string // "" until its webhooks are registered (or taken up from HipChat's list)
	key    feedKey
	conn   connector.Connection
	room   string // the room as its subscriptions gave it (the feed's key), for the log
	// ref names the room in its webhook calls: its id once a subscription of the feed has it
	// resolved (feedRoomRef), so that a room subscribed by its name keeps its webhooks when renamed.
	ref        string
	state      string
	reason     string
	hooks      []int     // the registered webhooks' ids
	verifiedAt time.Time // when its registration was last seen
	announced  bool      // a doorbell rang since the last read
	doorbell   doorbellState
}

// pushState is the poller's push state, under the poller's lock.
type pushState struct {
	opts  PushOptions
	byID  map[string]*pushFeed
	byKey map[feedKey]*pushFeed
	locks map[feedKey]*sync.Mutex // one read of a feed at a time, tick or doorbell
	// lastRing is when a doorbell of each connection's feeds last rang (doorbell.go).
	lastRing map[string]time.Time
	// changes are the doorbell secrets set or dropped here (feed id → digest, "" dropped), the
	// latest of each feed, until DoorbellChanges takes them: at most one entry a feed.
	changes map[string]string
}

// EnablePush turns push on with opts (the public URL is known only once the server listens). A
// second call changes nothing.
func (p *Poller) EnablePush(opts PushOptions) {
	if opts.URL == "" || opts.Webhooks == nil {
		return
	}
	if opts.Reconcile <= 0 {
		opts.Reconcile = DefaultReconcile
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.push.opts.URL != "" {
		return
	}
	p.push = pushState{opts: opts, byID: map[string]*pushFeed{}, byKey: map[feedKey]*pushFeed{}, locks: map[feedKey]*sync.Mutex{},
		lastRing: map[string]time.Time{}}
}

// pushOnLocked reports whether push is on.
func (p *Poller) pushOnLocked() bool { return p.push.opts.URL != "" }

// feedID names a feed in its doorbell URL without telling its connection or room.
func feedID(key feedKey) string {
	sum := sha256.Sum256([]byte(key.conn + "\x00" + key.room))
	return hex.EncodeToString(sum[:12])
}

// newFeedSecret is the unguessable part of a feed's doorbell URL, new at each registration.
func newFeedSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return hex.EncodeToString(b)
}

// PushStatus returns the push state of connection's feed of room, and why it is off; ok is false
// when push is off altogether or the feed is not a push feed.
func (p *Poller) PushStatus(connectionID, room string) (state, reason string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pf := p.push.byKey[feedKey{connectionID, room}]
	if pf == nil {
		return "", "", false
	}
	return pf.state, pf.reason, true
}

// Ring is a doorbell: HipChat called the webhook URL of feed id with secret and payload. A feed
// this process knows and owns, with that secret, gets a read (or a place in the next one,
// coalesced), unless payload announces a message every subscription of the feed has passed, which
// costs nothing; either way Ring returns true. Anything else returns false, having cost nothing.
func (p *Poller) Ring(id, secret string, payload []byte) bool {
	p.mu.Lock()
	pf := p.push.byID[id]
	if pf == nil || pf.secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(pf.secret)) != 1 || !p.ownsFeed(pf.key) {
		p.mu.Unlock()
		p.metrics.doorbells.WithLabelValues("refused").Inc()
		return false
	}
	ann, ok := announcedMessage(payload)
	if ok && p.passedLocked(pf.key, ann) {
		p.mu.Unlock()
		p.metrics.doorbells.WithLabelValues("passed").Inc()
		return true
	}
	pf.doorbell.announce(ann, ok)
	p.ringLocked(pf)
	return true
}

// RingForwarded rings feed id's doorbell when this replica knows the feed and owns it, for a
// doorbell another replica received and checked against the feed's published secret; false
// otherwise, ringing nothing.
func (p *Poller) RingForwarded(id string) bool {
	p.mu.Lock()
	pf := p.push.byID[id]
	if pf == nil || !p.ownsFeed(pf.key) {
		p.mu.Unlock()
		return false
	}
	p.ringLocked(pf)
	return true
}

// DoorbellChanges returns the changes of this replica's feeds' doorbell secrets since its last
// call, for the other replicas: feed id → its secret's digest (SecretDigest) when this replica
// registered its doorbells or took them up, "" when the feed is gone and its doorbells deleted; the
// latest change of each feed only.
func (p *Poller) DoorbellChanges() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	changes := p.push.changes
	p.push.changes = nil
	return changes
}

// noteDoorbellLocked queues a change of feed id's secret for DoorbellChanges ("" for gone).
func (p *Poller) noteDoorbellLocked(id, secret string) {
	digest := ""
	if secret != "" {
		digest = SecretDigest(secret)
	}
	if p.push.changes == nil {
		p.push.changes = map[string]string{}
	}
	p.push.changes[id] = digest
}

// SecretDigest is the published form of a doorbell secret: its SHA-256, hex.
func SecretDigest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// afterRead updates a feed's read time and, for a push feed, its trust: a read after a doorbell that
// found something proves the doorbells; a tick's read that found what no doorbell announced
// disproves them. st is the connection's state when a tick read the feed (its lag is observed), nil
// for a doorbell's read.
func (p *Poller) afterRead(key feedKey, st *connState, found int, err error, doorbell bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		return
	}
	if st == nil {
		st = p.conns[key.conn]
	}
	if st != nil {
		now := p.now()
		if last, ok := st.lastRead[key]; ok && !doorbell {
			p.metrics.feedLag.Observe(now.Sub(last).Seconds())
		}
		st.lastRead[key] = now
	}
	pf := p.push.byKey[key]
	if pf == nil {
		return
	}
	announced := pf.announced
	pf.announced = pf.doorbell.lastRing.After(pf.doorbell.started) // rang during the read: not read yet
	switch {
	case found > 0 && (doorbell || announced) && pf.state == PushOn:
		// A doorbell rang and a read (its own, or a tick's when the budget made it wait) found
		// what it announced.
		pf.state = PushTrusted
		p.log.Info("a feed's doorbells work: it is read on doorbells, and polled only to reconcile", "connection", pf.conn, "room", pf.room)
	case !doorbell && found > 0 && !announced && pf.state == PushTrusted:
		pf.state = PushOn
		p.metrics.missedEvents.Add(float64(found))
		p.log.Warn("a reconcile read found events no doorbell announced: the feed is polled again until its doorbells prove themselves",
			"connection", pf.conn, "room", pf.room, "events", found)
	}
}

// feedLocked returns the current feed of key, nil when none.
func (p *Poller) feedLocked(key feedKey) *feed {
	p.groupsLocked()
	return p.set.byFeed[key]
}

// feedLockLocked returns the mutex that serializes the reads of feed f, a tick's and a doorbell's;
// the feed keeps it, so that a read finds it without a look-up.
func (p *Poller) feedLockLocked(f *feed) *sync.Mutex {
	if f.lock != nil {
		return f.lock
	}
	if p.push.locks == nil {
		p.push.locks = map[feedKey]*sync.Mutex{}
	}
	l := p.push.locks[f.key]
	if l == nil {
		l = &sync.Mutex{}
		p.push.locks[f.key] = l
	}
	f.lock = l
	return l
}

// ringingLocked reports whether a doorbell read of feed f is waiting (in a burst, for it to end) or
// running: a tick leaves the feed to it.
func (p *Poller) ringingLocked(f *feed) bool {
	pf := p.push.byKey[f.key]
	return pf != nil && pf.doorbell.pending
}

// waitingSinceLocked is when ringing feed f was last read, or when its doorbell read was queued if
// that is later, on the poller's clock: the start of its poll turn.
func (p *Poller) waitingSinceLocked(f *feed, st *connState) time.Time {
	last := st.lastRead[f.key]
	if pf := p.push.byKey[f.key]; pf != nil && pf.doorbell.queuedAt.After(last) {
		return pf.doorbell.queuedAt
	}
	return last
}

// burstingLocked reports whether a doorbell of one of connection id's feeds rang within the last
// busyQuiet (wall-clock, as doorbells are): the token's rooms are in a burst.
func (p *Poller) burstingLocked(id string) bool {
	last, ok := p.push.lastRing[id]
	return ok && time.Since(last) < busyQuiet
}

// trustedLocked reports whether feed f is on trusted push (and no doorbell waits on it).
func (p *Poller) trustedLocked(f *feed) bool {
	pf := p.push.byKey[f.key]
	return pf != nil && pf.state == PushTrusted && !pf.announced
}

// pushFeedsByState counts the push feeds this replica owns by state. A feed that moved to another
// replica keeps its entry here (should it come back), but is the new owner's to count.
func (p *Poller) pushFeedsByState() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := map[string]int{}
	for key, pf := range p.push.byKey {
		if p.ownsFeed(key) {
			n[pf.state]++
		}
	}
	return n
}

// PushState is one feed's push state and why it is off, as PushStatus tells it.
type PushState struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// PushStates returns the push state of every push feed, by connection and room, in one pass;
// empty when push is off.
func (p *Poller) PushStates() map[string]map[string]PushState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]map[string]PushState{}
	for key, pf := range p.push.byKey {
		if out[key.conn] == nil {
			out[key.conn] = map[string]PushState{}
		}
		out[key.conn][key.room] = PushState{State: pf.state, Reason: pf.reason}
	}
	return out
}
