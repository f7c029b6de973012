package bolt

import (
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// Deliveries returns the delivery log of a subscription, newest (highest
// Seq) first, at most limit entries (limit ≤ 0: all), pending and finished.
//
// Errors: ErrNotFound when the subscription does not exist.
func (s *Store) Deliveries(subID string, limit int) ([]state.Delivery, error) {
	var out []state.Delivery
	err := s.db.View(func(tx *bbolt.Tx) error {
		if _, err := getSubscription(tx, subID); err != nil {
			return err
		}
		log := openSubLog(tx, subID)
		c := log.cursor()
		for seq, queued, ok := c.last(); ok && (limit <= 0 || len(out) < limit); seq, queued, ok = c.prev() {
			rec, err := log.record(seq, queued)
			if err != nil {
				return err
			}
			out = append(out, rec.Delivery(subID, seq))
		}
		return nil
	})
	if err != nil {
		return nil, wrapTx("list deliveries", err)
	}
	return out, nil
}

// Delivery returns one delivery of a subscription by its id (webhook-id).
//
// Errors: ErrNotFound when the subscription or the delivery does not exist.
func (s *Store) Delivery(subID, deliveryID string) (state.Delivery, error) {
	var d state.Delivery
	err := s.db.View(func(tx *bbolt.Tx) error {
		seq, rec, err := deliveryByID(tx, subID, deliveryID)
		if err != nil {
			return err
		}
		d = rec.Delivery(subID, seq)
		return nil
	})
	if err != nil {
		return state.Delivery{}, wrapTx("get delivery", err)
	}
	return d, nil
}

// Resend queues a delivered or dead delivery again, due now, keeping its id
// (so the subscriber can dedupe it), payload and past attempts. It moves to
// the END of the subscription's queue with a new Seq: an operator's resend
// never jumps ahead of events still waiting, and a new round of attempts
// starts (RoundAttempts 0). It returns the queued delivery.
//
// Errors: ErrNotFound when the subscription or the delivery does not exist;
// ErrAlreadyPending when it is still pending.
func (s *Store) Resend(subID, deliveryID string) (state.Delivery, error) {
	now := s.now().UTC()
	var d state.Delivery
	err := s.update(func(tx *bbolt.Tx) error {
		seq, rec, err := deliveryByID(tx, subID, deliveryID)
		if err != nil {
			return err
		}
		d, err = state.ResendIn(s.outboxTx(tx), subID, seq, rec, now)
		return err
	})
	if err != nil {
		return state.Delivery{}, wrapTx("resend", err)
	}
	return d, nil
}

// Prune deletes finished (delivered or dead) deliveries that finished more
// than Retention.MaxAge before now, and those beyond the newest
// Retention.MaxPerSubscription finished ones of each subscription. Pending
// deliveries are never pruned. It runs one short transaction per
// subscription and returns how many deliveries it deleted. Its cost grows
// with the size of the kept log, so call it now and then (e.g. hourly), not
// on every tick.
//
// Errors: only storage failures; deletions already committed stay.
func (s *Store) Prune(now time.Time) (int, error) {
	var subIDs []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEachBucket(func(k []byte) error {
			subIDs = append(subIDs, string(k))
			return nil
		})
	})
	if err != nil {
		return 0, wrapTx("prune", err)
	}
	cutoff := now.Add(-s.retention.MaxAge)
	total := 0
	for _, subID := range subIDs {
		err := s.update(func(tx *bbolt.Tx) error {
			n, err := pruneSubscription(tx, subID, cutoff, s.retention.MaxPerSubscription)
			total += n
			return err
		})
		if err != nil {
			return total, wrapTx("prune", err)
		}
	}
	return total, nil
}

func pruneSubscription(tx *bbolt.Tx, subID string, cutoff time.Time, keep int) (int, error) {
	log := openSubLog(tx, subID)
	if !log.exists() {
		return 0, nil
	}
	isPending := func(seq uint64, queued time.Time) bool {
		_, pending := pendingAt(tx, subID, seq, queued)
		return pending
	}
	type doomedDelivery struct {
		id     string
		queued time.Time
	}
	doomed := map[uint64]doomedDelivery{}

	// Beyond the newest keep finished ones: an index-only walk, newest first.
	finished := 0
	c := log.cursor()
	for seq, queued, ok := c.last(); ok; seq, queued, ok = c.prev() {
		if isPending(seq, queued) {
			continue
		}
		if finished++; finished > keep {
			rec, err := log.record(seq, queued)
			if err != nil {
				return 0, err
			}
			doomed[seq] = doomedDelivery{rec.ID, queued}
		}
	}
	// Too old, oldest first. QueuedAt grows with Seq and an entry finishes
	// after it is queued, so the first finished entry queued after the
	// cutoff ends the walk.
	for seq, queued, ok := c.first(); ok; seq, queued, ok = c.next() {
		if _, ok := doomed[seq]; ok || isPending(seq, queued) {
			continue
		}
		rec, err := log.record(seq, queued)
		if err != nil {
			return 0, err
		}
		if !rec.QueuedAt.Before(cutoff) {
			break
		}
		if rec.FinishedAt().Before(cutoff) {
			doomed[seq] = doomedDelivery{rec.ID, queued}
		}
	}
	for seq, d := range doomed {
		if err := log.remove(seq, d.queued); err != nil {
			return 0, err
		}
		if err := log.forgetID(d.id); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

func deliveryByID(tx *bbolt.Tx, subID, deliveryID string) (uint64, *state.DeliveryRecord, error) {
	if _, err := getSubscription(tx, subID); err != nil {
		return 0, nil, err
	}
	seq, ok := openSubLog(tx, subID).seqOf(deliveryID)
	if !ok {
		return 0, nil, fmt.Errorf("%w: delivery %q of subscription %q", state.ErrNotFound, deliveryID, subID)
	}
	rec, err := getDelivery(tx, subID, seq)
	return seq, rec, err
}
