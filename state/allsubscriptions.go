package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// AllSubscriptions returns every subscription of every connection, ordered by id, for an
// operator's view; with status set, only those with that status. Token, Secret and
// PreviousSecret are left empty: they stay sealed, so this list can never leak them.
//
// Errors: ErrInvalid for a status that is not one; a record that does not decode.
func (s *Store) AllSubscriptions(status string) ([]Subscription, error) {
	if status != "" && !validStatus(status) {
		return nil, fmt.Errorf("state: list all subscriptions: %w: status %q (want %s, %s, %s or %s)", ErrInvalid, status,
			StatusActive, StatusPaused, StatusSuspended, StatusDisabled)
	}
	var subs []Subscription
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSubscriptions).ForEach(func(k, v []byte) error {
			rec, err := decodeSubscription(k, v)
			if err != nil {
				return err
			}
			if status == "" || rec.Status == status {
				subs = append(subs, rec.WithoutSecrets())
			}
			return nil
		})
	})
	if err != nil {
		return nil, wrapTx("list all subscriptions", err)
	}
	return subs, nil
}

// WithoutSecrets is the record as a Subscription with nothing unsealed: it
// drops the sealed token, secret and previous secret, so Token, Secret and
// PreviousSecret are left empty. An empty Ordering becomes its default.
func (rec *SubscriptionRecord) WithoutSecrets() Subscription {
	return Subscription{
		ID: rec.ID, ConnectionID: rec.ConnectionID, Kind: rec.Kind, RoomID: rec.RoomID,
		CallbackURL: rec.CallbackURL, HipChatURL: rec.HipChatURL, Cursor: rec.Cursor, Status: rec.Status,
		StatusReason: rec.StatusReason, CreatedAt: rec.CreatedAt, Health: rec.Health,
		Ordering: rec.Ordering.OrDefault(), MaxPerSecond: rec.MaxPerSecond,
		PreviousSecretExpiresAt: rec.PreviousSecretExpiresAt,
	}
}
