package etcd

import "time"

// Every writer of a subscription's ready entries goes through putReady, delReady and clearReady,
// which note the subscription's head before its first change; finishHeads, run by updateTx before
// every commit, moves its heads/ entry to its earliest ready entry after them, once per
// subscription however many entries the transaction changed. Those writers all rewrite the
// subscription's outbox key (touchOutbox), so the range reads behind the heads are as safe against
// other writers as the queue itself.

// readyChange is a subscription's head before the transaction changed its ready entries.
type readyChange struct {
	old     time.Time
	had     bool
	cleared bool // every entry deleted (clearReady)
}

// touchReady notes subID's head before the transaction's first change to its ready entries.
func (t *tx) touchReady(subID string) error {
	if _, ok := t.ready[subID]; ok {
		return nil
	}
	at, had, err := t.readyHead(subID)
	if err != nil {
		return err
	}
	t.ready[subID] = &readyChange{old: at, had: had}
	return nil
}

// readyHead is the due time of subID's earliest ready entry as the transaction sees it; ok is false
// when it has none.
func (t *tx) readyHead(subID string) (at time.Time, ok bool, err error) {
	dir := t.s.readyDir(subID)
	k, _, ok, err := t.first(dir)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	at, _, err = parseReadyKey(dir, k)
	return at, err == nil, err
}

// putReady makes delivery seq of subID ready at at.
func (t *tx) putReady(subID string, at time.Time, seq uint64) error {
	if err := t.touchReady(subID); err != nil {
		return err
	}
	t.put(t.s.readyKey(subID, at, seq), nil)
	return nil
}

// delReady takes delivery seq of subID, ready at at, out of ready/.
func (t *tx) delReady(subID string, at time.Time, seq uint64) error {
	if err := t.touchReady(subID); err != nil {
		return err
	}
	t.del(t.s.readyKey(subID, at, seq))
	return nil
}

// clearReady deletes every ready entry of subID (DeleteSubscription).
func (t *tx) clearReady(subID string) error {
	if err := t.touchReady(subID); err != nil {
		return err
	}
	t.deletePrefix(t.s.readyDir(subID))
	t.ready[subID].cleared = true
	return nil
}

// finishHeads moves the heads/ entry of each subscription whose ready entries the transaction
// changed to its earliest one now (none when it has none left).
func (t *tx) finishHeads() error {
	for id, c := range t.ready {
		var now time.Time
		has := false
		if !c.cleared {
			var err error
			if now, has, err = t.readyHead(id); err != nil {
				return err
			}
		}
		if c.had == has && (!has || now.Equal(c.old)) {
			continue
		}
		if c.had {
			t.del(t.s.headKey(c.old, id))
		}
		if has {
			t.put(t.s.headKey(now, id), nil)
		}
	}
	return nil
}
