package poller

// DefaultMaxPending is the bound of the bounded outbox (Options.MaxPending): pending deliveries
// of one subscription.
const DefaultMaxPending = 10_000

// The bounded outbox. A subscription whose receiver is down (or paused) gathers pending
// deliveries; at MaxPending of them its cursor stops: the poller reads its feed without it and
// stores nothing more for it. Nothing is dropped — HipChat keeps the history, and the cursor
// marks where the subscription stands in it. When deliveries drain below the bound, reading for
// it resumes from its cursor, at most up to the bound each time.
//
// A subscription that was held, or whose share of a read was cut at the bound, is behind the
// others of its feed ("lagging"). It catches up with a read of its own, one more HipChat call
// per turn of the feed, from its cursor: the feed's other subscriptions keep their read from
// their own, current cursors, so they neither wait for it nor read again what it needs. Once a
// read for it finds nothing more waiting, it is current and shares the feed's one read again.
// When a restart forgot which subscriptions lag, the first read that starts behind a
// subscription it cannot reach ("stalled": its cursor lies beyond what the read returned) finds
// out: the stalled ones get a read of their own at once, the ones behind are marked lagging.

// backlog is what the poller knows of one subscription's pending deliveries. It is kept with the
// subscription between ticks, under the poller's lock, and carried over when the subscription is
// read from the store again.
type backlog struct {
	// pending is the store's last count plus the events the poller queued since: never below the
	// true count but for resends and recoveries, which the next count sees.
	pending int
	counted bool // pending holds a count (a subscription read anew has none yet)
	held    bool // at the bound when last counted: its feed is read without it
	lagging bool // behind its feed's other subscriptions: read on its own until current
}

// needsCount reports whether the store must count b's subscription before a read: never counted,
// or at the bound by what the poller knows.
func (b backlog) needsCount(bound int) bool { return !b.counted || b.pending >= bound }

// countBacklogs counts, in the store, the pending deliveries of the subscriptions of subs whose
// backlog needs it, and marks each held or not; a failed count keeps what was known (a
// subscription never counted is read, as before the bound existed: the next read counts again).
func (p *Poller) countBacklogs(subs []*watched) {
	var need []*watched
	p.mu.Lock()
	for _, w := range subs {
		if w.backlog.needsCount(p.maxPending) {
			need = append(need, w)
		}
	}
	p.mu.Unlock()
	for _, w := range need {
		p.recount(w)
	}
}

// recount asks the store for w's pending deliveries and updates its backlog; it returns the
// room left under the bound (≤ 0: held).
func (p *Poller) recount(w *watched) int {
	n, err := p.store.PendingCount(w.sub.ID)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.log.Warn("counting a subscription's pending deliveries failed", "subscription", w.sub.ID, "err", err)
		return p.maxPending - w.backlog.pending
	}
	b := &w.backlog
	b.pending, b.counted = n, true
	held := n >= p.maxPending
	switch {
	case held && !b.held:
		p.log.Warn("a subscription's outbox is at its bound: its cursor waits (HipChat keeps the history) until its deliveries drain",
			"subscription", w.sub.ID, "pending", n, "bound", p.maxPending)
	case !held && b.held:
		p.log.Info("a held subscription's outbox drained below its bound: reading for it resumes from its cursor",
			"subscription", w.sub.ID, "pending", n, "bound", p.maxPending)
	}
	b.held = held
	if held {
		b.lagging = true
	}
	return p.maxPending - n
}

// readGroups splits a feed's subscriptions into its reads: the current ones share the first read;
// the lagging ones (but held) share a second read from their own cursors. Held subscriptions are in
// neither. When none is current, the lagging ones make the one read.
func (p *Poller) readGroups(f *feed) [][]*watched {
	p.countBacklogs(f.subs)
	p.mu.Lock()
	defer p.mu.Unlock()
	var current, lagging []*watched // nil current: every one so far is current
	for i, w := range f.subs {
		switch {
		case w.backlog.held || w.backlog.lagging:
			if current == nil {
				current = append(make([]*watched, 0, len(f.subs)), f.subs[:i]...)
			}
			if !w.backlog.held {
				lagging = append(lagging, w)
			}
		case current != nil:
			current = append(current, w)
		}
	}
	if current == nil {
		return [][]*watched{f.subs} // every one current: the usual case, without a copy
	}
	switch {
	case len(current) == 0 && len(lagging) == 0:
		return nil
	case len(current) == 0:
		return [][]*watched{lagging}
	case len(lagging) == 0:
		return [][]*watched{current}
	}
	return [][]*watched{current, lagging}
}

// take is w's share of a read after the catch-up bound: kept are the events to queue, note says
// what the catch-up bound skipped, and whole is false when the outbox's bound cut kept short
// (then the cursor must stop at kept's last event; kept empty: it does not move at all).
func (p *Poller) take(w *watched, found []candidate) (kept []candidate, note string, whole bool) {
	kept, note = p.bound(found, p.now())
	if note != "" {
		p.log.Warn("catch-up bound skipped events", "subscription", w.sub.ID, "note", note)
	}
	if len(kept) == 0 {
		return kept, note, true
	}
	p.mu.Lock()
	room := p.maxPending - w.backlog.pending
	p.mu.Unlock()
	if len(kept) > room {
		room = p.recount(w)
	}
	if len(kept) <= room {
		return kept, note, true
	}
	if room <= 0 {
		return nil, note, false
	}
	p.log.Info("a subscription's share of a read was cut at its outbox's bound; the rest is read when deliveries drain",
		"subscription", w.sub.ID, "queued", room, "left_for_later", len(kept)-room)
	return kept[:room], note, false
}

// settle records, once a read's commit is written, what it did to a subscription's backlog:
// queued more events; cut at the bound, or found behind others of the read (behind: lagging);
// or read up to what waits (more false: current again). Called under the poller's lock.
func (b *backlog) settle(queued int, whole, more, behind bool) {
	b.pending += queued
	switch {
	case !whole || behind:
		b.lagging = true
	case !more:
		b.lagging = false
	}
}

// heldSubscriptions counts the subscriptions whose outbox is at its bound, for the metric.
func (p *Poller) heldSubscriptions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, w := range p.set.byID {
		if w.backlog.held {
			n++
		}
	}
	return n
}

// keepBacklogs carries each subscription's backlog from old (the set before a refresh) into fresh.
// Called under the poller's lock.
func keepBacklogs(old, fresh map[string]*watched) {
	for id, w := range fresh {
		if was, ok := old[id]; ok {
			w.backlog = was.backlog
		}
	}
}
