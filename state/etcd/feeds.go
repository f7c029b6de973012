package etcd

import (
	"errors"
	"fmt"
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// Bounds of one transaction of a split commit: each event is at most four
// operations (log, ids, pending, due), a cursor one.
const (
	eventsPerTxn       = 24
	eventBytesPerTxn   = 512 << 10
	cursorsPerTxn      = 100
	maxEventValueBytes = 600 << 10 // base64 of a non-JSON payload stays under 1 MiB
)

// CommitFeed records the result of one feed read, as
// bolt.Store.CommitFeed does: for each advance whose subscription exists
// and is polled, it sets the cursor (unless nil) and appends one pending
// delivery per event (id state.DeliveryID), due now, skipping events already
// in the subscription's outbox; advances of deleted, suspended or disabled
// subscriptions are skipped.
//
// A feed that fits one etcd transaction is written in one. A bigger one is
// split: first every event, in order, a few dozen per transaction, then the
// cursors. A crash in between leaves cursors behind events already queued,
// never ahead of one not yet written; the next read queues nothing twice
// because the ids index dedupes.
//
// Errors: state.ErrInvalid when an event has an empty ID or a payload too big
// for etcd (nothing is written); etcd errors.
func (s *Store) CommitFeed(advances []state.CursorAdvance) error {
	for _, adv := range advances {
		for i, ev := range adv.Events {
			if ev.ID == "" {
				return fmt.Errorf("etcd store: commit feed: %w: subscription %q event %d has an empty id",
					state.ErrInvalid, adv.SubscriptionID, i)
			}
			if len(ev.Payload) > maxEventValueBytes {
				return fmt.Errorf("etcd store: commit feed: %w: subscription %q event %q payload is %d bytes, at most %d",
					state.ErrInvalid, adv.SubscriptionID, ev.ID, len(ev.Payload), maxEventValueBytes)
			}
		}
	}
	now := s.now().UTC()
	err := s.fencedUpdate(func(t *tx) error {
		if err := t.prefetch(s.subscriptionKeys(advances)); err != nil {
			return err
		}
		for _, adv := range advances {
			if err := t.advance(adv, adv.Events, true, now); err != nil {
				return err
			}
			if !t.fits() {
				return errTooLarge // stop reading: it will be split
			}
		}
		return nil
	})
	if !errors.Is(err, errTooLarge) {
		return wrap("commit feed", err)
	}
	return wrap("commit feed", s.commitSplit(advances, now))
}

// subscriptionKeys are the keys of the advances' subscriptions.
func (s *Store) subscriptionKeys(advances []state.CursorAdvance) []string {
	keys := make([]string, len(advances))
	for i, adv := range advances {
		keys[i] = s.subscriptionKey(adv.SubscriptionID)
	}
	return keys
}

// commitSplit writes a feed too big for one transaction: events first, then
// cursors.
func (s *Store) commitSplit(advances []state.CursorAdvance, now time.Time) error {
	for _, adv := range advances {
		events := adv.Events
		for len(events) > 0 {
			n, bytes := 0, 0
			for n < len(events) && n < eventsPerTxn && (n == 0 || bytes+len(events[n].Payload) <= eventBytesPerTxn) {
				bytes += len(events[n].Payload)
				n++
			}
			chunk := events[:n]
			if err := s.fencedUpdate(func(t *tx) error { return t.advance(adv, chunk, false, now) }); err != nil {
				return err
			}
			events = events[n:]
		}
	}
	for start := 0; start < len(advances); start += cursorsPerTxn {
		chunk := advances[start:min(start+cursorsPerTxn, len(advances))]
		err := s.fencedUpdate(func(t *tx) error {
			for _, adv := range chunk {
				if err := t.advance(adv, nil, true, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// advance applies events of one advance in t, and with record its cursor
// and resolved room (state.SubscriptionRecord.ApplyAdvance), when its
// subscription exists and is polled.
func (t *tx) advance(adv state.CursorAdvance, events []state.Event, record bool, now time.Time) error {
	record = record && (adv.Cursor != nil || adv.Room.Resolved())
	if !record && len(events) == 0 {
		return nil
	}
	sub, err := t.getSubscription(adv.SubscriptionID)
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !sub.Polled() {
		return nil
	}
	if record && sub.ApplyAdvance(adv) {
		if err := t.putSubscription(sub); err != nil {
			return err
		}
	}
	if len(events) == 0 {
		return nil
	}
	return t.appendEvents(sub, events, now)
}

// appendEvents queues, in t, one pending delivery due at now per event not
// in sub's ids index yet. The outbox key and the ids are read in one
// prefetch. Errors: etcd errors; a record that does not decode or encode.
func (t *tx) appendEvents(sub *state.SubscriptionRecord, events []state.Event, now time.Time) error {
	ids, idKeys := make([]string, len(events)), make([]string, len(events))
	for i, ev := range events {
		ids[i] = state.DeliveryID(sub.ID, ev.ID)
		idKeys[i] = t.s.idKey(sub.ID, ids[i])
	}
	if err := t.prefetch(append([]string{t.s.outboxKey(sub.ID)}, idKeys...)); err != nil {
		return err
	}
	box, err := t.touchOutbox(sub.ID)
	if err != nil {
		return err
	}
	isHead := false
	if sub.FIFO() {
		_, _, anyPending, err := t.head(sub.ID)
		if err != nil {
			return err
		}
		isHead = !anyPending
	}
	for i, ev := range events {
		idKey := idKeys[i]
		if _, queued, err := t.get(idKey); err != nil {
			return err
		} else if queued {
			continue
		}
		seq := t.nextSeq(sub.ID, box)
		if err := t.putDelivery(sub.ID, seq, state.NewDeliveryRecord(ids[i], ev, now)); err != nil {
			return err
		}
		t.put(idKey, []byte(hex16(seq)))
		t.scheduleNew(sub, seq, now, isHead)
		isHead = false
	}
	return nil
}
