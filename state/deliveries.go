package state

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Deliveries returns the delivery log of a subscription, newest (highest
// Seq) first, at most limit entries (limit ≤ 0: all), pending and finished.
//
// Errors: ErrNotFound when the subscription does not exist.
func (s *Store) Deliveries(subID string, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := getSubscription(tx, subID); err != nil {
			return err
		}
		c := openSubLog(tx, subID).cursor()
		for seq, v, ok := c.last(); ok && (limit <= 0 || len(out) < limit); seq, v, ok = c.prev() {
			rec, err := decodeDelivery(subID, seq, v)
			if err != nil {
				return err
			}
			out = append(out, rec.delivery(subID, seq))
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
func (s *Store) Delivery(subID, deliveryID string) (Delivery, error) {
	var d Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		seq, rec, err := deliveryByID(tx, subID, deliveryID)
		if err != nil {
			return err
		}
		d = rec.delivery(subID, seq)
		return nil
	})
	if err != nil {
		return Delivery{}, wrapTx("get delivery", err)
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
func (s *Store) Resend(subID, deliveryID string) (Delivery, error) {
	now := s.now().UTC()
	var d Delivery
	err := s.update(func(tx *bolt.Tx) error {
		oldSeq, rec, err := deliveryByID(tx, subID, deliveryID)
		if err != nil {
			return err
		}
		if rec.Status == DeliveryPending {
			return fmt.Errorf("%w: delivery %s", ErrAlreadyPending, deliveryID)
		}
		log := openSubLog(tx, subID)
		seq, err := log.nextSeq()
		if err != nil {
			return err
		}
		if err := log.delete(oldSeq); err != nil {
			return err
		}
		rec.Status, rec.RoundAttempts = DeliveryPending, 0
		rec.NextAttemptAt, rec.QueuedAt, rec.DeliveredAt = now, now, time.Time{}
		if err := log.put(seq, rec); err != nil {
			return err
		}
		if err := log.ids.Put([]byte(deliveryID), u64Key(seq)); err != nil {
			return err
		}
		sub, err := getSubscription(tx, subID)
		if err != nil {
			return err
		}
		if err := schedule(tx, sub, seq, now); err != nil {
			return err
		}
		d = rec.delivery(subID, seq)
		return nil
	})
	if err != nil {
		return Delivery{}, wrapTx("resend", err)
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
	err := s.db.View(func(tx *bolt.Tx) error {
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
		err := s.update(func(tx *bolt.Tx) error {
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

func pruneSubscription(tx *bolt.Tx, subID string, cutoff time.Time, keep int) (int, error) {
	log := openSubLog(tx, subID)
	if !log.exists() {
		return 0, nil
	}
	pending := tx.Bucket(bucketPending).Bucket([]byte(subID))
	isPending := func(seq uint64) bool { return pending != nil && pending.Get(u64Key(seq)) != nil }
	doomed := map[uint64]string{} // seq → delivery id

	// Beyond the newest keep finished ones: a key-only walk, newest first.
	finished := 0
	c := log.cursor()
	for seq, v, ok := c.last(); ok; seq, v, ok = c.prev() {
		if isPending(seq) {
			continue
		}
		if finished++; finished > keep {
			rec, err := decodeDelivery(subID, seq, v)
			if err != nil {
				return 0, err
			}
			doomed[seq] = rec.ID
		}
	}
	// Too old, oldest first. QueuedAt grows with Seq and an entry finishes
	// after it is queued, so the first finished entry queued after the
	// cutoff ends the walk.
	for seq, v, ok := c.first(); ok; seq, v, ok = c.next() {
		if _, ok := doomed[seq]; ok || isPending(seq) {
			continue
		}
		rec, err := decodeDelivery(subID, seq, v)
		if err != nil {
			return 0, err
		}
		if !rec.QueuedAt.Before(cutoff) {
			break
		}
		if rec.finishedAt().Before(cutoff) {
			doomed[seq] = rec.ID
		}
	}
	for seq, id := range doomed {
		if err := log.delete(seq); err != nil {
			return 0, err
		}
		if err := log.ids.Delete([]byte(id)); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

// finishedAt is when a finished delivery got its final answer.
func (rec *deliveryRecord) finishedAt() time.Time {
	if !rec.DeliveredAt.IsZero() {
		return rec.DeliveredAt
	}
	if n := len(rec.Attempts); n > 0 {
		return rec.Attempts[n-1].At
	}
	return rec.QueuedAt
}

func deliveryByID(tx *bolt.Tx, subID, deliveryID string) (uint64, *deliveryRecord, error) {
	if _, err := getSubscription(tx, subID); err != nil {
		return 0, nil, err
	}
	var key []byte
	if ids := openSubLog(tx, subID).ids; ids != nil {
		key = ids.Get([]byte(deliveryID))
	}
	if key == nil {
		return 0, nil, fmt.Errorf("%w: delivery %q of subscription %q", ErrNotFound, deliveryID, subID)
	}
	seq := binary.BigEndian.Uint64(key)
	rec, err := getDelivery(tx, subID, seq)
	return seq, rec, err
}
