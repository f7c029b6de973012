package poller

import (
	"context"
	"sync"
	"time"
)

// When a doorbell reads. HipChat rings a feed's doorbell once per message, so a burst of messages
// rings it hundreds of times; a read per ring would spend a token's budget (75 background calls in
// any 61 s) on reads that each find a few messages, where one read after the burst takes them all
// (up to HipChat's page of 1,000, and further pages by date). So:
//
//   - A ring on a quiet feed reads ringGather after it: long enough to see whether more rings follow
//     (of the feed, or of any feed of the same token: then the feed is busy, below), short enough
//     not to be felt.
//   - A ring while the feed's read is waiting or running, or within ringQuiet of the ring before it
//     on any feed of the same token (a bot posting in many rooms bursts them all), makes the feed
//     busy: its next doorbell read waits until its rings have stopped for busyQuiet. While a doorbell
//     read is waiting, a tick reads the feed only when its poll turn is overdue (the plan's expected
//     lag since its last read, or since the read began to wait if that is later: a trusted feed's
//     last read may be long past), so a room that never goes quiet is read as often as polling would
//     read it, never more. Nor does a tick spend a reconcile read on the token's trusted feeds while
//     its doorbells ring (their reads are coming).
//     A read that no ring interrupted makes the feed quiet again.
//   - A read that found nothing its doorbells announced (a replayed or forged doorbell) paces the
//     feed's doorbells to one read per ringInterval, until a read finds something again: a leaked URL
//     costs at most what a busy room's honest doorbells would.
//   - A doorbell read is left out when a read of the feed (a tick's) started after the last ring: it
//     saw everything the rings announced.
//
// The times are wall-clock: HipChat's webhook calls arrive in real time.
const (
	ringGather   = 10 * time.Millisecond
	ringQuiet    = 100 * time.Millisecond
	busyQuiet    = 500 * time.Millisecond
	ringInterval = 2 * time.Second
)

// doorbellState is when a feed's doorbells rang and were read, under the poller's lock.
type doorbellState struct {
	pending   bool      // a doorbell read is waiting or running (answerDoorbell)
	inRead    bool      // that read is running
	again     bool      // rang while the read was running
	busy      bool      // rang while a read was waiting or running, or just after a ring: wait for busyQuiet
	paced     bool      // the last doorbell read found nothing announced: one read per ringInterval
	firstRing time.Time // the ring that queued the pending read
	queuedAt  time.Time // the same moment on the poller's clock (Options.Now), for its ticks
	lastRing  time.Time
	readAt    time.Time // when the last doorbell read started
	started   time.Time // when the last read of the feed, a tick's or a doorbell's, started
	// ann is the newest message the rings since the last doorbell read's start announced; annOK
	// false when none named one (a payload without a message: nothing to hold the read against).
	ann   announcement
	annOK bool
}

// announce keeps ann as the newest message announced since the read began.
func (d *doorbellState) announce(ann announcement, ok bool) {
	if ok && (!d.annOK || ann.date.After(d.ann.date)) {
		d.ann, d.annOK = ann, true
	}
}

// due is when the pending doorbell read starts.
func (d *doorbellState) due() time.Time {
	switch {
	case d.paced:
		return d.readAt.Add(ringInterval)
	case d.busy:
		return d.lastRing.Add(busyQuiet)
	default:
		return d.firstRing.Add(ringGather)
	}
}

// ringLocked notes a ring of pf at now and queues its read, or gathers the ring into the read that
// is waiting or running. It unlocks p.mu.
func (p *Poller) ringLocked(pf *pushFeed) {
	now := time.Now()
	d := &pf.doorbell
	pf.announced = true
	previous := p.push.lastRing[pf.key.conn] // of any feed of the token
	p.push.lastRing[pf.key.conn] = now
	d.lastRing = now
	if p.stopping {
		p.mu.Unlock() // Run is ending: the feed stays announced and is read at the next start
		p.metrics.doorbells.WithLabelValues("accepted").Inc()
		return
	}
	result := ""
	switch {
	case d.inRead:
		d.again, result = true, "coalesced"
	case d.pending:
		d.busy, result = true, "coalesced"
	default:
		d.pending, d.firstRing, d.queuedAt = true, now, p.now()
		d.busy = now.Sub(previous) < ringQuiet
		switch {
		case d.paced && now.Before(d.due()):
			result = "paced"
		case d.busy:
			result = "coalesced"
		}
		p.runs.Add(1) // under mu: Run's stopping and Wait come after it, or it is not added
		go p.answerDoorbell(pf)
	}
	p.mu.Unlock()
	p.metrics.doorbells.WithLabelValues("accepted").Inc()
	if result != "" {
		p.metrics.doorbells.WithLabelValues(result).Inc()
	}
}

// answerDoorbell reads pf's feed when its doorbell read is due, and once more after each read its
// doorbells rang during; it reads no more once Run is stopping.
func (p *Poller) answerDoorbell(pf *pushFeed) {
	defer p.runs.Done()
	d := &pf.doorbell
	for {
		p.mu.Lock()
		if p.stopping {
			d.pending, d.busy = false, false
			p.mu.Unlock()
			return
		}
		if wait := time.Until(d.due()); wait > 0 {
			p.mu.Unlock()
			time.Sleep(wait) // rings meanwhile may move the due time on: look again
			continue
		}
		if !d.busy && !d.paced && p.push.lastRing[pf.key.conn].After(d.firstRing) {
			// Another room of the token rang during the gather: a burst over its rooms began.
			d.busy = true
			p.mu.Unlock()
			continue
		}
		if d.started.After(d.lastRing) {
			// A tick's read began after the last ring: it has read what the rings announced.
			d.pending, d.busy = false, false
			p.mu.Unlock()
			return
		}
		d.inRead, d.again = true, false
		d.readAt = time.Now()
		ann, annOK := d.ann, d.annOK // what this read answers; later rings announce the next
		d.annOK = false
		p.mu.Unlock()

		read, found, err := p.readOnDoorbell(pf)

		p.mu.Lock()
		d.inRead = false
		if read {
			// A read that found nothing is not a forgery when an earlier read already took what the
			// doorbell announced: it is passed now.
			d.paced = err == nil && found == 0 && !(annOK && p.passedLocked(pf.key, ann))
		}
		if !d.again {
			d.pending, d.busy = false, false
			p.mu.Unlock()
			return
		}
		d.busy = true // a burst: the next read once it is over
		p.mu.Unlock()
	}
}

// readOnDoorbell reads pf's feed, unless it is gone, another replica owns it, or HipChat's budget
// is down to the actions' share (then it stays announced and the connection's next turn reads it,
// once the window allows). read reports whether it read.
func (p *Poller) readOnDoorbell(pf *pushFeed) (read bool, found int, err error) {
	p.mu.Lock()
	f := p.feedLocked(pf.key)
	conn := pf.conn // a turn's syncPush may replace it (under p.mu)
	var lock *sync.Mutex
	if f != nil {
		lock = p.feedLockLocked(f)
	}
	p.mu.Unlock()
	if f == nil || !p.ownsFeed(pf.key) || p.actionsShareReached(conn) {
		// Another replica owns the feed (HipChat called this one): its owner's next turn reads it;
		// a read here would commit to a feed this replica does not own.
		return false, 0, nil
	}
	lock.Lock()
	p.readStarting(pf)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	found, err = p.pollFeed(ctx, conn, f)
	cancel()
	lock.Unlock()
	p.metrics.pushReads.Inc()
	p.afterRead(pf.key, nil, found, err, true)
	return true, found, err
}

// readStarting notes that a read of pf's feed begins, under the feed's lock: a doorbell read due
// for rings before it is no longer needed. A nil pf (not a push feed) notes nothing.
func (p *Poller) readStarting(pf *pushFeed) {
	if pf == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pf.doorbell.started = time.Now()
}
