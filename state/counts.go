package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// CountByStatus returns how many subscriptions have each status (StatusActive, StatusPaused,
// StatusSuspended, StatusDisabled); every status is present, with 0 when none has it. It reads
// only the status of each record and unseals nothing, so a metrics scrape can call it.
//
// Errors: a record that does not decode (a corrupt file).
func (s *Store) CountByStatus() (map[string]int, error) {
	counts := map[string]int{StatusActive: 0, StatusPaused: 0, StatusSuspended: 0, StatusDisabled: 0}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSubscriptions).ForEach(func(k, v []byte) error {
			var rec struct {
				Status string `json:"status"`
			}
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode subscription %q: %w", k, err)
			}
			counts[rec.Status]++
			return nil
		})
	})
	if err != nil {
		return nil, wrapTx("count subscriptions", err)
	}
	return counts, nil
}
