package bolt

import (
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// CommitFeed records the result of one feed read in ONE transaction: for each
// advance whose subscription exists and is polled (active, or paused by a
// user: its events wait for resume), it sets the cursor (unless nil) and
// appends one pending delivery per event, in order, due now; it stores the
// resolved room an advance brings (state.SubscriptionRecord.ApplyAdvance). An event whose
// delivery id is already in the subscription's outbox (delivered or not) is
// skipped, so committing the same read twice queues nothing new. Advances
// for deleted, suspended or disabled subscriptions are skipped silently:
// their cursor stays where it was.
//
// Either everything is written or nothing is.
// Errors: ErrInvalid when an event has an empty ID (nothing is written).
func (s *Store) CommitFeed(advances []state.CursorAdvance) error {
	for _, adv := range advances {
		for i, ev := range adv.Events {
			if ev.ID == "" {
				return fmt.Errorf("state: commit feed: %w: subscription %q event %d has an empty id",
					state.ErrInvalid, adv.SubscriptionID, i)
			}
		}
	}
	now := s.now().UTC()
	records := newRecords(advances, now)
	err := s.update(func(tx *bbolt.Tx) error {
		subs := tx.Bucket(bucketSubscriptions)
		pending := s.pending.track(tx)
		for i, adv := range advances {
			sub, err := s.loadSubscription(tx, adv.SubscriptionID)
			if errors.Is(err, state.ErrNotFound) {
				continue // deleted since the poller read it
			}
			if err != nil {
				return err
			}
			if !sub.Polled() {
				continue
			}
			if sub.ApplyAdvance(adv) {
				if err := putSubscription(subs, sub); err != nil {
					return err
				}
			}
			if len(adv.Events) == 0 {
				continue
			}
			queued, err := appendRecords(tx, sub, records[i])
			pending.add(sub.ID, queued)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrapTx("commit feed", err)
}

// newRecords are the delivery records of every event of advances, queued at now, their text
// compressed (state.DeliveryRecord.Pack) before the transaction that writes them, so that the
// writer's lock is not held for it.
func newRecords(advances []state.CursorAdvance, now time.Time) [][]*state.DeliveryRecord {
	records := make([][]*state.DeliveryRecord, len(advances))
	for i, adv := range advances {
		records[i] = make([]*state.DeliveryRecord, len(adv.Events))
		for j, ev := range adv.Events {
			rec := state.NewDeliveryRecord(state.DeliveryID(adv.SubscriptionID, ev.ID), ev, now)
			rec.Pack(adv.SubscriptionID)
			records[i][j] = rec
		}
	}
	return records
}

// appendRecords queues the records of sub whose deliveries its outbox has not had yet, and
// returns how many.
func appendRecords(tx *bbolt.Tx, sub *state.SubscriptionRecord, records []*state.DeliveryRecord) (int, error) {
	log, err := createSubLog(tx, sub.ID)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, rec := range records {
		if _, queuedBefore := log.seqOf(rec.ID); queuedBefore {
			continue
		}
		seq, err := log.nextSeq()
		if err != nil {
			return queued, err
		}
		if err := log.add(seq, rec); err != nil {
			return queued, err
		}
		if err := enqueue(tx, sub, seq, rec.QueuedAt); err != nil {
			return queued, err
		}
		queued++
	}
	return queued, nil
}
