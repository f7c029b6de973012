package poller

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// watched is one polled subscription as the poller keeps it between ticks: the subscription (its
// token in clear) and its cursor, decoded once.
//
// The fields an idle read looks at come first, together, and the large stored subscription after
// them: a tick reads every feed's few watched values once, far apart in memory, and each cache line
// it loads costs (BENCHMARKS.md, idle tick).
type watched struct {
	msg      triggers.MessageCursor // kinds message and file
	baseline bool                   // no readable cursor: the next read starts from now
	// roomToSave says that sub.Room was resolved by this poller (the subscription was stored before
	// rooms were resolved) and the feed's next commit stores it.
	roomToSave bool
	backlog    backlog // its pending deliveries and the outbox's bound (backlog.go)
	// filter is the subscription's filter, compiled once (nil keeps every message); filterErr says
	// why a stored filter could not be compiled, and then nothing of the feed is delivered to it.
	filter    *triggers.Filter
	filterErr error
	sub       state.Subscription
	room      triggers.RoomCursor // kind room
}

// newWatched decodes sub's stored cursor; one that is missing or unreadable means "from now".
func newWatched(sub state.Subscription) *watched {
	w := &watched{sub: sub}
	w.filter, w.filterErr = sub.Filter.Compile()
	if len(sub.Cursor) == 0 {
		w.baseline = true
		return w
	}
	var err error
	if sub.Kind.Room() {
		w.msg, err = triggers.DecodeMessageCursor(sub.Cursor)
	} else {
		w.room, err = triggers.DecodeRoomCursor(sub.Cursor)
	}
	w.baseline = err != nil
	return w
}

// feed is one upstream read: a room's history (room != "") or the room list (room == "").
type feed struct {
	key  feedKey
	room string
	subs []*watched
	lock *sync.Mutex // its reads' mutex, once looked up (feedLockLocked)
}

// subscriptionIDs are the ids of the subscriptions f feeds, for the log.
func (f *feed) subscriptionIDs() []string {
	ids := make([]string, len(f.subs))
	for i, w := range f.subs {
		ids[i] = w.sub.ID
	}
	return ids
}

// feedKey names a feed: a connection id and a room ("" for the room list).
type feedKey struct{ conn, room string }

func (f *feed) String() string {
	if f.room == "" {
		return "room list"
	}
	return "room " + f.room + " history"
}

// connectionFeeds are the feeds of one connection and every subscription they hold.
type connectionFeeds struct {
	conn  connector.Connection
	subs  []*watched
	feeds []*feed
}

// watchedSet is the polled subscriptions by id, and their grouping into feeds, rebuilt only when the
// set changes.
type watchedSet struct {
	byID   map[string]*watched
	groups []*connectionFeeds // nil: rebuild
	byFeed map[feedKey]*feed  // the feeds of groups
}

// Changed tells the poller that subscription id changed (created, deleted, paused, resumed…): it is
// read from the store again before the next tick. The API calls it; the poller also reads every
// subscription again every Resync, for changes made elsewhere.
func (p *Poller) Changed(id string) {
	p.mu.Lock()
	p.changed[id] = true
	push := p.pushOnLocked() && !p.stopping
	if push {
		p.runs.Add(1) // under mu: Run's stopping and Wait come after it, or it is not added
	}
	p.mu.Unlock()
	if push {
		// A new feed's doorbells are registered now, not at the next tick: its first events come by
		// push.
		go func() {
			defer p.runs.Done()
			p.registerSoon(id)
		}()
	}
}

// Reload makes the next tick read every subscription from the store again, as at a Resync: serve
// calls it when the replicas sharing the state change, so the feeds this replica gains are polled
// from their stored cursors (another replica advanced them) and with the subscriptions other
// replicas created.
func (p *Poller) Reload() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loadedAt = time.Time{}
}

// TickSoon is Reload and one more tick of Run now, out of schedule: the replicas changed, and the
// feeds this replica now owns are read at once rather than at the next scheduled tick (a new owner
// also registers their doorbells then). Kicks while one is pending are one; without Run, nothing
// happens but the Reload.
func (p *Poller) TickSoon() {
	p.Reload()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// refresh brings the set up to date at now and returns its grouping: the whole set is read on the
// first tick and every Resync; otherwise only the subscriptions Changed named are read again.
func (p *Poller) refresh(now time.Time) ([]*connectionFeeds, error) {
	p.mu.Lock()
	full := p.loadedAt.IsZero() || now.Sub(p.loadedAt) >= p.resync
	var ids []string
	if !full {
		for id := range p.changed {
			ids = append(ids, id)
		}
	}
	p.changed = map[string]bool{}
	p.mu.Unlock()

	if full {
		subs, err := p.store.PolledSubscriptions()
		if err != nil {
			return nil, err
		}
		byID := make(map[string]*watched, len(subs))
		for _, sub := range subs {
			byID[sub.ID] = newWatched(sub)
		}
		p.mu.Lock()
		keepBacklogs(p.set.byID, byID)
		p.set = watchedSet{byID: byID}
		p.loadedAt = now
		groups := p.groupsLocked()
		p.mu.Unlock()
		return groups, nil
	}

	fresh := map[string]*watched{}
	gone := map[string]bool{}
	for _, id := range ids {
		sub, err := p.store.Subscription(id)
		switch {
		case errors.Is(err, state.ErrNotFound):
			gone[id] = true
		case err != nil:
			p.mu.Lock()
			p.changed[id] = true // try again next tick
			p.mu.Unlock()
			p.log.Warn("reading a changed subscription failed", "subscription", id, "err", err)
		case sub.Status == state.StatusActive || sub.Status == state.StatusPaused:
			fresh[id] = newWatched(sub)
		default:
			gone[id] = true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(fresh) > 0 || len(gone) > 0 {
		for id := range gone {
			delete(p.set.byID, id)
		}
		keepBacklogs(p.set.byID, fresh)
		for id, w := range fresh {
			p.set.byID[id] = w
		}
		p.set.groups = nil
	}
	return p.groupsLocked(), nil
}

// groupsLocked returns the grouping of the set into connections and feeds, in a stable order,
// building it when the set changed.
func (p *Poller) groupsLocked() []*connectionFeeds {
	if p.set.groups != nil {
		return p.set.groups
	}
	byConn := map[string]*connectionFeeds{}
	byFeed := map[feedKey]*feed{}
	for _, w := range p.set.byID {
		conn := connector.NewConnection(w.sub.Token, w.sub.HipChatURL)
		cf := byConn[conn.ID]
		if cf == nil {
			cf = &connectionFeeds{conn: conn}
			byConn[conn.ID] = cf
		}
		cf.subs = append(cf.subs, w)
		room := ""
		if w.sub.Kind.Room() {
			room = w.sub.RoomID
		}
		key := feedKey{conn.ID, room}
		f := byFeed[key]
		if f == nil {
			f = &feed{key: key, room: room}
			byFeed[key] = f
			cf.feeds = append(cf.feeds, f)
		}
		f.subs = append(f.subs, w)
	}
	groups := make([]*connectionFeeds, 0, len(byConn))
	for _, cf := range byConn {
		sort.Slice(cf.feeds, func(i, j int) bool { return cf.feeds[i].room < cf.feeds[j].room })
		for _, f := range cf.feeds {
			sort.Slice(f.subs, func(i, j int) bool { return f.subs[i].sub.ID < f.subs[j].sub.ID })
		}
		groups = append(groups, cf)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].conn.ID < groups[j].conn.ID })
	p.set.groups, p.set.byFeed = groups, byFeed
	for id, st := range p.conns { // connections no subscription polls any more
		if byConn[id] == nil && !st.running {
			delete(p.conns, id)
		}
	}
	for id := range p.push.lastRing {
		if byConn[id] == nil {
			delete(p.push.lastRing, id)
		}
	}
	return groups
}

// forget drops the subscriptions of a connection from the set (after suspending them).
func (p *Poller) forget(cf *connectionFeeds) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range cf.subs {
		delete(p.set.byID, w.sub.ID)
	}
	p.set.groups = nil
}

// owned returns cf with only the feeds this replica owns (Options.Owns), and their subscriptions;
// cf itself when it owns them all (always without Owns), nil when it owns none.
func (p *Poller) owned(cf *connectionFeeds) *connectionFeeds {
	if p.owns == nil {
		return cf
	}
	var feeds []*feed
	for _, f := range cf.feeds {
		if p.owns(f.key.conn, f.key.room) {
			feeds = append(feeds, f)
		}
	}
	switch len(feeds) {
	case len(cf.feeds):
		return cf
	case 0:
		return nil
	}
	mine := &connectionFeeds{conn: cf.conn, feeds: feeds}
	for _, f := range feeds {
		mine.subs = append(mine.subs, f.subs...)
	}
	return mine
}

// ownsFeed reports whether this replica owns the feed key (always without Options.Owns).
func (p *Poller) ownsFeed(key feedKey) bool {
	return p.owns == nil || p.owns(key.conn, key.room)
}
