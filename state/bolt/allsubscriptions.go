package bolt

import (
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// AllSubscriptions returns every subscription of every connection, ordered by id, for an
// operator's view; with status set, only those with that status. Token, Secret and
// PreviousSecret are left empty: they stay sealed, so this list can never leak them.
//
// Errors: ErrInvalid for a status that is not one; a record that does not decode.
func (s *Store) AllSubscriptions(status state.Status) ([]state.Subscription, error) {
	if status != "" {
		if err := status.Check(); err != nil {
			return nil, fmt.Errorf("state: list all subscriptions: %w", err)
		}
	}
	var subs []state.Subscription
	err := s.db.View(func(tx *bbolt.Tx) error {
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
