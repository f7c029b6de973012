package bolt

import (
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
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
	err := s.update(func(tx *bbolt.Tx) error {
		n = 0
		if _, err := getSubscription(tx, subID); err != nil {
			return err
		}
		log := openSubLog(tx, subID)
		if !log.exists() {
			return nil
		}
		candidates := state.RecoveryCandidates{Since: since}
		c := log.cursor()
		for seq, queued, ok := c.first(); ok; seq, queued, ok = c.next() {
			rec, err := log.record(seq, queued)
			if err != nil {
				return err
			}
			candidates.Consider(seq, rec)
		}
		var err error
		n, err = state.RecoverIn(s.outboxTx(tx), subID, candidates.Seqs(), now)
		return err
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
func (s *Store) RotateSecret(subID, secret string, previousExpiresAt time.Time) (state.Subscription, error) {
	if secret == "" {
		return state.Subscription{}, fmt.Errorf("state: rotate secret: %w: secret is empty", state.ErrInvalid)
	}
	sealed, err := s.sealer.SealSecret(subID, secret)
	if err != nil {
		return state.Subscription{}, err
	}
	var rec *state.SubscriptionRecord
	err = s.update(func(tx *bbolt.Tx) error {
		var err error
		if rec, err = getSubscription(tx, subID); err != nil {
			return err
		}
		if err := s.sealer.RotateSecret(rec, sealed, previousExpiresAt); err != nil {
			return err
		}
		return putSubscription(tx.Bucket(bucketSubscriptions), rec)
	})
	if err != nil {
		return state.Subscription{}, wrapTx("rotate secret", err)
	}
	sub, err := s.sealer.OpenSubscription(rec)
	return sub, wrapTx("rotate secret", err)
}
