package state

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Recover queues again every delivery of subID created at or after since
// that failed: a dead one is queued again as Resend does (same webhook-id, a
// new round of attempts, at the end of the queue), and a pending one with
// failed attempts becomes due now. It returns how many it queued, in one
// transaction.
//
// Errors: ErrNotFound when the subscription does not exist.
func (s *Store) Recover(subID string, since time.Time) (int, error) {
	now := s.now().UTC()
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		sub, err := getSubscription(tx, subID)
		if err != nil {
			return err
		}
		log := openSubLog(tx, subID)
		if !log.exists() {
			return nil
		}
		type found struct {
			seq    uint64
			queued time.Time
			rec    *DeliveryRecord
		}
		var dead, failing []found
		c := log.cursor()
		for seq, queued, ok := c.first(); ok; seq, queued, ok = c.next() {
			rec, err := log.record(seq, queued)
			if err != nil {
				return err
			}
			if rec.CreatedAt.Before(since) {
				continue
			}
			switch {
			case rec.Status == DeliveryDead:
				dead = append(dead, found{seq, queued, rec})
			case rec.Status == DeliveryPending && rec.RoundAttempts > 0:
				failing = append(failing, found{seq, queued, rec})
			}
		}
		for _, f := range failing {
			f.rec.NextAttemptAt = now
			if err := log.put(f.seq, f.queued, f.rec); err != nil {
				return err
			}
			if err := schedule(tx, sub, f.seq, f.queued, now); err != nil {
				return err
			}
		}
		for _, f := range dead {
			seq, err := requeue(log, f.seq, f.rec, now)
			if err != nil {
				return err
			}
			if err := enqueue(tx, sub, seq, now); err != nil {
				return err
			}
		}
		n = len(dead) + len(failing)
		return nil
	})
	if err != nil {
		return 0, wrapTx("recover", err)
	}
	return n, nil
}

// RotateSecret makes secret the subscription's signing secret; the one it
// replaces keeps signing beside it until previousExpiresAt (a zero time
// drops it at once). It returns the subscription as it now is.
//
// Errors: ErrNotFound; ErrInvalid for an empty secret.
func (s *Store) RotateSecret(subID, secret string, previousExpiresAt time.Time) (Subscription, error) {
	if secret == "" {
		return Subscription{}, fmt.Errorf("state: rotate secret: %w: secret is empty", ErrInvalid)
	}
	sealed, err := s.sealer.seal([]byte(secret), aadSecret(subID))
	if err != nil {
		return Subscription{}, err
	}
	var rec *SubscriptionRecord
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = getSubscription(tx, subID); err != nil {
			return err
		}
		if err := s.sealer.rotateSecret(rec, sealed, previousExpiresAt); err != nil {
			return err
		}
		return putSubscription(tx.Bucket(bucketSubscriptions), rec)
	})
	if err != nil {
		return Subscription{}, wrapTx("rotate secret", err)
	}
	sub, err := s.sealer.openSubscription(rec)
	return sub, wrapTx("rotate secret", err)
}
